package dev.principia.model;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A model's {@code tokenizer.json}, run by the HF tokenizers library (Rust, through DJL's JNI
 * binding). Text is encoded without adding special tokens: chat templates write them as text and
 * the tokenizer maps them to their ids, wherever they occur: encode caller text through a {@link ChatEncoder},
 * which keeps special tokens to the chat template's own. Thread-safe.
 */
public final class Tokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final Path file;
    private volatile String[] tokenTexts;
    /** Built on first use by {@link #marked()}; closed with this tokenizer. */
    private Marked marked;
    private boolean closed;
    private final Map<ChatTemplate, ChatEncoder> encoders = new ConcurrentHashMap<>();

    /** This tokenizer's special tokens and its marked twin ({@link SpecialTokens}). */
    record Marked(SpecialTokens specials, Tokenizer twin) {
    }

    private Tokenizer(HuggingFaceTokenizer tokenizer, Path file) {
        this.tokenizer = tokenizer;
        this.file = file;
    }

    /** Loads {@code tokenizer.json}; the message names the file when it is missing or unreadable. */
    public static Tokenizer load(Path tokenizerJson) {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new IllegalArgumentException(tokenizerJson + ": tokenizer file not found");
        }
        try {
            return new Tokenizer(HuggingFaceTokenizer.newInstance(tokenizerJson, OPTIONS), tokenizerJson);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(tokenizerJson + ": cannot load tokenizer: " + e.getMessage(), e);
        }
    }

    /** Encoding options: no special tokens added, no truncation, no padding. */
    private static final Map<String, String> OPTIONS = Map.of("addSpecialTokens", "false", "truncation", "false",
            "padding", "false", "maxLength", Integer.toString(Integer.MAX_VALUE / 2));

    /**
     * The special tokens and the marked twin of this tokenizer, built from its file on first use. The twin is
     * checked: each marker encodes to its special id, and no special token's text encodes to a special id.
     *
     * @throws IllegalArgumentException naming the file when the twin cannot be built or fails a check
     */
    synchronized Marked marked() {
        if (closed) throw new IllegalStateException(file + ": tokenizer is closed");
        if (marked == null) {
            try {
                JsonNode root = new ObjectMapper().readTree(file.toFile());
                SpecialTokens specials = SpecialTokens.of(root);
                byte[] json = new ObjectMapper().writeValueAsBytes(specials.markedTokenizerJson(root));
                Tokenizer twin = new Tokenizer(HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), OPTIONS), file);
                try {
                    check(specials, twin);
                } catch (IllegalArgumentException e) {
                    twin.close();
                    throw e;
                }
                marked = new Marked(specials, twin);
            } catch (IOException | RuntimeException e) {
                throw new IllegalArgumentException(file + ": cannot keep caller text apart from special tokens: " + e.getMessage(), e);
            }
        }
        return marked;
    }

    private void check(SpecialTokens specials, Tokenizer twin) {
        for (Map.Entry<String, Integer> e : specials.ids().entrySet()) {
            int[] ids = twin.encode(SpecialTokens.marker(e.getValue()));
            if (ids.length != 1 || ids[0] != e.getValue() || tokenId(e.getKey()) != e.getValue()) {
                throw new IllegalArgumentException("special token '" + e.getKey() + "' (id " + e.getValue() + ") does not keep its id");
            }
            for (int id : twin.encode(e.getKey())) {
                if (specials.ids().containsValue(id)) {
                    throw new IllegalArgumentException("the text of special token '" + e.getKey() + "' encodes to special id " + id);
                }
            }
        }
    }

    /** The encoder of {@code template} over this tokenizer; one per template, kept until {@link #close}. */
    ChatEncoder encoder(ChatTemplate template) {
        return encoders.computeIfAbsent(template, t -> new ChatEncoder(this, t));
    }

    public int[] encode(String text) {
        Encoding enc = tokenizer.encode(text, false, false);
        long[] ids = enc.getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) out[i] = Math.toIntExact(ids[i]);
        return out;
    }

    /** Decodes ids to text, dropping special tokens such as end-of-turn markers. */
    public String decode(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) l[i] = ids[i];
        return tokenizer.decode(l, true);
    }

    /** The id of a token given by its exact text (a special token such as {@code <|im_end|>}), or -1. */
    public int tokenId(String tokenText) {
        long[] ids = tokenizer.encode(tokenText, false, false).getIds();
        return ids.length == 1 ? Math.toIntExact(ids[0]) : -1;
    }

    /**
     * The text each id decodes to on its own ({@code ""} for special tokens), for every id below
     * {@code vocabSize}; computed once. Used to build token-level grammars.
     */
    public String[] tokenTexts(int vocabSize) {
        String[] texts = tokenTexts;
        if (texts == null || texts.length != vocabSize) {
            long[][] single = new long[vocabSize][1];
            for (int i = 0; i < vocabSize; i++) single[i][0] = i;
            texts = tokenizer.batchDecode(single, true);
            tokenTexts = texts;
        }
        return texts;
    }

    public Path file() {
        return file;
    }

    @Override
    public void close() {
        synchronized (this) {
            if (marked != null) marked.twin().close();
            marked = null;
            closed = true;
        }
        encoders.clear();
        tokenizer.close();
    }

}
