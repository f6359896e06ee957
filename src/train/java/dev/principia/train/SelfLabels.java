package dev.principia.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import dev.principia.grm.PromptCodec;
import dev.principia.grm.MetaInput;
import dev.principia.grm.PromptTemplate;
import dev.principia.model.ModelConfig;
import dev.principia.model.Tokenizer;

/**
 * Process labels from a checker instead of from the right working ({@code --self-labels DIR}): a causal LM of the
 * GRM's family reads each training sample's principles and critique after the GRM's own prompt, and the first digit
 * it would not have written itself (its most likely token there is another) is where the sample is flagged. The
 * labels then say what that checker believes, which a meta-RM grown from the same weights can learn to reproduce,
 * rather than the right working, which on the checker's own blind spots it cannot. A flagged sample's label is
 * "untrusted", an unflagged one's "trusted"; held-out items keep their real labels, so the report still measures
 * against the truth.
 *
 * <p>Digits are single tokens of this tokenizer, so the n-th digit of the working is the same value in the GRM's
 * rendering and in the meta-RM's; a sample whose two renderings do not hold the same number of digits keeps its
 * labels from the right working (counted in {@link #mismatched}).
 */
final class SelfLabels {
    private final Net lm;
    private final PromptCodec codec;
    private final Tokenizer tokenizer;
    private final PromptTemplate grmTemplate = PromptTemplate.loadDefault();
    private final MetaInput metaInput;
    private final boolean[] digit;
    private final int pad;
    private final Map<MetaTrain.Sample, MetaTrain.Sample> cache = new IdentityHashMap<>();
    private long relabelled, flagged, mismatched, flaggedTrusted, keptUntrusted;

    SelfLabels(Path lmDir, Tokenizer tokenizer, PromptCodec codec, MetaInput metaInput, boolean[] digit, int pad, long seed) throws IOException {
        ModelConfig config = ModelConfig.read(lmDir);
        this.lm = new Net(config, seed);
        lm.initFrom(lmDir);
        this.codec = codec;
        this.metaInput = metaInput;
        this.tokenizer = tokenizer;
        this.digit = digit;
        this.pad = pad;
    }

    /** {@code batch} with every sample that has a source relabelled by the checker (each computed once). */
    List<MetaTrain.Sample> relabel(List<MetaTrain.Sample> batch) {
        List<MetaTrain.Sample> todo = new ArrayList<>();
        for (MetaTrain.Sample s : batch) if (s.source() != null && !cache.containsKey(s) && !todo.contains(s)) todo.add(s);
        if (!todo.isEmpty()) compute(todo);
        List<MetaTrain.Sample> out = new ArrayList<>(batch.size());
        for (MetaTrain.Sample s : batch) out.add(cache.getOrDefault(s, s));
        return out;
    }

