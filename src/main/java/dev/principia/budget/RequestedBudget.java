package dev.principia.budget;

/**
 * A caller's budget as sent: zero samples means "server default", a null temperature means "method
 * default" (0.5 when k > 1, greedy when k = 1), a null maxNewTokens means "server default", a zero
 * seed means "draw one", a null metaMinScore and a null metaTemperature mean "keep the metaKeep highest".
 */
public record RequestedBudget(int samples, int minSamples, int metaKeep, Float temperature, Integer maxNewTokens, long seed,
                              boolean adaptive, int deadlineMillis, Float metaMinScore, Float metaTemperature) {
    /** A budget that filters by count ({@code metaKeep}), not by meta score. */
    public RequestedBudget(int samples, int minSamples, int metaKeep, Float temperature, Integer maxNewTokens, long seed,
                           boolean adaptive, int deadlineMillis) {
        this(samples, minSamples, metaKeep, temperature, maxNewTokens, seed, adaptive, deadlineMillis, null, null);
    }

    /** A budget that filters by count or by a minimum meta score, and does not weight the vote. */
    public RequestedBudget(int samples, int minSamples, int metaKeep, Float temperature, Integer maxNewTokens, long seed,
                           boolean adaptive, int deadlineMillis, Float metaMinScore) {
        this(samples, minSamples, metaKeep, temperature, maxNewTokens, seed, adaptive, deadlineMillis, metaMinScore, null);
    }

    public static RequestedBudget defaults() {
        return new RequestedBudget(0, 0, 0, null, null, 0L, false, 0);
    }
}
