package dev.principia.backend;

/** Logits of the last fed position of each batch entry, in batch order: {@code logits[i].length == vocabSize}. */
public record BatchResult(float[][] logits) {
    public BatchResult {
        if (logits == null) throw new IllegalArgumentException("logits must not be null");
    }
}
