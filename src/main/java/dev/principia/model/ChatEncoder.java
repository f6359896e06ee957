package dev.principia.model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A tokenizer and a chat template that turn messages into prompt ids with caller text kept as data: the only
 * special tokens in the result are those the template writes (its text, its string literals, {@code bos_token},
 * {@code eos_token}). A special token's text inside a message, such as {@code <|im_end|>} in a response, is
 * encoded as plain text, and a message is never interpreted as Jinja ({@link ChatTemplate}).
 *
 * <p>How: the template is rendered once, with the special tokens of its source replaced by markers
 * ({@link SpecialTokens}) and the messages as they are, so every {@code .strip()}, {@code .split('</think>')}
 * or test a template runs on a message sees the caller's own text. The rendered text is then encoded by the
 * tokenizer's marked twin, to which markers are special tokens and special tokens' texts are plain text.
 * Without special-token text in the messages, the ids equal {@code tokenizer.encode(template.render(...))},
 * i.e. Hugging Face's tokenization of the rendered prompt.
 *
 * <p>Caller text changes in one way only: U+FDD0, the Unicode noncharacter markers start with, becomes U+FFFD.
 * As a last guard, {@link #encode} fails when the ids hold a different number of special tokens than the
 * template wrote. Thread-safe; owned by its {@link Tokenizer} and closed with it.
 */
public final class ChatEncoder {
    private final Tokenizer twin;
    private final SpecialTokens specials;
    private final ChatTemplate marked;
    private final boolean[] special;

    ChatEncoder(Tokenizer tokenizer, ChatTemplate template) {
        Tokenizer.Marked m = tokenizer.marked();
        this.twin = m.twin();
        this.specials = m.specials();
        this.marked = template.mapLiterals(text -> specials.mark(clean(text)));
        int max = specials.ids().values().stream().mapToInt(Integer::intValue).max().orElse(-1);
        this.special = new boolean[max + 1];
        for (int id : specials.ids().values()) special[id] = true;
    }

    /** The encoder of {@code template} over {@code tokenizer}, built once per pair (parsing the tokenizer file the first time). */
    public static ChatEncoder of(Tokenizer tokenizer, ChatTemplate template) {
        return tokenizer.encoder(template);
    }

    /**
     * Prompt ids of the messages.
     *
     * @param messages            {@code role}, {@code content} and any other keys; every string is caller data
     * @param addGenerationPrompt whether to open the assistant's turn
     * @param kwargs              further template variables, e.g. {@code enable_thinking}
     * @throws IllegalArgumentException when the template raises, fails or exceeds a render limit
     */
    public int[] encode(List<Map<String, String>> messages, boolean addGenerationPrompt, Map<String, Object> kwargs) {
        return encodeMarked(renderMarked(messages, addGenerationPrompt, kwargs));
    }

    /**
     * Ids of the messages followed by the assistant's {@code answer} as a model reads its own output: the prompt as
     * {@link #encode} gives it with the generation prompt, then the answer's text encoded on its own (no token spans
     * the boundary, as none does between a prompt and the tokens generated after it), then what the template writes
     * to close the assistant's turn. The answer is caller data like any message. A template that rewrites the answer
     * (Qwen3's strips its leading newlines) gives its rewritten text, between the same prompt and close.
     *
     * @throws IllegalArgumentException when the template raises, fails or exceeds a render limit, or does not write
     *                                  the answer's turn as its generation prompt, the answer and a close
     */
    public int[] encodeAnswered(List<Map<String, String>> messages, String answer, Map<String, Object> kwargs) {
        String prompt = renderMarked(messages, true, kwargs), whole = renderMarked(answered(messages, answer), false, kwargs), text = clean(answer);
        String body = null, close = null;
        if (whole.startsWith(prompt + text)) {
            body = text;
            close = whole.substring(prompt.length() + text.length());
        } else if (whole.startsWith(prompt)) {
            // the template changed the answer: its close is what it writes after an answer it leaves alone
            String probe = renderMarked(answered(messages, "x"), false, kwargs);
            if (probe.startsWith(prompt + "x") && whole.endsWith(probe.substring(prompt.length() + 1))) {
                close = probe.substring(prompt.length() + 1);
                body = whole.substring(prompt.length(), whole.length() - close.length());
            }
        }
        if (body == null) {
            throw new IllegalArgumentException("the chat template does not write an assistant's turn as its generation prompt followed by the answer");
        }
        int[] head = encodeMarked(prompt), middle = encodeMarked(body), tail = encodeMarked(close);
        int[] ids = java.util.Arrays.copyOf(head, head.length + middle.length + tail.length);
        System.arraycopy(middle, 0, ids, head.length, middle.length);
        System.arraycopy(tail, 0, ids, head.length + middle.length, tail.length);
        return ids;
    }

    private static List<Map<String, String>> answered(List<Map<String, String>> messages, String answer) {
        List<Map<String, String>> out = new ArrayList<>(messages);
        out.add(Map.of("role", "assistant", "content", answer));
        return out;
    }

    /** Rendered text with marked special tokens, encoded by the twin; fails unless it holds exactly the marked special tokens. */
    private int[] encodeMarked(String text) {
        int[] ids = twin.encode(text);
        int written = 0;
        for (int i = text.indexOf(SpecialTokens.MARK); i >= 0; i = text.indexOf(SpecialTokens.MARK, i + 1)) written++;
        int found = 0;
        for (int id : ids) {
            if (id >= 0 && id < special.length && special[id]) found++;
        }
        if (found != written) {
            throw new IllegalStateException("prompt holds " + found + " special tokens where the chat template wrote " + written);
        }
        return ids;
    }

    /**
     * The prompt text {@link #encode} encodes, with the template's special tokens written out: the same text as
     * {@link ChatTemplate#render} gives for these messages, except that U+FDD0 in caller text is U+FFFD.
     */
    public String render(List<Map<String, String>> messages, boolean addGenerationPrompt, Map<String, Object> kwargs) {
        return specials.unmark(renderMarked(messages, addGenerationPrompt, kwargs));
    }

    private String renderMarked(List<Map<String, String>> messages, boolean addGenerationPrompt, Map<String, Object> kwargs) {
        List<Map<String, String>> data = new ArrayList<>(messages.size());
        for (Map<String, String> message : messages) {
            Map<String, String> copy = new LinkedHashMap<>();
            message.forEach((k, v) -> copy.put(clean(k), clean(v)));
            data.add(copy);
        }
        Map<String, Object> vars = new HashMap<>();
        kwargs.forEach((k, v) -> vars.put(k, cleanValue(v, 0)));
        return marked.render(data, addGenerationPrompt, vars);
    }

    private static Object cleanValue(Object v, int depth) {
        if (v instanceof String s) return clean(s);
        if (depth > 8) return v;
        if (v instanceof Map<?, ?> m) {
            Map<Object, Object> copy = new LinkedHashMap<>();
            m.forEach((k, x) -> copy.put(cleanValue(k, depth + 1), cleanValue(x, depth + 1)));
            return copy;
        }
        if (v instanceof List<?> l) {
            List<Object> copy = new ArrayList<>(l.size());
            for (Object x : l) copy.add(cleanValue(x, depth + 1));
            return copy;
        }
        return v;
    }

    /** Caller text with U+FDD0 (the marker's first character) replaced by U+FFFD. */
    static String clean(String text) {
        return text == null || text.indexOf(SpecialTokens.MARK) < 0 ? text : text.replace(SpecialTokens.MARK, '\uFFFD');
    }
}
