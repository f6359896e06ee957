package dev.principia.budget;

/**
 * The compute one request gets: its budget checked against the server's caps, defaults filled in and
 * load-aware degradation applied. The only budget shape downstream code reads.
 *
 * @param samplesAsked   k the caller asked for (after the server default for 0)
 * @param samples        k allocated: between {@code minSamples} and {@code samplesAsked}
 * @param minSamples     the lowest k the caller allows under load; 0 = k is fixed
 * @param metaKeep       k_meta: samples the meta-RM keeps; equal to {@code samples} when nothing is filtered by count
 * @param temperature    0 = greedy; chosen from the allocated k when the caller left it unset
 * @param maxNewTokens   per sample
 * @param seed           never 0: the request's seed, or the one drawn for it
 * @param adaptive       samples run in waves and stop once the best response is settled
 * @param deadlineNanos  {@link System#nanoTime()} by which the answer is due; {@link Long#MAX_VALUE} = none
 * @param degraded       k was lowered under load
 * @param degradedReason why, for the response and logs; empty when not degraded
 * @param metaMinScore   when set, the meta-RM keeps the valid samples scored at least this (all when none is)
 *                       instead of the {@code metaKeep} highest, and {@code metaKeep} equals {@code samples}
 * @param metaTemperature when set, every valid sample is voted with the weight
 *                       {@code exp((metaScore - highest metaScore) / metaTemperature)} instead of some being kept, and
 *                       {@code metaKeep} equals {@code samples}; not together with {@code metaMinScore}
 */
public record ResolvedBudget(int samplesAsked, int samples, int minSamples, int metaKeep, float temperature, int maxNewTokens,
                             long seed, boolean adaptive, long deadlineNanos, boolean degraded, String degradedReason,
                             Float metaMinScore, Float metaTemperature) {
    /** A budget that filters by count only. */
    public ResolvedBudget(int samplesAsked, int samples, int minSamples, int metaKeep, float temperature, int maxNewTokens,
                          long seed, boolean adaptive, long deadlineNanos, boolean degraded, String degradedReason) {
        this(samplesAsked, samples, minSamples, metaKeep, temperature, maxNewTokens, seed, adaptive, deadlineNanos, degraded, degradedReason, null, null);
    }

    /** A budget that filters by count or by a minimum meta score, and does not weight the vote. */
    public ResolvedBudget(int samplesAsked, int samples, int minSamples, int metaKeep, float temperature, int maxNewTokens,
                          long seed, boolean adaptive, long deadlineNanos, boolean degraded, String degradedReason, Float metaMinScore) {
        this(samplesAsked, samples, minSamples, metaKeep, temperature, maxNewTokens, seed, adaptive, deadlineNanos, degraded, degradedReason,
                metaMinScore, null);
    }

    public ResolvedBudget {
        if (samples < 1 || samples > samplesAsked) {
            throw new IllegalArgumentException("samples must be in 1.." + samplesAsked + ", got " + samples);
        }
        if (minSamples < 0 || minSamples > samplesAsked) throw new IllegalArgumentException("minSamples out of range: " + minSamples);
        if (metaKeep < 1 || metaKeep > samples) throw new IllegalArgumentException("metaKeep must be in 1.." + samples + ", got " + metaKeep);
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be finite and >= 0, got " + temperature);
        }
        if (maxNewTokens < 1) throw new IllegalArgumentException("maxNewTokens must be >= 1, got " + maxNewTokens);
        if (seed == 0) throw new IllegalArgumentException("seed must be resolved (non-zero)");
        if (metaMinScore != null && (!Float.isFinite(metaMinScore) || metaKeep != samples)) {
            throw new IllegalArgumentException("metaMinScore must be finite and metaKeep equal samples, got " + metaMinScore + " and " + metaKeep);
        }
        if (metaTemperature != null && (!(metaTemperature > 0) || Float.isInfinite(metaTemperature) || metaKeep != samples
                || metaMinScore != null)) {
            throw new IllegalArgumentException("metaTemperature must be finite and > 0, with metaKeep equal samples and no metaMinScore, got "
                    + metaTemperature + ", " + metaKeep + " and " + metaMinScore);
        }
        if (adaptive && (metaKeep < samples || metaMinScore != null || metaTemperature != null)) {
            throw new IllegalArgumentException("adaptive voting cannot be combined with meta filtering");
        }
        degradedReason = degradedReason == null ? "" : degradedReason;
    }

    /** Whether the meta-RM filters or weights samples before the vote: by count, by score, or by weight. */
    public boolean metaFiltering() {
        return metaKeep < samples || metaMinScore != null || metaTemperature != null;
    }

    /** Whether a deadline applies. */
    public boolean hasDeadline() {
        return deadlineNanos != Long.MAX_VALUE;
    }
}
