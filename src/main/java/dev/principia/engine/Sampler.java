package dev.principia.engine;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from one position's logits. Pure function of (logits, params, random
 * stream): a sequence's draws depend only on its own seed, never on batch composition.
 * Masked tokens carry {@code -Infinity} and are never picked.
 */
public final class Sampler {

    private Sampler() {
    }

    /** Weights below {@code exp(-40)} of the top one change no draw a double can tell apart: they are skipped. */
    private static final double NEGLIGIBLE = -40.0;
    private static final ThreadLocal<double[]> WEIGHTS = ThreadLocal.withInitial(() -> new double[0]);

    /** Returns the chosen token id, or -1 when every logit is masked. */
    public static int sample(float[] logits, SamplingParams params, SplittableRandom random) {
        if (params.isGreedy()) {
            return argmax(logits);
        }
        if (params.topK() > 0 || params.topP() < 1f) {
            int best = argmax(logits);
            return best < 0 ? -1 : sampleTruncated(logits, params, random, best);
        }
        return sampleTemperature(logits, 1.0 / params.temperature(), random);
    }

    /** Tokens per block of the rejection sampler's proposal. */
    private static final int BLOCK = 64;
    /** Proposals tried before falling back to the full inverse-CDF draw (never reached in tests). */
    private static final int MAX_TRIALS = 256;
    private static final ThreadLocal<float[]> BLOCK_MAX = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * Exact draw from softmax(logits / T) without an {@code exp} per vocabulary entry: propose a block
     * with probability proportional to {@code size · exp((blockMax − max)/T)}, a token uniformly inside
     * it, and accept it with probability {@code exp((logit − blockMax)/T) ≤ 1}. A token's chance is then
     * proportional to {@code exp((logit − max)/T)}, as the softmax has it; each trial costs one exp, and
     * the block weights one exp per 64 tokens. Falls back to {@link #sampleFull} after
     * {@value #MAX_TRIALS} rejections.
     */
    private static int sampleTemperature(float[] logits, double invT, SplittableRandom random) {
        int n = logits.length;
        int numBlocks = (n + BLOCK - 1) / BLOCK;
        float[] blockMax = BLOCK_MAX.get();
        double[] cumulative = WEIGHTS.get();
        if (blockMax.length < numBlocks) {
            blockMax = new float[numBlocks];
            BLOCK_MAX.set(blockMax);
        }
        if (cumulative.length < Math.max(numBlocks, n)) {
            cumulative = new double[Math.max(numBlocks, n)];
            WEIGHTS.set(cumulative);
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int b = 0; b < numBlocks; b++) {
            int from = b * BLOCK;
            int to = Math.min(n, from + BLOCK);
            float m = Float.NEGATIVE_INFINITY;
            for (int i = from; i < to; i++) m = Math.max(m, logits[i]);
            blockMax[b] = m;
            max = Math.max(max, m);
        }
        if (max == Float.NEGATIVE_INFINITY) return -1;
        double total = 0;
        for (int b = 0; b < numBlocks; b++) {
            float m = blockMax[b];
            total += m == Float.NEGATIVE_INFINITY ? 0.0 : (Math.min(n, (b + 1) * BLOCK) - b * BLOCK) * Math.exp((m - max) * invT);
            cumulative[b] = total;
        }
        for (int trial = 0; trial < MAX_TRIALS; trial++) {
            double u = random.nextDouble() * total;
            int lo = 0;
            int hi = numBlocks - 1;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (cumulative[mid] > u) hi = mid;
                else lo = mid + 1;
            }
            int from = lo * BLOCK;
            int token = from + random.nextInt(Math.min(n, from + BLOCK) - from);
            float l = logits[token];
            if (l == Float.NEGATIVE_INFINITY) continue;
            if (random.nextDouble() < Math.exp((l - blockMax[lo]) * invT)) return token;
        }
        return sampleFull(logits, max, invT, random);
    }

    /** The textbook draw: every weight, then the inverse CDF at one uniform. */
    static int sampleFull(float[] logits, float max, double invT, SplittableRandom random) {
        double[] w = WEIGHTS.get();
        if (w.length < logits.length) {
            w = new double[logits.length];
            WEIGHTS.set(w);
        }
        double total = 0;
        for (int i = 0; i < logits.length; i++) {
            double x = (logits[i] - max) * invT;
            double e = x < NEGLIGIBLE ? 0.0 : Math.exp(x);
            w[i] = e;
            total += e;
        }
        double r = random.nextDouble() * total;
        int last = -1;
        for (int i = 0; i < logits.length; i++) {
            if (w[i] == 0) continue;
            last = i;
            r -= w[i];
            if (r < 0) return i;
        }
        return last;
    }

    /** Top-k and/or top-p: sort the finite logits, cut, renormalise, draw. */
    private static int sampleTruncated(float[] logits, SamplingParams params, SplittableRandom random, int best) {
        int n = logits.length;
        float max = logits[best];
        double invT = 1.0 / params.temperature();
        int[] idx = new int[n];
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (logits[i] != Float.NEGATIVE_INFINITY) idx[m++] = i;
        }
        Integer[] order = new Integer[m];
        for (int i = 0; i < m; i++) order[i] = idx[i];
        Arrays.sort(order, (a, b) -> a.equals(b) ? 0 : logits[b] != logits[a] ? Float.compare(logits[b], logits[a]) : Integer.compare(a, b));
        int keep = params.topK() > 0 ? Math.min(params.topK(), m) : m;
        double[] p = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            idx[i] = order[i];
            p[i] = Math.exp((logits[idx[i]] - max) * invT);
            sum += p[i];
        }
        if (params.topP() < 1f) {
            double cum = 0;
            int cut = keep;
            for (int i = 0; i < keep; i++) {
                cum += p[i] / sum;
                if (cum >= params.topP()) {
                    cut = i + 1;
                    break;
                }
            }
            keep = cut;
        }
        double total = 0;
        for (int i = 0; i < keep; i++) total += p[i];
        double r = random.nextDouble() * total;
        for (int i = 0; i < keep; i++) {
            r -= p[i];
            if (r < 0) return idx[i];
        }
        return idx[keep - 1];
    }

    /** Index of the largest finite logit (lowest index on ties), or -1 when all are masked. */
    public static int argmax(float[] logits) {
        int best = -1;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < logits.length; i++) {
            if (logits[i] > max) {
                max = logits[i];
                best = i;
            }
        }
        return best;
    }
}
