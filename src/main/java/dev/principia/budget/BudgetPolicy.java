package dev.principia.budget;

import java.util.concurrent.ThreadLocalRandom;

/**
 * The server's sample-budget policy: defaults, caps, meta-RM filtering defaults and load-aware
 * degradation. Turns a {@link RequestedBudget} into the one {@link ResolvedBudget} downstream code
 * reads, or explains which field is out of bounds.
 *
 * @param defaultSamples      k when the request says 0
 * @param maxSamples          highest k a request may ask for
 * @param defaultMaxNewTokens tokens per sample when the request says 0
 * @param maxNewTokensCap     highest max_new_tokens a request may ask for
 * @param samplingTemperature temperature when k > 1 and the request leaves it unset (the paper's 0.5)
 * @param loadPolicy          load-aware degradation
 * @param metaRmLoaded        whether a meta reward model filters samples (k_meta defaults to ceil(k/2))
 * @param defaultMetaTemperature the meta temperature of a request that sets none of meta_keep, meta_min_score and
 *                            meta_temperature; 0 = such a request keeps the top half (k_meta = ceil(k/2))
 */
public record BudgetPolicy(int defaultSamples, int maxSamples, int defaultMaxNewTokens, int maxNewTokensCap,
                           float samplingTemperature, LoadPolicy loadPolicy, boolean metaRmLoaded, float defaultMetaTemperature) {
    public static final float MAX_TEMPERATURE = 10f;
    /** Priorities are bounded so that ordering and the load policy's scaling stay well defined. */
    public static final int MIN_PRIORITY = -100;
    public static final int MAX_PRIORITY = 100;

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
        if (loadPolicy == null) throw new IllegalArgumentException("loadPolicy must be set");
        if (!(defaultMetaTemperature >= 0) || Float.isInfinite(defaultMetaTemperature)) {
            throw new IllegalArgumentException("defaultMetaTemperature must be finite and >= 0, got " + defaultMetaTemperature);
        }
        if (defaultMetaTemperature > 0 && !metaRmLoaded) {
            throw new IllegalArgumentException("a default meta temperature needs a meta-RM");
        }
    }

    /** A policy whose meta-RM, when loaded, keeps the top half by default. */
    public BudgetPolicy(int defaultSamples, int maxSamples, int defaultMaxNewTokens, int maxNewTokensCap, float samplingTemperature,
                        LoadPolicy loadPolicy, boolean metaRmLoaded) {
        this(defaultSamples, maxSamples, defaultMaxNewTokens, maxNewTokensCap, samplingTemperature, loadPolicy, metaRmLoaded, 0f);
    }

    /**
     * @throws InvalidBudgetException naming the field, e.g. {@code budget.samples}
     */
    public ResolvedBudget resolve(RequestedBudget requested, BudgetContext context, LoadSnapshot load) {
        int asked = requested.samples();
        if (asked < 0) throw new InvalidBudgetException("budget.samples", "must be >= 0 (0 = server default " + defaultSamples + "), got " + asked);
        if (asked > maxSamples) throw new InvalidBudgetException("budget.samples", asked + " exceeds the server cap of " + maxSamples);
        if (asked == 0) asked = defaultSamples;
        int minSamples = requested.minSamples();
        if (minSamples < 0) throw new InvalidBudgetException("budget.min_samples", "must be >= 0, got " + minSamples);
        if (minSamples > asked) throw new InvalidBudgetException("budget.min_samples", minSamples + " exceeds budget.samples (" + asked + ")");
        int metaKeepAsked = requested.metaKeep();
        if (metaKeepAsked < 0) throw new InvalidBudgetException("budget.meta_keep", "must be >= 0, got " + metaKeepAsked);
        if (metaKeepAsked > asked) throw new InvalidBudgetException("budget.meta_keep", metaKeepAsked + " exceeds budget.samples (" + asked + ")");
        if (metaKeepAsked > 0 && !metaRmLoaded) {
            throw new InvalidBudgetException("budget.meta_keep", "no meta reward model is loaded on this server (principia.meta-rm.dir)");
        }
        Float minScore = requested.metaMinScore();
        if (minScore != null) {
            if (!Float.isFinite(minScore)) throw new InvalidBudgetException("budget.meta_min_score", "must be finite, got " + minScore);
            if (metaKeepAsked > 0) {
                throw new InvalidBudgetException("budget.meta_min_score", "filters by score, budget.meta_keep by count: set one of them, not both");
            }
            if (!metaRmLoaded) {
                throw new InvalidBudgetException("budget.meta_min_score", "no meta reward model is loaded on this server (principia.meta-rm.dir)");
            }
        }
        Float metaTemperature = requested.metaTemperature();
        if (metaTemperature != null) {
            if (!(metaTemperature > 0) || Float.isInfinite(metaTemperature)) {
                throw new InvalidBudgetException("budget.meta_temperature", "must be finite and > 0, got " + metaTemperature);
            }
            if (metaKeepAsked > 0) {
                throw new InvalidBudgetException("budget.meta_temperature", "weights every sample, budget.meta_keep keeps some: set one of them, not both");
            }
            if (minScore != null) {
                throw new InvalidBudgetException("budget.meta_temperature", "weights every sample, budget.meta_min_score keeps some: set one of them, not both");
            }
            if (!metaRmLoaded) {
                throw new InvalidBudgetException("budget.meta_temperature", "no meta reward model is loaded on this server (principia.meta-rm.dir)");
            }
        }
        if (requested.deadlineMillis() < 0) {
            throw new InvalidBudgetException("budget.deadline_ms", "must be >= 0 (0 = none), got " + requested.deadlineMillis());
        }
        Float t = requested.temperature();
        if (t != null && (t.isNaN() || t < 0 || t > MAX_TEMPERATURE)) {
            throw new InvalidBudgetException("budget.temperature", "must be in 0.." + MAX_TEMPERATURE + " (0 = greedy), got " + t);
        }
        int maxNew = maxNewTokens(requested.maxNewTokens(), context.minNewTokens());

        Allocation allocation = loadPolicy.allocate(asked, minSamples, context.priority(), load);
        int k = allocation.samples();
        float temperature = t != null ? t : k > 1 ? samplingTemperature : 0f;
        if (metaRmLoaded && metaKeepAsked == 0 && minScore == null && metaTemperature == null && defaultMetaTemperature > 0) {
            metaTemperature = defaultMetaTemperature; // the meta-RM's default vote (principia.meta-rm.temperature)
        }
        boolean byScore = minScore != null || metaTemperature != null;
        int metaKeep = !metaRmLoaded || byScore ? k : metaKeepAsked > 0 ? Math.min(metaKeepAsked, k) : defaultMetaKeep(k);
        boolean adaptive = requested.adaptive() && metaKeep >= k && !byScore && k > 1 && context.numResponses() > 1;
        long deadline = context.callDeadlineNanos();
        if (requested.deadlineMillis() > 0) deadline = Math.min(deadline, context.arrivalNanos() + requested.deadlineMillis() * 1_000_000L);
        return new ResolvedBudget(asked, k, minSamples, metaKeep, temperature, maxNew, seedOrRandom(requested.seed()), adaptive, deadline,
                allocation.degraded(), allocation.reason(), minScore, metaTemperature);
    }

    private int maxNewTokens(Integer requested, int minNewTokens) {
        int maxNew;
        if (requested == null) {
            maxNew = Math.max(defaultMaxNewTokens, Math.min(minNewTokens, maxNewTokensCap));
        } else {
            maxNew = requested;
            if (maxNew < 1) throw new InvalidBudgetException("budget.max_new_tokens", "must be >= 1 (leave unset for the server default), got " + maxNew);
            if (maxNew > maxNewTokensCap) {
                throw new InvalidBudgetException("budget.max_new_tokens", maxNew + " exceeds the server cap of " + maxNewTokensCap);
            }
        }
        if (maxNew < minNewTokens) {
            throw new InvalidBudgetException("budget.max_new_tokens", maxNew + " leaves no room for the score block; this request needs at least "
                    + minNewTokens);
        }
        return maxNew;
    }

    /** The paper's default k_meta: half the samples, rounded up. */
    public static int defaultMetaKeep(int numSamples) {
        return (numSamples + 1) / 2;
    }

    /** The request's seed, or a random non-zero one when it is 0 ("draw one"). */
    public static long seedOrRandom(long seed) {
        while (seed == 0) seed = ThreadLocalRandom.current().nextLong();
        return seed;
    }
}
