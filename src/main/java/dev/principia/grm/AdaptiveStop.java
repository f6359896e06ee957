package dev.principia.grm;

/**
 * The exact early-stop rule of adaptive voting: the best response can no longer change, whatever
 * the samples still to run say. A remaining sample either is invalid (adds nothing) or adds between
 * {@code minScore} and {@code maxScore} to each response, so the leader {@code b} is safe against
 * {@code j} when {@code S_b + r·min} beats {@code S_j + r·max} under {@link Vote}'s ordering (higher
 * sum, then the seeded tie-break key). Stopping on this rule gives the same best response as voting
 * over all k samples.
 */
public final class AdaptiveStop {
    private final int minScore;
    private final int maxScore;
    private final int[] tieKey;

    /**
     * @param tieBreakSeed the seed {@link Vote#tally} will use, so ties resolve the same way
     */
    public AdaptiveStop(int numResponses, int minScore, int maxScore, long tieBreakSeed) {
        if (minScore > maxScore) throw new IllegalArgumentException("minScore " + minScore + " > maxScore " + maxScore);
        this.minScore = minScore;
        this.maxScore = maxScore;
        this.tieKey = Permutations.shuffle(numResponses, tieBreakSeed);
    }

    /** The response {@link Vote#tally} would rank first for these sums. */
    public int leader(double[] sums) {
        int best = 0;
        for (int i = 1; i < sums.length; i++) {
            if (sums[i] > sums[best] || sums[i] == sums[best] && tieKey[i] < tieKey[best]) best = i;
        }
        return best;
    }

    /**
     * Whether the leader of {@code sums} stays the leader after {@code remaining} more samples.
     *
     * @param sums      per-response sums over the valid samples seen so far
     * @param numValid  valid samples seen so far; with none nothing is decided
     * @param remaining samples not yet run
     */
    public boolean isDecided(double[] sums, int numValid, int remaining) {
        if (numValid == 0) return false;
        if (sums.length == 1 || remaining == 0) return true;
        int b = leader(sums);
        double low = sums[b] + (double) remaining * minScore;
        for (int j = 0; j < sums.length; j++) {
            if (j == b) continue;
            double high = sums[j] + (double) remaining * maxScore;
            if (high > low || high == low && tieKey[j] < tieKey[b]) return false;
        }
        return true;
    }
}
