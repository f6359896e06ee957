package dev.principia.engine;

/**
 * How one sequence picks its tokens.
 *
 * @param temperature  0 = greedy (argmax); otherwise logits are divided by it before softmax
 * @param topK         keep the k most likely tokens; 0 = all
 * @param topP         keep the smallest set whose probability reaches p; 1 = all
 * @param seed         seeds this sequence's own random stream, so its draws do not depend on what
 *                     else shares the batch
 * @param maxNewTokens generation stops with {@link SequenceStatus#FINISHED_LENGTH} after this many tokens
 * @param stopTokenIds generation stops with {@link SequenceStatus#FINISHED_STOPPED} after one of these
 */
public record SamplingParams(float temperature, int topK, float topP, long seed, int maxNewTokens, int[] stopTokenIds) {
    public SamplingParams {
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be finite and >= 0, got " + temperature);
        }
        if (topK < 0) throw new IllegalArgumentException("topK must be >= 0, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        if (maxNewTokens <= 0) throw new IllegalArgumentException("maxNewTokens must be > 0, got " + maxNewTokens);
        stopTokenIds = stopTokenIds == null ? new int[0] : stopTokenIds.clone();
    }

    public static SamplingParams greedy(int maxNewTokens, int... stopTokenIds) {
        return new SamplingParams(0f, 0, 1f, 0L, maxNewTokens, stopTokenIds);
    }

    public boolean isGreedy() {
        return temperature == 0f;
    }

    boolean isStop(int tokenId) {
        for (int s : stopTokenIds) {
            if (s == tokenId) return true;
        }
        return false;
    }
}
