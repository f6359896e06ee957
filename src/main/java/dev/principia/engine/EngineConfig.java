package dev.principia.engine;

/**
 * Engine limits, in the units their names carry.
 *
 * @param maxNumSeqs            sequences running (holding KV) at once
 * @param maxNumBatchedTokens   tokens fed to the backend in one step (bounds prefill chunks)
 * @param kvCacheTokens         KV pool size in tokens, across all slots
 * @param maxNumWaitingRequests requests admitted but not finished; beyond it {@code submit} refuses
 * @param maxModelLen           longest sequence (prompt + generated) in tokens
 */
public record EngineConfig(int maxNumSeqs, int maxNumBatchedTokens, int kvCacheTokens, int maxNumWaitingRequests,
                           int maxModelLen) {
    public EngineConfig {
        require(maxNumSeqs > 0, "maxNumSeqs must be > 0, got " + maxNumSeqs);
        require(maxNumBatchedTokens > 0, "maxNumBatchedTokens must be > 0, got " + maxNumBatchedTokens);
        require(kvCacheTokens > 0, "kvCacheTokens must be > 0, got " + kvCacheTokens);
        require(maxNumWaitingRequests > 0, "maxNumWaitingRequests must be > 0, got " + maxNumWaitingRequests);
        require(maxModelLen > 1, "maxModelLen must be > 1, got " + maxModelLen);
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }
}
