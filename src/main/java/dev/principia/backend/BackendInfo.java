package dev.principia.backend;

/**
 * Shape of a loaded decoder model and of the KV cache its backend holds.
 *
 * @param name            backend name, e.g. {@code onnxruntime-cpu}
 * @param vocabSize       number of logits per position
 * @param numLayers       decoder layers
 * @param numKvHeads      key/value heads per layer
 * @param headDim         size of one attention head
 * @param maxPositions    longest sequence (prompt + generated) the model accepts
 * @param maxSlots        number of KV slots the backend can address
 * @param kvElementType   element type of the KV cache: {@code float32}, {@code float16} or {@code bfloat16}
 * @param kvCacheBytes    bytes of KV storage the backend holds (or may grow to)
 * @param kvBytesPerToken bytes one token occupies across all layers (keys and values)
 * @param kvCacheTokens   tokens across all slots that always fit: an engine whose KV accounting stays within
 *                        it never exhausts the backend (it may be below {@code kvCacheBytes / kvBytesPerToken}
 *                        when storage is rounded per slot, e.g. to blocks)
 */
public record BackendInfo(String name, int vocabSize, int numLayers, int numKvHeads, int headDim,
                          int maxPositions, int maxSlots, String kvElementType, long kvCacheBytes, long kvBytesPerToken,
                          long kvCacheTokens) {
    public BackendInfo {
        if (vocabSize <= 0 || numLayers <= 0 || numKvHeads <= 0 || headDim <= 0 || maxPositions <= 0 || maxSlots <= 0) {
            throw new IllegalArgumentException("backend shape must be positive: " + vocabSize + "/" + numLayers + "/"
                    + numKvHeads + "/" + headDim + "/" + maxPositions + "/" + maxSlots);
        }
        if (kvElementType == null || kvElementType.isBlank()) throw new IllegalArgumentException("kvElementType must be named");
        if (kvBytesPerToken <= 0) throw new IllegalArgumentException("kvBytesPerToken must be > 0, got " + kvBytesPerToken);
        if (kvCacheTokens <= 0) throw new IllegalArgumentException("kvCacheTokens must be > 0, got " + kvCacheTokens);
        if (kvCacheBytes < kvCacheTokens * kvBytesPerToken) {
            throw new IllegalArgumentException("kvCacheBytes " + kvCacheBytes + " cannot hold kvCacheTokens " + kvCacheTokens
                    + " of " + kvBytesPerToken + " bytes");
        }
    }

    /** A float32 KV cache that holds every slot at {@code maxPositions}. */
    public BackendInfo(String name, int vocabSize, int numLayers, int numKvHeads, int headDim, int maxPositions, int maxSlots) {
        this(name, vocabSize, numLayers, numKvHeads, headDim, maxPositions, maxSlots, "float32",
                (long) maxSlots * maxPositions * 2L * numLayers * numKvHeads * headDim * Float.BYTES,
                2L * numLayers * numKvHeads * headDim * Float.BYTES, (long) maxSlots * maxPositions);
    }
}
