package dev.principia.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;

import jinjava.javax.el.CompositeELResolver;

/**
 * A model's chat template ({@code tokenizer_config.json} {@code chat_template}), rendered the way
 * transformers' {@code apply_chat_template} does ({@code trim_blocks} and {@code lstrip_blocks} on): the context holds {@code messages},
 * {@code add_generation_prompt}, {@code bos_token}, {@code eos_token} and
 * {@code raise_exception(msg)}.
 *
 * <p>Jinja is rendered by Jinjava, with the Python idioms HF templates rely on added: {@code str}
 * methods ({@link PythonStringResolver}) and the reversing slice {@code seq[::-1]}, rewritten to
 * {@code seq|reverse} before parsing. Instances are immutable and thread-safe.
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
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStringResolver());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder()
                .withElResolver(resolver)
                .withFailOnUnknownTokens(false)
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withKeepNullableLoopValues(true)
                        .withUsePyishObjectMapper(true)
                        .build())
                .build());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition(
                "", "raise_exception", ChatTemplate.class, "raiseException", String.class));
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
        RAISED.remove();
        RenderResult result = jinjava.renderForResult(template, context);
        String raised = RAISED.get();
        RAISED.remove();
        if (raised != null) {
            throw new IllegalArgumentException("chat template raised: " + raised);
        }
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new IllegalArgumentException("chat template failed at line " + error.getLineno() + ": " + error.getMessage());
            }
        }
        return result.getOutput();
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

    /** Message of the last {@code raise_exception} on this thread's render, if any. */
    private static final ThreadLocal<String> RAISED = new ThreadLocal<>();

    /** Bound to {@code raise_exception(msg)} inside templates; the render then fails with the message. */
    public static String raiseException(String message) {
        if (RAISED.get() == null) RAISED.set(message);
        throw new IllegalArgumentException("chat template raised: " + message);
    }
}
