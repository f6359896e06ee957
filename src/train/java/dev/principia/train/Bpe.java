package dev.principia.train;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A byte-level BPE tokenizer trained on the GRM's own corpus and written as HF {@code tokenizer.json} plus
 * {@code tokenizer_config.json} (ChatML template). Pre-tokenization isolates every digit ({@code \p{N}}) and
 * keeps everything else whole, so merges may cross spaces: the fixed instructions of the server's prompt
 * templates compress to a few tokens, while numbers always stay one token per digit. Any byte string still
 * encodes (256 byte symbols), so caller text of any kind is tokenized, never refused.
 */
final class Bpe {
    static final String EOT = "<|endoftext|>", IM_START = "<|im_start|>", IM_END = "<|im_end|>";
    static final List<String> SPECIALS = List.of(EOT, IM_START, IM_END);
    static final String CHAT_TEMPLATE = "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content']"
            + " + '<|im_end|>' + '\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
    private static final Pattern DIGIT = Pattern.compile("\\p{N}");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The trained vocabulary: byte symbols, then merges in rank order; special ids follow. */
    record Vocab(List<String> tokens, List<String[]> merges) {
        int specialId(String special) {
            return tokens.size() + SPECIALS.indexOf(special);
        }

        int size() {
            return tokens.size() + SPECIALS.size();
        }
    }

    private Bpe() {
    }

    /** GPT-2's reversible byte to printable-character map, as HF's ByteLevel pre-tokenizer applies it. */
    static char[] byteChars() {
        char[] map = new char[256];
        boolean[] direct = new boolean[256];
        for (int b = '!'; b <= '~'; b++) direct[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) direct[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) direct[b] = true;
        int n = 0;
        for (int b = 0; b < 256; b++) map[b] = direct[b] ? (char) b : (char) (256 + n++);
        return map;
    }

    /** Pre-tokenizer pieces of {@code text} (special tokens removed, digits isolated), in byte characters. */
    static List<String> pieces(String text) {
        char[] map = byteChars();
        List<String> out = new ArrayList<>();
        for (String part : splitSpecials(text)) {
            Matcher m = DIGIT.matcher(part);
            int at = 0;
            while (m.find()) {
                if (m.start() > at) out.add(mapped(part.substring(at, m.start()), map));
                out.add(mapped(m.group(), map));
                at = m.end();
            }
            if (at < part.length()) out.add(mapped(part.substring(at), map));
        }
        return out;
    }

    private static List<String> splitSpecials(String text) {
        List<String> parts = new ArrayList<>();
        int at = 0;
        while (at < text.length()) {
            int next = -1;
            String which = null;
            for (String s : SPECIALS) {
                int i = text.indexOf(s, at);
                if (i >= 0 && (next < 0 || i < next)) {
                    next = i;
                    which = s;
                }
            }
            if (next < 0) {
                parts.add(text.substring(at));
                break;
            }
            if (next > at) parts.add(text.substring(at, next));
            at = next + which.length();
        }
        return parts;
    }

