package dev.principia.grm;

import java.util.Arrays;
import java.util.Comparator;

/**
 * Meta-RM guided voting: keep the {@code k_meta} valid samples the meta reward model trusts most (the paper's
 * rule), or every valid sample it scores at least a threshold. Ties in meta score are broken by a seeded random
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
}
