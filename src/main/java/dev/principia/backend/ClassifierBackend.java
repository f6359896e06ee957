package dev.principia.backend;

import java.util.List;

/**
 * A sequence-classification model (meta reward model, Bradley-Terry reward model): scores whole
 * token sequences in one prefill, keeping no KV. Same threading rule as {@link Backend}: one caller
 * at a time (the scalar engine's loop).
 */
public interface ClassifierBackend extends AutoCloseable {

    /** One row of {@code numLabels()} logits per sequence, in order. */
    float[][] logits(List<int[]> sequences);

    int numLabels();

    /** Longest sequence accepted, in tokens. */
    int maxPositions();

    /** e.g. {@code onnxruntime-cpu}. */
    String name();

    @Override
    void close();
}
