package dev.principia.budget;

/**
 * The compute one request gets, resolved against the server policy.
 *
 * @param samples      k, at least 1
 * @param temperature  0 = greedy
 * @param maxNewTokens per sample
 * @param seed         never 0: the request's seed, or the one drawn for it
 */
public record SampleBudget(int samples, float temperature, int maxNewTokens, long seed) {
    public SampleBudget {
        if (samples < 1) throw new IllegalArgumentException("samples must be >= 1, got " + samples);
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be finite and >= 0, got " + temperature);
        }
        if (maxNewTokens < 1) throw new IllegalArgumentException("maxNewTokens must be >= 1, got " + maxNewTokens);
        if (seed == 0) throw new IllegalArgumentException("seed must be resolved (non-zero)");
    }
}
