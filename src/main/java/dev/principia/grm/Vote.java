package dev.principia.grm;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The vote over the counted valid samples of one request, every array indexed by original response.
 *
 * <p>Invariants: all arrays have the same length n ≥ 1; {@code ranks} holds each of {@code 1..n} once
 * (ties are broken, so no two responses share a rank); {@code ranks[bestIndex] == 1};
 * {@code numCounted ≥ 1}. Arrays are copied in and out.
 *
 * @param rewards    sum of the response's scores over counted samples (k·min .. k·max), each sample's times its weight when
 *                   the vote is weighted
 * @param meanScores {@code rewards[i] / numCounted}, or over the total weight when the vote is weighted
 * @param ranks      1 = best; higher reward ranks first, equal rewards in a seeded random order
 * @param bestIndex  original index of the response ranked 1
 * @param numCounted number of samples summed (with a weight above 0)
 */
public record Vote(double[] rewards, double[] meanScores, int[] ranks, int bestIndex, int numCounted) {
    public Vote {
        if (rewards == null || meanScores == null || ranks == null) throw new IllegalArgumentException("arrays must not be null");
        int n = rewards.length;
        if (n == 0) throw new IllegalArgumentException("a vote needs at least one response");
        if (meanScores.length != n || ranks.length != n) {
            throw new IllegalArgumentException("rewards, meanScores and ranks must have the same length");
        }
        if (numCounted < 1) throw new IllegalArgumentException("numCounted must be >= 1, got " + numCounted);
        boolean[] seen = new boolean[n + 1];
        for (int rank : ranks) {
            if (rank < 1 || rank > n || seen[rank]) throw new IllegalArgumentException("ranks must hold each of 1.." + n + " once");
            seen[rank] = true;
        }
        if (bestIndex < 0 || bestIndex >= n || ranks[bestIndex] != 1) {
            throw new IllegalArgumentException("bestIndex " + bestIndex + " must be the response ranked 1");
        }
        rewards = rewards.clone();
        meanScores = meanScores.clone();
        ranks = ranks.clone();
    }

    /**
     * Sums the counted samples per response and ranks the responses.
     *
     * @param countedScoresInOriginalOrder one {@code int[numResponses]} per counted valid sample, already un-permuted
     * @param tieBreakSeed                 equal seeds break equal rewards the same way (see {@link SampleSeeds#tieBreak})
     * @throws IllegalArgumentException when no sample is counted or a sample has the wrong length
     */
    public static Vote tally(List<int[]> countedScoresInOriginalOrder, int numResponses, long tieBreakSeed) {
        if (countedScoresInOriginalOrder == null || countedScoresInOriginalOrder.isEmpty()) {
            throw new IllegalArgumentException("no valid samples to vote over");
        }
        double[] ones = new double[countedScoresInOriginalOrder.size()];
        Arrays.fill(ones, 1.0);
        return weighted(countedScoresInOriginalOrder, ones, numResponses, tieBreakSeed);
    }

    /**
     * Sums each response's scores over the samples, each sample's scores times its weight, and ranks the responses
     * ({@link MetaFilter#weigh}). With every weight 1 this is {@link #tally}; the mean score is the weighted mean.
     *
     * @param scoresInOriginalOrder one {@code int[numResponses]} per valid sample, already un-permuted
     * @param weights               one per sample, finite and in 0..1; a sample weighing 0 is not counted
     * @param tieBreakSeed          equal seeds break equal rewards the same way (see {@link SampleSeeds#tieBreak})
     * @throws IllegalArgumentException when no sample weighs more than 0, or a sample or weight is malformed
     */
    public static Vote weighted(List<int[]> scoresInOriginalOrder, double[] weights, int numResponses, long tieBreakSeed) {
        if (numResponses < 1) throw new IllegalArgumentException("numResponses must be >= 1, got " + numResponses);
        if (scoresInOriginalOrder == null || weights == null || scoresInOriginalOrder.size() != weights.length) {
            throw new IllegalArgumentException("one weight per sample is needed");
        }
        double[] rewards = new double[numResponses];
        double totalWeight = 0;
        int numCounted = 0;
        for (int s = 0; s < scoresInOriginalOrder.size(); s++) {
            int[] scores = scoresInOriginalOrder.get(s);
            if (scores == null || scores.length != numResponses) {
                throw new IllegalArgumentException("sample " + s + " must have " + numResponses + " scores, got "
                        + (scores == null ? "null" : String.valueOf(scores.length)));
            }
            double w = weights[s];
            if (!(w >= 0 && w <= 1)) throw new IllegalArgumentException("sample " + s + "'s weight must be in 0..1, got " + w);
            if (w == 0) continue;
            for (int i = 0; i < numResponses; i++) rewards[i] += w * scores[i];
            totalWeight += w;
            numCounted++;
        }
        if (numCounted == 0) throw new IllegalArgumentException("no valid samples to vote over");
        double[] means = new double[numResponses];
        for (int i = 0; i < numResponses; i++) means[i] = rewards[i] / totalWeight;
        return ranked(rewards, means, numCounted, tieBreakSeed);
    }

    /**
     * Ranks responses by reward (higher first), equal rewards ordered by a seeded random key — the
     * ordering of {@link #tally}, for rewards that come from elsewhere (a scalar reward model).
     */
    public static Vote ranked(double[] rewards, double[] means, int numCounted, long tieBreakSeed) {
        int numResponses = rewards.length;
        int[] tieKey = Permutations.shuffle(numResponses, tieBreakSeed);
        Integer[] byRank = new Integer[numResponses];
        for (int i = 0; i < numResponses; i++) byRank[i] = i;
        Arrays.sort(byRank, (a, b) -> rewards[a] != rewards[b] ? Double.compare(rewards[b], rewards[a])
                : Integer.compare(tieKey[a], tieKey[b]));
        int[] ranks = new int[numResponses];
        for (int r = 0; r < numResponses; r++) ranks[byRank[r]] = r + 1;
        return new Vote(rewards, means, ranks, byRank[0], numCounted);
    }

    /**
     * Whether one sample picked the true best: its score is strictly higher than every other score
     * (a tie at the top is wrong). With a single response this is vacuously true.
     */
    public static boolean isCorrect(int[] scores, int trueBest) {
        if (scores == null || scores.length == 0) throw new IllegalArgumentException("scores must not be empty");
        if (trueBest < 0 || trueBest >= scores.length) {
            throw new IllegalArgumentException("trueBest " + trueBest + " out of range 0.." + (scores.length - 1));
        }
        for (int i = 0; i < scores.length; i++) {
            if (i != trueBest && scores[i] >= scores[trueBest]) return false;
        }
        return true;
    }

    public int numResponses() {
        return rewards.length;
    }

    @Override
    public double[] rewards() {
        return rewards.clone();
    }

    @Override
    public double[] meanScores() {
        return meanScores.clone();
    }

    @Override
    public int[] ranks() {
        return ranks.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Vote v && bestIndex == v.bestIndex && numCounted == v.numCounted
                && Arrays.equals(rewards, v.rewards) && Arrays.equals(meanScores, v.meanScores) && Arrays.equals(ranks, v.ranks);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(rewards), Arrays.hashCode(meanScores), Arrays.hashCode(ranks), bestIndex, numCounted);
    }

    @Override
    public String toString() {
        return "Vote[rewards=" + Arrays.toString(rewards) + ", ranks=" + Arrays.toString(ranks)
                + ", bestIndex=" + bestIndex + ", numCounted=" + numCounted + "]";
    }
}
