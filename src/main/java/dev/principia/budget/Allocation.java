package dev.principia.budget;

/**
 * The samples a request actually gets after load-aware degradation.
 *
 * @param samples  k to run, between the request's {@code min_samples} and its asked k
 * @param degraded whether k was lowered
 * @param reason   why, for the response and logs; empty when not degraded
 */
public record Allocation(int samples, boolean degraded, String reason) {
    public Allocation {
        if (samples < 1) throw new IllegalArgumentException("samples must be >= 1, got " + samples);
        reason = reason == null ? "" : reason;
    }
}