    private void compute(List<MetaTrain.Sample> todo) {
        int b = todo.size();
        int[][] ids = new int[b][];
        int[] promptLength = new int[b];
        int t = 0;
        for (int k = 0; k < b; k++) {
            Span span = inGrmTurn(codec, tokenizer, grmTemplate, todo.get(k).source());
            ids[k] = span.tokens();
            promptLength[k] = span.from();
            t = Math.max(t, ids[k].length);
        }
        long[] in = new long[b * t];
        for (int k = 0; k < b; k++) for (int j = 0; j < t; j++) in[k * t + j] = j < ids[k].length ? ids[k][j] : pad;
        long[] argmax = new long[b * t];
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            Tensor best = torch.argmax(lm.logits(lm.hidden(Net.longs(in, b, t))), new org.bytedeco.pytorch.LongOptional(-1), false).contiguous();
            best.data_ptr_long().get(argmax);
        }
        for (int k = 0; k < b; k++) {
            MetaTrain.Sample s = todo.get(k);
            int flaggedDigit = -1, n = 0;
            for (int j = promptLength[k]; j < ids[k].length; j++) {
                if (!isDigit(ids[k][j])) continue;
                if (flaggedDigit < 0 && argmax[k * t + j - 1] != ids[k][j]) flaggedDigit = n;
                n++;
            }
            cache.put(s, labelled(s, flaggedDigit, n));
        }
    }

    /** The sample with labels from {@code flaggedDigit} (the ordinal of the first digit flagged, or -1), or itself. */
    private MetaTrain.Sample labelled(MetaTrain.Sample s, int flaggedDigit, int digits) {
        MetaTrain.Source src = s.source();
        int[] tokens = s.tokens();
        int[] span = span(metaInput, src, tokens);
        if (digitsIn(tokens, span[0], span[1], digit) != digits) {
            mismatched++;
            return s;
        }
        byte[] labels = labels(tokens, span[0], span[1], digit, flaggedDigit);
        boolean trusted = flaggedDigit < 0;
        relabelled++;
        if (!trusted) flagged++;
        if (!trusted && s.trusted()) flaggedTrusted++;
        if (trusted && !s.trusted()) keptUntrusted++;
        return new MetaTrain.Sample(tokens, trusted, s.valid(), s.scores(), labels, !trusted, src);
    }

    /** A judgment's tokens in some context: {@code tokens}, the principles and critique at [from, to). */
    record Span(int[] tokens, int from, int to) {
    }

    /** The judgment where the GRM wrote it: its prompt, then the principles and critique (the scores left out). */
    static Span inGrmTurn(PromptCodec codec, Tokenizer tokenizer, PromptTemplate grmTemplate, MetaTrain.Source src) {
        int[] prompt = codec.encodeUserTurn(grmTemplate.render(src.conversation(), src.presented()), true);
        int[] body = tokenizer.encode(working(src.judgment()));
        int[] tokens = Arrays.copyOf(prompt, prompt.length + body.length);
        System.arraycopy(body, 0, tokens, prompt.length, body.length);
        return new Span(tokens, prompt.length, tokens.length);
    }

    /** The judgment where the meta-RM reads it: inside {@code input} (the meta template's user turn, or the conversation form). */
    static Span inMetaInput(MetaInput input, MetaTrain.Source src) {
        int[] tokens = ProcessLabels.encode(input, src.conversation(), src.presented(), src.judgment());
        int[] span = span(input, src, tokens);
        return new Span(tokens, span[0], span[1]);
    }

    /** [start, end): the tokens of the meta-RM input {@code tokens} that hold the judgment's principles and critique. */
    static int[] span(MetaInput input, MetaTrain.Source src, int[] tokens) {
        int start = ProcessLabels.commonPrefix(tokens, ProcessLabels.encode(input, src.conversation(), src.presented(), "#"));
        int end = Math.min(tokens.length - 1, ProcessLabels.commonPrefix(tokens,
                ProcessLabels.encode(input, src.conversation(), src.presented(), working(src.judgment()) + "#")));
        return new int[] {start, end};
    }

    static int digitsIn(int[] tokens, int start, int end, boolean[] digit) {
        int n = 0;
        for (int j = start; j < end; j++) if (digit[tokens[j]]) n++;
        return n;
    }

    /**
     * {@link ProcessLabels}' labels for a working flagged at its {@code flaggedDigit}-th digit (-1: not flagged) over
     * [start, end): right so far before it ({@link ProcessLabels#RIGHT_DIGIT} on digits, 1 elsewhere), {@link
     * ProcessLabels#SLIP} at it, 0 after it; {@link ProcessLabels#NONE} outside the span.
     */
    static byte[] labels(int[] tokens, int start, int end, boolean[] digit, int flaggedDigit) {
        int at = -1;
        for (int j = start, n = 0; j < end && at < 0; j++) {
            if (!digit[tokens[j]]) continue;
            if (n++ == flaggedDigit) at = j;
        }
        byte[] labels = new byte[tokens.length];
        Arrays.fill(labels, ProcessLabels.NONE);
        for (int j = start; j < end; j++) {
            if (at < 0 || j < at) labels[j] = digit[tokens[j]] ? ProcessLabels.RIGHT_DIGIT : 1;
            else labels[j] = j == at ? ProcessLabels.SLIP : 0;
        }
        return labels;
    }

    private boolean isDigit(int token) {
        return token >= 0 && token < digit.length && digit[token];
    }

    static String working(String judgment) {
        int scores = judgment.indexOf("Scores:");
        return scores < 0 ? judgment : judgment.substring(0, scores);
    }

    /** What relabelling did so far, for the training log. */
    String summary() {
        return String.format(java.util.Locale.ROOT, "checker labels: %d samples relabelled, %d flagged (%d of them trusted by the right working), "
                + "%d untrusted left unflagged, %d kept their labels (digits did not line up)", relabelled, flagged, flaggedTrusted, keptUntrusted, mismatched);
    }
}
