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

    /** Returns the chosen token id, or -1 when every logit is masked. */
    public static int sample(float[] logits, SamplingParams params, SplittableRandom random) {
        if (params.isGreedy()) {
            return argmax(logits);
        }
        int n = logits.length;
        int best = argmax(logits);
        if (best < 0) return -1;
        float max = logits[best];
        double invT = 1.0 / params.temperature();
        // candidates: indices of finite logits, optionally cut to the top k
        int[] idx = new int[n];
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (logits[i] != Float.NEGATIVE_INFINITY) idx[m++] = i;
        }
        double[] p = new double[m];
        if (params.topK() > 0 && params.topK() < m || params.topP() < 1f) {
            Integer[] order = new Integer[m];
            for (int i = 0; i < m; i++) order[i] = idx[i];
            Arrays.sort(order, (a, b) -> a.equals(b) ? 0 : logits[b] != logits[a] ? Float.compare(logits[b], logits[a]) : Integer.compare(a, b));
            int keep = params.topK() > 0 ? Math.min(params.topK(), m) : m;
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
            m = keep;
        } else {
            for (int i = 0; i < m; i++) p[i] = Math.exp((logits[idx[i]] - max) * invT);
        }
        double total = 0;
        for (int i = 0; i < m; i++) total += p[i];
        double r = random.nextDouble() * total;
        for (int i = 0; i < m; i++) {
            r -= p[i];
            if (r < 0) return idx[i];
        }
        return idx[m - 1];
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
