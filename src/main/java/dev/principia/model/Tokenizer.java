package dev.principia.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

/**
 * A model's {@code tokenizer.json}, run by the HF tokenizers library (Rust, through DJL's JNI
 * binding). Text is encoded without adding special tokens: chat templates write them as text and
 * the tokenizer maps them to their ids. Thread-safe.
 */
public final class Tokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final Path file;
    private volatile String[] tokenTexts;

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
            HuggingFaceTokenizer t = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(tokenizerJson)
                    .optAddSpecialTokens(false)
                    .optTruncation(false)
                    .optPadding(false)
                    .optMaxLength(Integer.MAX_VALUE / 2)
                    .build();
            return new Tokenizer(t, tokenizerJson);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(tokenizerJson + ": cannot load tokenizer: " + e.getMessage(), e);
        }
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
        tokenizer.close();
    }

}
