package dev.principia.budget;

import java.util.Locale;

/**
 * Load-aware sample allocation. When the estimated queue wait exceeds the target, or the samples in
 * flight would pass their cap, k is scaled down for requests that allow it ({@code min_samples} set
 * and below k), never below {@code min_samples}. Higher priority degrades less: the scale factor
 * {@code f} in (0, 1] becomes {@code f^(1/(1+p))} for priority {@code p >= 0} and {@code f^(1-p)} for
 * {@code p < 0}, so under the same load the highest-priority requests are lowered last.
 *
 * @param targetQueueWaitMillis estimated wait above which requests are degraded; 0 = never by wait
 * @param maxInFlightSamples    samples admitted and unfinished above which requests are degraded; 0 = no cap
 */
public record LoadPolicy(long targetQueueWaitMillis, int maxInFlightSamples) {
    public LoadPolicy {
        if (targetQueueWaitMillis < 0) throw new IllegalArgumentException("targetQueueWaitMillis must be >= 0");
        if (maxInFlightSamples < 0) throw new IllegalArgumentException("maxInFlightSamples must be >= 0");
    }

    /**
     * @param k          the samples asked (server default applied)
     * @param minSamples the request's {@code min_samples}; 0 = k must not be lowered
     * @param priority   the request's priority, in {@link BudgetPolicy#MIN_PRIORITY}..{@link BudgetPolicy#MAX_PRIORITY}
     * @param load       the engine's load now
     */
    public Allocation allocate(int k, int minSamples, int priority, LoadSnapshot load) {
        if (k < 1) throw new IllegalArgumentException("k must be >= 1, got " + k);
        if (priority < BudgetPolicy.MIN_PRIORITY || priority > BudgetPolicy.MAX_PRIORITY) {
            throw new IllegalArgumentException("priority out of range: " + priority);
        }
        double estimatedWaitMillis = load.estimatedWaitMillis();
        int inFlightSamples = load.inFlightSamples();
        double factor = 1.0;
        String reason = "";
        if (targetQueueWaitMillis > 0 && estimatedWaitMillis > targetQueueWaitMillis) {
            factor = targetQueueWaitMillis / estimatedWaitMillis;
            reason = String.format(Locale.ROOT, "estimated queue wait %.0f ms exceeds the target of %d ms", estimatedWaitMillis,
                    targetQueueWaitMillis);
        }
        if (maxInFlightSamples > 0 && inFlightSamples + k > maxInFlightSamples) {
            double room = Math.max(0, maxInFlightSamples - inFlightSamples) / (double) k;
            if (room < factor) {
                factor = room;
                reason = inFlightSamples + " samples in flight; the cap is " + maxInFlightSamples;
            }
        }
        if (factor >= 1.0 || minSamples <= 0 || minSamples >= k) {
            return new Allocation(k, false, "");
        }
        double f = priority >= 0 ? Math.pow(factor, 1.0 / (1 + priority)) : Math.pow(factor, 1 - priority);
        int lowered = Math.max(minSamples, (int) Math.floor(k * f));
        if (lowered >= k) return new Allocation(k, false, "");
        return new Allocation(lowered, true, "k lowered from " + k + " to " + lowered + ": " + reason);
    }
}
