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
     * @param budget             the resolved budget (k asked)
     * @param minSamples         the request's {@code min_samples}; 0 = k must not be lowered
     * @param priority           the request's priority
     * @param estimatedWaitMillis estimated queue wait now
     * @param inFlightSamples    samples admitted and unfinished now
     */
    public Allocation allocate(SampleBudget budget, int minSamples, int priority, double estimatedWaitMillis, int inFlightSamples) {
        int k = budget.samples();
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
