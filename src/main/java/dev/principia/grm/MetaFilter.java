package dev.principia.grm;

import java.util.Arrays;
import java.util.Comparator;

/**
 * Meta-RM guided voting: keep the {@code k_meta} valid samples the meta reward model trusts most (the paper's
 * rule), or every valid sample it scores at least a threshold, or vote every valid sample with a weight that falls
 * with its meta score's distance below the most trusted one. Ties in meta score are broken by a seeded random
 * order, so the choice replays from the seed.
 */
public final class MetaFilter {
    private MetaFilter() {
    }

    /**
     * @param metaScores one per sample; {@code NaN} for samples that cannot be counted (invalid)
     * @param keep       k_meta, at least 1
     * @return per sample, whether it is kept (at most {@code keep} are, all with finite scores)
     */
    public static boolean[] keepTop(float[] metaScores, int keep, long seed) {
        if (keep < 1) throw new IllegalArgumentException("keep must be >= 1, got " + keep);
        int n = metaScores.length;
        int[] tieKey = Permutations.shuffle(n, seed);
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> Float.isNaN(metaScores[i]) ? Double.POSITIVE_INFINITY : -metaScores[i])
                .thenComparingInt(i -> tieKey[i]));
        boolean[] kept = new boolean[n];
        for (int r = 0, taken = 0; r < n && taken < keep; r++) {
            if (Float.isNaN(metaScores[order[r]])) break;
            kept[order[r]] = true;
            taken++;
        }
        return kept;
    }

    /**
     * Keeps the samples the meta-RM does not distrust, however many: a checker that flags the few wrong samples
     * filters them out without halving the vote of the many right ones.
     *
     * @param metaScores one per sample; {@code NaN} for samples that cannot be counted (invalid)
     * @param minScore   the lowest meta score kept, finite
     * @return per sample, whether it is kept: those with a score of at least {@code minScore}, or every sample
     *         with a finite score when none has
     */
    public static boolean[] keepAtLeast(float[] metaScores, float minScore) {
        if (!Float.isFinite(minScore)) throw new IllegalArgumentException("minScore must be finite, got " + minScore);
        boolean[] kept = new boolean[metaScores.length];
        boolean any = false;
        for (int i = 0; i < kept.length; i++) {
            kept[i] = metaScores[i] >= minScore;
            any |= kept[i];
        }
        if (!any) for (int i = 0; i < kept.length; i++) kept[i] = !Float.isNaN(metaScores[i]);
        return kept;
    }

    /**
     * Weights every valid sample by how far the meta-RM trusts it less than the sample it trusts most: a softmax
     * over the samples' meta scores at {@code temperature}, scaled so that the most trusted sample weighs 1. A
     * sample the checker flags (a logit tens below a trusted one) then all but drops out, and among samples it
     * trusts, those it trusts less count less, without a count or threshold to tune per model. When it flags every
     * sample, the least flagged lead the vote.
     *
     * @param metaScores  one per sample; {@code NaN} for samples that cannot be counted (invalid)
     * @param temperature in meta-score units, finite and &gt; 0
     * @return per sample, its weight in the vote: 0 for a {@code NaN} score, else {@code exp((score - max) / temperature)}
     *         in (0, 1] (it may underflow to 0 far below the most trusted), exactly 1 for the highest scores
     */
    public static double[] weigh(float[] metaScores, float temperature) {
        if (!(temperature > 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be finite and > 0, got " + temperature);
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float m : metaScores) if (!Float.isNaN(m)) max = Math.max(max, m);
        double[] weights = new double[metaScores.length];
        for (int i = 0; i < weights.length; i++) {
            float m = metaScores[i];
            if (Float.isNaN(m)) continue;
            // equal to the highest (an infinite one included) weighs exactly 1; below an infinite highest weighs 0
            weights[i] = m == max ? 1.0 : Math.exp((m - max) / temperature);
        }
        return weights;
    }
}
