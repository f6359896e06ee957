package dev.principia.grm;

import java.util.List;

/**
 * The answer to one scoring request.
 *
 * @param rewards    per response, original order: vote sum over counted valid samples (each times its vote weight)
 * @param meanScores per response: mean score over counted valid samples (weighted by their vote weights)
 * @param ranks      per response: 1 = best, ties broken by the seed
 * @param bestIndex  original index of the winning response
 * @param samples    every sample run, in sample order
 * @param seed       the seed used (the request's, or the one drawn)
 * @param partial    the deadline came first: the vote is over the samples finished by then
 * @param degraded   k was lowered under load, for {@code degradedReason}
 */
public record ScoringResult(String id, double[] rewards, double[] meanScores, int[] ranks, int bestIndex,
                            List<SampleResult> samples, Usage usage, long seed, boolean partial, boolean degraded,
                            String degradedReason) {
    public ScoringResult {
        samples = List.copyOf(samples);
    }

    /**
     * One GRM sample.
     *
     * @param order         order[j] = original index of the response shown j-th
     * @param scores        scores in original order, empty when invalid
     * @param forced        the score block came from constrained decoding near the token limit
     * @param voteWeight    what its scores count for in the vote: 1 or 0 when samples are kept or not, in 0..1 when
     *                      the meta-RM weights them ({@code meta_temperature})
     */
    public record SampleResult(int[] order, String text, int[] scores, boolean valid, String invalidReason, boolean forced,
                               float metaScore, double voteWeight, long seed, int numGeneratedTokens) {
        /** Whether its scores are in the vote. */
        public boolean counted() {
            return voteWeight > 0;
        }
    }

    /** Token and time accounting. */
    public record Usage(long promptTokens, long generatedTokens, int samplesRun, int samplesValid, int samplesForced,
                        long queueMillis, long computeMillis, int samplesRequested, int samplesSaved, int samplesCounted) {
    }
}
