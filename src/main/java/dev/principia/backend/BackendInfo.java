package dev.principia.backend;

/**
 * Shape of a loaded decoder model.
 *
 * @param name           backend name, e.g. {@code onnxruntime-cpu}
 * @param vocabSize      number of logits per position
 * @param numLayers      decoder layers
 * @param numKvHeads     key/value heads per layer
 * @param headDim        size of one attention head
 * @param maxPositions   longest sequence (prompt + generated) the model accepts
 * @param maxSlots       number of KV slots the backend can address
 */
public record BackendInfo(String name, int vocabSize, int numLayers, int numKvHeads, int headDim,
                          int maxPositions, int maxSlots) {
    public BackendInfo {
        if (vocabSize <= 0 || numLayers <= 0 || numKvHeads <= 0 || headDim <= 0 || maxPositions <= 0 || maxSlots <= 0) {
            throw new IllegalArgumentException("backend shape must be positive: " + vocabSize + "/" + numLayers + "/"
                    + numKvHeads + "/" + headDim + "/" + maxPositions + "/" + maxSlots);
        }
    }

    /** Bytes of fp32 KV cache one token occupies across all layers (keys and values). */
    public long kvBytesPerToken() {
        return 2L * numLayers * numKvHeads * headDim * Float.BYTES;
    }
}
