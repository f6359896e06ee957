package dev.principia.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.el.JinjavaProcessors;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.lib.fn.Functions;

import jinjava.javax.el.CompositeELResolver;

/**
 * A model's chat template ({@code tokenizer_config.json} {@code chat_template}), rendered the way
 * transformers' {@code apply_chat_template} does ({@code trim_blocks} and {@code lstrip_blocks} on): the context holds {@code messages},
 * {@code add_generation_prompt}, {@code bos_token}, {@code eos_token} and
 * {@code raise_exception(msg)}.
 *
 * <p>Jinja is rendered by Jinjava, with the Python idioms HF templates rely on added: {@code str}
 * methods ({@link PythonStringResolver}) and the reversing slice {@code seq[::-1]}, rewritten to
 * {@code seq|reverse} before parsing. Message contents are data: a render never interprets them as Jinja,
 * and it is bounded in output and work (see the limits below). To encode a prompt, use {@link ChatEncoder},
 * which also keeps special tokens to the template's own. Instances are immutable and thread-safe.
 */
public final class ChatTemplate {

    private static final Pattern REVERSE_SLICE = Pattern.compile("\\[\\s*::\\s*-1\\s*\\]");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String source;
    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    private ChatTemplate(String source, String bosToken, String eosToken) {
        this.source = source;
        this.template = parenthesizeNamespaceArgs(REVERSE_SLICE.matcher(source).replaceAll("|reverse"));
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.jinjava = new Jinjava(config(0));
        jinjava.setResourceLocator((name, encoding, interpreter) -> {
            throw new IOException("chat templates may not load '" + name + "': include, import and extends are off");
        });
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition(
                "", "raise_exception", ChatTemplate.class, "raiseException", String.class));
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition(
                "", "range", ChatTemplate.class, "range", Object.class, Object[].class));
    }

    /*
     * Caller text is data. Message contents come from the policy being graded, so:
     * - nested interpretation is off: a rendered value is never parsed again as Jinja, so "{{ ... }}",
     *   "{% ... %}" and raise_exception(...) inside a message stay text;
     * - include/import/extends load nothing (the resource locator refuses every name);
     * - one render is bounded, so a model template cannot hang or exhaust memory on large input:
     *   output at most MIN_OUTPUT_CHARS + OUTPUT_CHARS_PER_INPUT_CHAR x the characters of all strings in the
     *   context (any one string built by an expression is held to the same bound); at most MAX_RENDER_STEPS
     *   steps, a step being one node rendered (text, expression or tag, in every loop iteration) or one item
     *   produced by range(); range() at most MAX_RANGE items; lists and dicts built by the template at most
     *   MAX_COLLECTION_SIZE entries; render depth MAX_RENDER_DEPTH; macros recurse at most MAX_MACRO_DEPTH deep.
     * Passing a limit fails the render (IllegalArgumentException naming the limit); nothing is cut short.
     */
    static final long MIN_OUTPUT_CHARS = 1L << 20;
    static final int OUTPUT_CHARS_PER_INPUT_CHAR = 4;
    static final int MAX_RENDER_STEPS = 1_000_000;
    static final int MAX_RANGE = 1_000;
    static final int MAX_COLLECTION_SIZE = 100_000;
    static final int MAX_RENDER_DEPTH = 10;
    static final int MAX_MACRO_DEPTH = 32;

    /** The render configuration: {@code maxOutputChars} (0: unlimited), and every rendered node counted as a step. */
    private static JinjavaConfig config(long maxOutputChars) {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStringResolver());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        return JinjavaConfig.newBuilder()
                .withElResolver(resolver)
                .withFailOnUnknownTokens(false)
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withNestedInterpretationEnabled(false)
                .withMaxOutputSize(maxOutputChars)
                .withMaxStringLength(maxOutputChars)
                .withMaxRenderDepth(MAX_RENDER_DEPTH)
                .withRangeLimit(MAX_RANGE + 1)
                .withMaxListSize(MAX_COLLECTION_SIZE)
                .withMaxMapSize(MAX_COLLECTION_SIZE)
                .withEnableRecursiveMacroCalls(true)
                .withMaxMacroRecursionDepth(MAX_MACRO_DEPTH)
                .withProcessors(JinjavaProcessors.newBuilder().withNodePreProcessor((node, interpreter) -> step(1)).build())
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withKeepNullableLoopValues(true)
                        .withUsePyishObjectMapper(true)
                        .build())
                .build();
    }

    /** A template from its Jinja text; {@code bosToken}/{@code eosToken} may be null. */
    public static ChatTemplate of(String jinja, String bosToken, String eosToken) {
        if (jinja == null || jinja.isBlank()) {
            throw new IllegalArgumentException("chat template is empty");
        }
        return new ChatTemplate(jinja, bosToken, eosToken);
    }

    /**
     * Reads {@code chat_template}, {@code bos_token} and {@code eos_token} from a
     * {@code tokenizer_config.json}. A template list ({@code [{name, template}]}) yields the one
     * named {@code default}. A {@code chat_template.jinja} file beside it takes precedence, as in
     * recent transformers.
     */
    public static ChatTemplate read(Path tokenizerConfig) {
        try {
            JsonNode root = JSON.readTree(tokenizerConfig.toFile());
            String jinja = null;
            Path jinjaFile = tokenizerConfig.resolveSibling("chat_template.jinja");
            if (Files.isRegularFile(jinjaFile)) {
                jinja = Files.readString(jinjaFile);
            } else {
                JsonNode t = root.get("chat_template");
                if (t != null && t.isTextual()) {
                    jinja = t.asText();
                } else if (t != null && t.isArray()) {
                    for (JsonNode named : t) {
                        if ("default".equals(named.path("name").asText())) jinja = named.path("template").asText();
                    }
                }
            }
            if (jinja == null) {
                throw new IllegalArgumentException(tokenizerConfig + ": no chat_template (nor chat_template.jinja beside it)");
            }
            return of(jinja, tokenText(root.get("bos_token")), tokenText(root.get("eos_token")));
        } catch (IOException e) {
            throw new IllegalArgumentException(tokenizerConfig + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static String tokenText(JsonNode node) {
        if (node == null || node.isNull()) return null;
        if (node.isTextual()) return node.asText();
        JsonNode content = node.get("content");
        return content == null ? null : content.asText();
    }

    /**
     * Renders messages ({@code role}, {@code content}) into the model's prompt text.
     *
     * @param extra further template variables, e.g. {@code enable_thinking}
     * @throws IllegalArgumentException when the template raises or fails to render
     */
    public String render(List<Map<String, String>> messages, boolean addGenerationPrompt, Map<String, Object> extra) {
        Map<String, Object> context = new HashMap<>(extra);
        context.put("messages", messages);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        long maxOutputChars = MIN_OUTPUT_CHARS + OUTPUT_CHARS_PER_INPUT_CHAR * charsIn(context, 0);
        int[] steps = new int[1];
        RAISED.remove();
        OVER_LIMIT.remove();
        STEPS.set(steps);
        RenderResult result;
        try {
            result = jinjava.renderForResult(template, context, config(maxOutputChars));
        } finally {
            STEPS.remove();
        }
        String raised = RAISED.get();
        String overLimit = OVER_LIMIT.get();
        RAISED.remove();
        OVER_LIMIT.remove();
        if (raised != null) {
            throw new IllegalArgumentException("chat template raised: " + raised);
        }
        if (steps[0] > MAX_RENDER_STEPS) {
            throw new IllegalArgumentException("chat template exceeded its limit of " + MAX_RENDER_STEPS + " render steps");
        }
        if (overLimit != null) {
            throw new IllegalArgumentException("chat template exceeded a limit: " + overLimit);
        }
        for (TemplateError error : result.getErrors()) {
            String message = String.valueOf(error.getMessage());
            if (error.getReason() == TemplateError.ErrorReason.OUTPUT_TOO_BIG) {
                throw new IllegalArgumentException("chat template output exceeded its limit of " + maxOutputChars + " characters");
            }
            if (error.getReason() == TemplateError.ErrorReason.COLLECTION_TOO_BIG || message.contains("recursion limit")) {
                throw new IllegalArgumentException("chat template exceeded a limit: " + message);
            }
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new IllegalArgumentException("chat template failed at line " + error.getLineno() + ": " + error.getMessage());
            }
        }
        return result.getOutput();
    }

    /** Characters of all strings in a context value (maps, lists and their nested values). */
    private static long charsIn(Object value, int depth) {
        if (value instanceof CharSequence s) return s.length();
        if (depth > 8) return 0;
        long n = 0;
        if (value instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) n += charsIn(e.getKey(), depth + 1) + charsIn(e.getValue(), depth + 1);
        } else if (value instanceof Iterable<?> it) {
            for (Object o : it) n += charsIn(o, depth + 1);
        }
        return n;
    }

    /**
     * This template with {@code replace} applied to its output-owned text: the template's text outside tags and
     * the string literals inside {@code {{ }}} and {@code {% %}}, and the bos and eos tokens. Code and comments are
     * kept. {@link ChatEncoder} uses it to mark the special tokens the template writes.
     */
    ChatTemplate mapLiterals(UnaryOperator<String> replace) {
        return new ChatTemplate(JinjaLiterals.map(source, replace), replace.apply(bosToken), replace.apply(eosToken));
    }

    /**
     * Wraps each keyword argument of {@code namespace(...)} in parentheses: Jinjava binds a filter
     * in {@code namespace(n=messages|length - 1)} to the named parameter, not to its value.
     */
    static String parenthesizeNamespaceArgs(String jinja) {
        StringBuilder out = new StringBuilder(jinja.length() + 16);
        int from = 0;
        for (int at; (at = jinja.indexOf("namespace(", from)) >= 0; ) {
            int open = at + "namespace(".length();
            List<Integer> commas = new java.util.ArrayList<>();
            int close = scanArguments(jinja, open, commas);
            if (close < 0) break;
            out.append(jinja, from, open);
            commas.add(close);
            int start = open;
            for (int i = 0; i < commas.size(); i++) {
                String arg = jinja.substring(start, commas.get(i));
                int eq = arg.indexOf('=');
                boolean keyword = eq > 0 && arg.substring(0, eq).strip().matches("[A-Za-z_][A-Za-z0-9_]*")
                        && (eq + 1 >= arg.length() || arg.charAt(eq + 1) != '=');
                if (i > 0) out.append(',');
                out.append(keyword ? arg.substring(0, eq + 1) + "(" + arg.substring(eq + 1) + ")" : arg);
                start = commas.get(i) + 1;
            }
            out.append(')');
            from = close + 1;
        }
        return out.append(jinja, from, jinja.length()).toString();
    }

    /**
     * Scans a call's arguments from just after its '(' at {@code from}, skipping quoted strings and nested
     * brackets: returns the index of the matching ')' (or -1 when unbalanced) and adds the positions of
     * the top-level commas to {@code commas}.
     */
    private static int scanArguments(String s, int from, List<Integer> commas) {
        int depth = 1;
        char quote = 0;
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                if (--depth == 0) return c == ')' ? i : -1;
            } else if (c == ',' && depth == 1) {
                commas.add(i);
            }
        }
        return -1;
    }

    /** The template text as the model directory gives it. */
    public String source() {
        return source;
    }

    public String bosToken() {
        return bosToken;
    }

    public String eosToken() {
        return eosToken;
    }

    /** The first limit a function bound into this thread's render ran into (the EL layer swallows its exception). */
    private static final ThreadLocal<String> OVER_LIMIT = new ThreadLocal<>();

    /** The step count of this thread's render. */
    private static final ThreadLocal<int[]> STEPS = new ThreadLocal<>();

    /** Counts {@code n} steps of this thread's render (none outside a render); throws past the limit. */
    private static void step(int n) {
        int[] steps = STEPS.get();
        if (steps == null) return;
        steps[0] = (int) Math.min(Integer.MAX_VALUE, (long) steps[0] + n);
        if (steps[0] > MAX_RENDER_STEPS) {
            throw new IllegalStateException("chat template exceeded its limit of " + MAX_RENDER_STEPS + " render steps");
        }
    }

    /**
     * Bound to {@code range(...)} inside templates: Jinjava's range, each item counted as a render step, and more
     * than {@link #MAX_RANGE} items an error (Jinjava would cut the list short silently).
     */
    public static List<Integer> range(Object start, Object... rest) {
        List<Integer> items = Functions.range(start, rest);
        if (items.size() > MAX_RANGE) {
            OVER_LIMIT.set("range() of more than " + MAX_RANGE + " items");
            throw new IllegalArgumentException(OVER_LIMIT.get());
        }
        step(items.size());
        return items;
    }

    /** Message of the last {@code raise_exception} on this thread's render, if any. */
    private static final ThreadLocal<String> RAISED = new ThreadLocal<>();

    /** Bound to {@code raise_exception(msg)} inside templates; the render then fails with the message. */
    public static String raiseException(String message) {
        if (RAISED.get() == null) RAISED.set(message);
        throw new IllegalArgumentException("chat template raised: " + message);
    }
}