    private static String mapped(String s, char[] map) {
        StringBuilder b = new StringBuilder();
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) b.append(map[x & 0xFF]);
        return b.toString();
    }

    /**
     * Learns merges over {@code texts} until the vocabulary (with specials) holds {@code vocabSize} entries or no
     * pair occurs at least {@code minCount} times. Ties go to the pair of smaller ids, so training is repeatable.
     */
    static Vocab train(List<String> texts, int vocabSize, int minCount) {
        Map<String, Integer> freq = new HashMap<>();
        for (String t : texts) for (String p : pieces(t)) freq.merge(p, 1, Integer::sum);
        char[] map = byteChars();
        List<String> tokens = new ArrayList<>();
        Map<Character, Integer> base = new HashMap<>();
        for (int b = 0; b < 256; b++) {
            tokens.add(String.valueOf(map[b]));
            base.put(map[b], b);
        }
        List<int[]> words = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        for (Map.Entry<String, Integer> e : freq.entrySet()) {
            if (e.getKey().length() < 2) continue;
            int[] w = new int[e.getKey().length()];
            for (int i = 0; i < w.length; i++) w[i] = base.get(e.getKey().charAt(i));
            words.add(w);
            counts.add(e.getValue());
        }
        List<String[]> merges = new ArrayList<>();
        int[] lens = new int[words.size()];
        for (int i = 0; i < lens.length; i++) lens[i] = words.get(i).length;
        while (tokens.size() + SPECIALS.size() < vocabSize) {
            Map<Long, Integer> pairs = new HashMap<>();
            for (int w = 0; w < words.size(); w++) {
                int[] s = words.get(w);
                int c = counts.get(w);
                for (int i = 0; i + 1 < lens[w]; i++) pairs.merge(((long) s[i] << 32) | s[i + 1], c, Integer::sum);
            }
            long best = -1;
            int bestCount = 0;
            for (Map.Entry<Long, Integer> e : pairs.entrySet()) {
                if (e.getValue() > bestCount || (e.getValue() == bestCount && e.getKey() < best)) {
                    best = e.getKey();
                    bestCount = e.getValue();
                }
            }
            if (bestCount < minCount) break;
            int a = (int) (best >>> 32), b = (int) best, id = tokens.size();
            tokens.add(tokens.get(a) + tokens.get(b));
            merges.add(new String[] {tokens.get(a), tokens.get(b)});
            for (int w = 0; w < words.size(); w++) {
                int[] s = words.get(w);
                int o = 0;
                for (int i = 0; i < lens[w]; i++) {
                    if (i + 1 < lens[w] && s[i] == a && s[i + 1] == b) {
                        s[o++] = id;
                        i++;
                    } else {
                        s[o++] = s[i];
                    }
                }
                lens[w] = o;
            }
        }
        return new Vocab(List.copyOf(tokens), List.copyOf(merges));
    }

    /** Writes {@code tokenizer.json} and {@code tokenizer_config.json} into {@code dir}. */
    static void write(Vocab v, Path dir, int modelMaxLength) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (String s : SPECIALS) {
            added.addObject().put("id", v.specialId(s)).put("content", s).put("single_word", false).put("lstrip", false)
                    .put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Sequence");
        ArrayNode seq = pre.putArray("pretokenizers");
        ObjectNode split = seq.addObject();
        split.put("type", "Split");
        split.putObject("pattern").put("Regex", "\\p{N}");
        split.put("behavior", "Isolated").put("invert", false);
        seq.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", false).put("use_regex", false);
        root.putNull("post_processor");
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", false)
                .put("use_regex", false);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false).put("byte_fallback", false).put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < v.tokens().size(); i++) vocab.put(v.tokens().get(i), i);
        ArrayNode merges = model.putArray("merges");
        for (String[] m : v.merges()) merges.addArray().add(m[0]).add(m[1]);
        Files.writeString(dir.resolve("tokenizer.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));

        ObjectNode cfg = JSON.createObjectNode();
        cfg.put("add_bos_token", false).put("add_prefix_space", false);
        ObjectNode dec = cfg.putObject("added_tokens_decoder");
        for (String s : SPECIALS) {
            dec.putObject(Integer.toString(v.specialId(s))).put("content", s).put("lstrip", false).put("normalized", false)
                    .put("rstrip", false).put("single_word", false).put("special", true);
        }
        cfg.putArray("additional_special_tokens").add(IM_START).add(IM_END);
        cfg.putNull("bos_token");
        cfg.put("chat_template", CHAT_TEMPLATE);
        cfg.put("clean_up_tokenization_spaces", false);
        cfg.put("eos_token", IM_END).put("pad_token", EOT);
        cfg.put("model_max_length", modelMaxLength);
        cfg.put("split_special_tokens", false);
        cfg.put("tokenizer_class", "PreTrainedTokenizerFast");
        cfg.putNull("unk_token");
        Files.writeString(dir.resolve("tokenizer_config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(cfg));
    }

    static Map<String, Integer> specialIds(Vocab v) {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (String s : SPECIALS) m.put(s, v.specialId(s));
        return m;
    }
}
