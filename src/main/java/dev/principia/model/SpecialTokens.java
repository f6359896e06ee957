package dev.principia.model;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

/**
 * The special added tokens of a {@code tokenizer.json} ({@code "special": true}), each with a <em>marker</em>:
 * {@code U+FDD0, the id in decimal digits, U+FDD1}. U+FDD0 is a Unicode noncharacter (reserved for a program's
 * internal use); {@link ChatEncoder} replaces it in caller text, so a marker in a rendered prompt was always
 * written by the chat template.
 *
 * <p>{@link #markedTokenizerJson} turns a {@code tokenizer.json} into its <em>marked twin</em>: every special
 * token's text is its marker, in the added tokens and, where the model's vocabulary holds the text too, there
 * (merges that make or use that text are dropped). Ids are unchanged: the tokenizers library assigns an added
 * token the vocabulary's id when its text is in the vocabulary and the next free id otherwise, and the twin
 * keeps both the order of the added tokens and which of them the vocabulary holds. So the twin encodes a
 * marker as its special id, a special token's text as plain text, and everything else as the original does.
 * Immutable and thread-safe.
 */
final class SpecialTokens {
    static final char MARK = '\uFDD0';
    static final char MARK_END = '\uFDD1';

    /** Special token text to id, longest text first (the order {@link #mark} tries them in). */
    private final Map<String, Integer> ids;
    private final Map<Character, List<String>> byFirstChar = new HashMap<>();

    private SpecialTokens(Map<String, Integer> ids) {
        this.ids = ids;
        for (String s : ids.keySet()) byFirstChar.computeIfAbsent(s.charAt(0), c -> new ArrayList<>()).add(s);
    }

    /** The special added tokens of a parsed {@code tokenizer.json}. */
    static SpecialTokens of(JsonNode tokenizerJson) {
        List<Map.Entry<String, Integer>> found = new ArrayList<>();
        for (JsonNode t : tokenizerJson.path("added_tokens")) {
            String content = t.path("content").asText("");
            if (t.path("special").asBoolean(false) && !content.isEmpty()) found.add(Map.entry(content, t.path("id").asInt()));
        }
        found.sort(Comparator.comparingInt((Map.Entry<String, Integer> e) -> -e.getKey().length()));
        Map<String, Integer> ids = new LinkedHashMap<>();
        for (Map.Entry<String, Integer> e : found) ids.put(e.getKey(), e.getValue());
        return new SpecialTokens(ids);
    }

    static String marker(int id) {
        return MARK + Integer.toString(id) + MARK_END;
    }

    /** Special token text to id. */
    Map<String, Integer> ids() {
        return ids;
    }

    /** {@code text} with each special token's text, matched leftmost-longest, replaced by its marker. */
    String mark(String text) {
        StringBuilder out = null;
        int copied = 0;
        for (int i = 0; i < text.length(); ) {
            String match = null;
            List<String> candidates = byFirstChar.get(text.charAt(i));
            if (candidates != null) {
                for (String s : candidates) {
                    if (text.startsWith(s, i)) {
                        match = s;
                        break;
                    }
                }
            }
            if (match == null) {
                i++;
                continue;
            }
            if (out == null) out = new StringBuilder(text.length() + 16);
            out.append(text, copied, i).append(marker(ids.get(match)));
            i += match.length();
            copied = i;
        }
        return out == null ? text : out.append(text, copied, text.length()).toString();
    }

    /** {@code text} with each marker replaced by its special token's text; the inverse of {@link #mark}. */
    String unmark(String text) {
        if (text.indexOf(MARK) < 0) return text;
        Map<Integer, String> byId = new HashMap<>();
        ids.forEach((s, id) -> byId.put(id, s));
        StringBuilder out = new StringBuilder(text.length());
        int i = 0;
        for (int at; (at = text.indexOf(MARK, i)) >= 0; ) {
            int end = text.indexOf(MARK_END, at);
            String token = end < 0 ? null : byId.get(parseId(text, at + 1, end));
            out.append(text, i, at).append(token == null ? String.valueOf(MARK) : token);
            i = token == null ? at + 1 : end + 1;
        }
        return out.append(text, i, text.length()).toString();
    }

    private static int parseId(String s, int from, int to) {
        if (to - from < 1 || to - from > 9) return -1;
        int id = 0;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') return -1;
            id = id * 10 + (c - '0');
        }
        return id;
    }

    /**
     * The marked twin of a parsed {@code tokenizer.json} (see the class comment); {@code root} is changed in place.
     *
     * @throws IllegalArgumentException when the model's vocabulary cannot be rewritten (an unknown model type
     *                                  whose vocabulary holds a special token's text)
     */
    JsonNode markedTokenizerJson(JsonNode root) {
        for (JsonNode t : root.path("added_tokens")) {
            String content = t.path("content").asText("");
            if (t.path("special").asBoolean(false) && ids.containsKey(content)) {
                ((ObjectNode) t).put("content", marker(ids.get(content)));
            }
        }
        JsonNode model = root.path("model");
        JsonNode vocab = model.path("vocab");
        if (vocab instanceof ObjectNode map) {
            for (String s : ids.keySet()) {
                JsonNode id = map.remove(s);
                if (id != null) map.set(marker(ids.get(s)), id);
            }
        } else if (vocab instanceof ArrayNode pieces) {
            for (JsonNode piece : pieces) {
                if (piece instanceof ArrayNode p && p.size() > 0 && ids.containsKey(p.get(0).asText())) {
                    p.set(0, TextNode.valueOf(marker(ids.get(p.get(0).asText()))));
                }
            }
        } else if (!vocab.isMissingNode() && !vocab.isNull()) {
            throw new IllegalArgumentException("unsupported vocabulary of model type " + model.path("type").asText());
        }
        if (model.path("merges") instanceof ArrayNode merges) {
            for (Iterator<JsonNode> it = merges.elements(); it.hasNext(); ) {
                JsonNode merge = it.next();
                String a;
                String b;
                if (merge.isArray() && merge.size() == 2) {
                    a = merge.get(0).asText();
                    b = merge.get(1).asText();
                } else {
                    String[] parts = merge.asText().split(" ", 2);
                    a = parts[0];
                    b = parts.length > 1 ? parts[1] : "";
                }
                if (ids.containsKey(a) || ids.containsKey(b) || ids.containsKey(a + b)) it.remove();
            }
        }
        return root;
    }
}
