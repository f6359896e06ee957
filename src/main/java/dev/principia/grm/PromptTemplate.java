package dev.principia.grm;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The GRM user prompt, rendered from a template text.
 *
 * <p>Syntax, a small subset of Mustache:
 * <ul>
 *   <li>{@code {{query}}}: the content of the last user turn.</li>
 *   <li>{@code {{conversation}}}: the turns before the query, one {@code role: content} per line.</li>
 *   <li>{@code {{responses}}}: every response, presented order, as
 *       {@code [The Begin of Response i]\n<text>\n[The End of Response i]}, blank line between, i = 1..n.</li>
 *   <li>{@code {{num_responses}}}: n. {@code {{score_line}}}: {@code Scores: \boxed{s1, ..., sn}} for this n.</li>
 *   <li>{@code {{principles}}}: caller principles as a numbered list {@code 1. ...}, one per line.</li>
 *   <li>{@code {{#principles}}...{{/principles}}}, {@code {{#conversation}}...{{/conversation}}}: rendered
 *       only when there are caller principles / earlier turns.</li>
 *   <li>{@code {{#responses}}...{{/responses}}}: rendered once per response, in which {@code {{index}}}
 *       (1-based) and {@code {{response}}} (its text) are defined.</li>
 * </ul>
 * Whitespace inside braces is allowed. A section tag alone on its line removes that whole line. Any other
 * {@code {{...}}}, an unknown name, an unbalanced or self-nested section, or a template that never shows
 * the query or the responses is rejected by {@link #of} with an {@link IllegalArgumentException}.
 *
 * <p>Escaping: values are inserted in one pass and never re-scanned, so {@code {{...}}} inside user text
 * stays literal. So that no text can forge a response boundary, every inserted value (query, turns,
 * responses, principles) has the {@code [} of {@code [The Begin of Response} and
 * {@code [The End of Response} (any case) replaced by {@code (}. Nothing else is changed.
 *
 * <p>Immutable and thread-safe.
 */
public final class PromptTemplate {
    public static final String DEFAULT_RESOURCE = "principia/prompts/grm-default.txt";
    /** Used when the caller supplies principles: the model writes only the critique and the scores. */
    public static final String PRINCIPLES_RESOURCE = "principia/prompts/grm-principles.txt";
    /** The meta reward model's prompt: query, responses in the sample's order, and the sample's judgment. */
    public static final String META_RESOURCE = "principia/prompts/meta-default.txt";

    private static final Pattern MARKER = Pattern.compile("(?i)\\[(\\s*the\\s+(?:begin|end)\\s+of\\s+response)");

    private final String text;
    private final List<PromptTemplateParser.Node> nodes;

    private PromptTemplate(String text, List<PromptTemplateParser.Node> nodes) {
        this.text = text;
        this.nodes = nodes;
    }

    /** Parses and validates a template; the message of the exception names the problem and its line. */
    public static PromptTemplate of(String text) {
        if (text == null) throw new IllegalArgumentException("template must not be null");
        return new PromptTemplate(text, PromptTemplateParser.parse(text));
    }

    /** The built-in template, {@value #DEFAULT_RESOURCE} on the class path. */
    public static PromptTemplate loadDefault() {
        return loadResource(DEFAULT_RESOURCE);
    }

    /** The template source as given. */
    public String text() {
        return text;
    }

    public String render(Conversation conversation, List<String> responsesInPresentedOrder) {
        return render(conversation, responsesInPresentedOrder, List.of());
    }

    /**
     * @param conversation              the query and its history
     * @param responsesInPresentedOrder at least one, none null
     * @param principles                caller principles, none null; null or empty means none
     */
    public String render(Conversation conversation, List<String> responsesInPresentedOrder, List<String> principles) {
        if (conversation == null) throw new IllegalArgumentException("conversation must not be null");
        if (responsesInPresentedOrder == null || responsesInPresentedOrder.isEmpty()) {
            throw new IllegalArgumentException("at least one response is required");
        }
        return render(conversation, responsesInPresentedOrder, principles, "");
    }

    /**
     * Renders a meta-RM prompt: as {@link #render(Conversation, List, List)} plus {@code {{judgment}}},
     * one GRM sample's principles, critique and scores.
     */
    public String render(Conversation conversation, List<String> responsesInPresentedOrder, List<String> principles, String judgment) {
        if (conversation == null) throw new IllegalArgumentException("conversation must not be null");
        if (responsesInPresentedOrder == null || responsesInPresentedOrder.isEmpty()) {
            throw new IllegalArgumentException("at least one response is required");
        }
        requireNoNulls(responsesInPresentedOrder, "response");
        List<String> given = principles == null ? List.of() : principles;
        requireNoNulls(given, "principle");
        StringBuilder out = new StringBuilder(text.length() + 256);
        renderNodes(nodes, new Values(conversation, responsesInPresentedOrder, given, judgment == null ? "" : judgment, -1), out);
        return out.toString();
    }

    /** Loads a template resource from the class path. */
    public static PromptTemplate loadResource(String resource) {
        try (InputStream in = PromptTemplate.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("missing resource " + resource);
            return of(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource, e);
        }
    }

    private static void requireNoNulls(List<String> values, String what) {
        for (int i = 0; i < values.size(); i++) {
            if (values.get(i) == null) throw new IllegalArgumentException(what + " " + i + " must not be null");
        }
    }

    private record Values(Conversation conversation, List<String> responses, List<String> principles, String judgment, int index) {
        Values at(int i) {
            return new Values(conversation, responses, principles, judgment, i);
        }
    }

    private static void renderNodes(List<PromptTemplateParser.Node> nodes, Values v, StringBuilder out) {
        for (PromptTemplateParser.Node node : nodes) {
            if (node instanceof PromptTemplateParser.Text t) {
                out.append(t.text());
            } else if (node instanceof PromptTemplateParser.Variable var) {
                out.append(value(var.name(), v));
            } else if (node instanceof PromptTemplateParser.Section s) {
                switch (s.name()) {
                    case "responses" -> {
                        for (int i = 0; i < v.responses().size(); i++) renderNodes(s.body(), v.at(i), out);
                    }
                    case "principles" -> {
                        if (!v.principles().isEmpty()) renderNodes(s.body(), v, out);
                    }
                    case "conversation" -> {
                        if (!v.conversation().history().isEmpty()) renderNodes(s.body(), v, out);
                    }
                    default -> throw new IllegalStateException("unvalidated section " + s.name());
                }
            }
        }
    }

    private static String value(String name, Values v) {
        return switch (name) {
            case "query" -> defang(v.conversation().query());
            case "conversation" -> {
                List<String> lines = new ArrayList<>();
                for (Turn t : v.conversation().history()) lines.add(defang(t.role()) + ": " + defang(t.content()));
                yield String.join("\n", lines);
            }
            case "responses" -> {
                List<String> blocks = new ArrayList<>();
                for (int i = 0; i < v.responses().size(); i++) blocks.add(responseBlock(i + 1, v.responses().get(i)));
                yield String.join("\n\n", blocks);
            }
            case "num_responses" -> Integer.toString(v.responses().size());
            case "score_line" -> {
                StringBuilder b = new StringBuilder("Scores: \\boxed{");
                for (int i = 1; i <= v.responses().size(); i++) b.append(i > 1 ? ", s" : "s").append(i);
                yield b.append('}').toString();
            }
            case "principles" -> {
                List<String> lines = new ArrayList<>();
                for (int i = 0; i < v.principles().size(); i++) lines.add((i + 1) + ". " + defang(v.principles().get(i)));
                yield String.join("\n", lines);
            }
            case "judgment" -> defang(v.judgment());
            case "index" -> Integer.toString(v.index() + 1);
            case "response" -> defang(v.responses().get(v.index()));
            default -> throw new IllegalStateException("unvalidated variable " + name);
        };
    }

    /** The fixed block {@code {{responses}}} renders for response number {@code i} (1-based). */
    static String responseBlock(int i, String response) {
        return "[The Begin of Response " + i + "]\n" + defang(response) + "\n[The End of Response " + i + "]";
    }

    /** Neutralises forged response boundaries; see the class comment. */
    static String defang(String value) {
        return MARKER.matcher(value).replaceAll("($1");
    }

}
