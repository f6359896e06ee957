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
        int best = argmax(logits);
        if (best < 0) return -1;
        if (params.topK() > 0 || params.topP() < 1f) {
            return sampleTruncated(logits, params, random, best);
        }
        // plain temperature: one pass of weights into a reused buffer, one inverse-CDF scan
        float max = logits[best];
        double invT = 1.0 / params.temperature();
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
        for (int i = 0; i < logits.length; i++) {
            r -= w[i];
            if (r < 0 && w[i] > 0) return i;
        }
        return best;
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
