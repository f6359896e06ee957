package dev.principia.budget;

import java.util.concurrent.ThreadLocalRandom;

/**
 * The server's sample-budget policy: defaults and caps. Turns a {@link RequestedBudget} into a
 * {@link SampleBudget}, or explains which field is out of bounds.
 *
 * @param defaultSamples      k when the request says 0
 * @param maxSamples          highest k a request may ask for
 * @param defaultMaxNewTokens tokens per sample when the request says 0
 * @param maxNewTokensCap     highest max_new_tokens a request may ask for
 * @param samplingTemperature temperature when k > 1 and the request leaves it unset (the paper's 0.5)
 */
public record BudgetPolicy(int defaultSamples, int maxSamples, int defaultMaxNewTokens, int maxNewTokensCap,
                           float samplingTemperature) {
    public static final float MAX_TEMPERATURE = 10f;

    public BudgetPolicy {
        if (maxSamples < 1) throw new IllegalArgumentException("maxSamples must be >= 1, got " + maxSamples);
        if (defaultSamples < 1 || defaultSamples > maxSamples) {
            throw new IllegalArgumentException("defaultSamples must be in 1.." + maxSamples + ", got " + defaultSamples);
        }
        if (maxNewTokensCap < 1) throw new IllegalArgumentException("maxNewTokensCap must be >= 1, got " + maxNewTokensCap);
        if (defaultMaxNewTokens < 1 || defaultMaxNewTokens > maxNewTokensCap) {
            throw new IllegalArgumentException("defaultMaxNewTokens must be in 1.." + maxNewTokensCap + ", got " + defaultMaxNewTokens);
        }
        if (!(samplingTemperature >= 0 && samplingTemperature <= MAX_TEMPERATURE)) {
            throw new IllegalArgumentException("samplingTemperature must be in 0.." + MAX_TEMPERATURE + ", got " + samplingTemperature);
        }
    }

    /**
     * @param minNewTokens fewest tokens a sample needs (room for the score block); a smaller
     *                     explicit max_new_tokens is refused
     * @throws InvalidBudgetException naming the field, e.g. {@code budget.samples}
     */
    public SampleBudget resolve(RequestedBudget requested, int minNewTokens) {
        int k = requested.samples();
        if (k < 0) throw new InvalidBudgetException("budget.samples", "must be >= 0 (0 = server default " + defaultSamples + "), got " + k);
        if (k > maxSamples) throw new InvalidBudgetException("budget.samples", k + " exceeds the server cap of " + maxSamples);
        if (k == 0) k = defaultSamples;
        if (requested.minSamples() < 0) throw new InvalidBudgetException("budget.min_samples", "must be >= 0, got " + requested.minSamples());
        if (requested.minSamples() > k) {
            throw new InvalidBudgetException("budget.min_samples", requested.minSamples() + " exceeds budget.samples (" + k + ")");
        }
        if (requested.metaKeep() < 0) throw new InvalidBudgetException("budget.meta_keep", "must be >= 0, got " + requested.metaKeep());
        if (requested.metaKeep() > k) {
            throw new InvalidBudgetException("budget.meta_keep", requested.metaKeep() + " exceeds budget.samples (" + k + ")");
        }
        if (requested.deadlineMillis() < 0) {
            throw new InvalidBudgetException("budget.deadline_ms", "must be >= 0 (0 = none), got " + requested.deadlineMillis());
        }
        float temperature;
        Float t = requested.temperature();
        if (t == null) {
            temperature = k > 1 ? samplingTemperature : 0f;
        } else if (t.isNaN() || t < 0 || t > MAX_TEMPERATURE) {
            throw new InvalidBudgetException("budget.temperature", "must be in 0.." + MAX_TEMPERATURE + " (0 = greedy), got " + t);
        } else {
            temperature = t;
        }
        int maxNew;
        if (requested.maxNewTokens() == null) {
            maxNew = Math.max(defaultMaxNewTokens, Math.min(minNewTokens, maxNewTokensCap));
        } else {
            maxNew = requested.maxNewTokens();
            if (maxNew < 1) throw new InvalidBudgetException("budget.max_new_tokens", "must be >= 1 (leave unset for the server default), got " + maxNew);
            if (maxNew > maxNewTokensCap) {
                throw new InvalidBudgetException("budget.max_new_tokens", maxNew + " exceeds the server cap of " + maxNewTokensCap);
            }
        }
        if (maxNew < minNewTokens) {
            throw new InvalidBudgetException("budget.max_new_tokens", maxNew + " leaves no room for the score block; this request needs at least "
                    + minNewTokens);
        }
        return new SampleBudget(k, temperature, maxNew, seedOrRandom(requested.seed()));
    }

    /** The request's seed, or a random non-zero one when it is 0 ("draw one"). */
    public static long seedOrRandom(long seed) {
        while (seed == 0) seed = ThreadLocalRandom.current().nextLong();
        return seed;
    }
}
