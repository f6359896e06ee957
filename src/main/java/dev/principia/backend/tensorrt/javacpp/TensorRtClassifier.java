package dev.principia.backend.tensorrt.javacpp;

import dev.principia.backend.ClassifierBackend;
import dev.principia.backend.tensorrt.ProfileShapes;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.tensorrt.nvinfer.ICudaEngine;

import java.util.List;

import static org.bytedeco.cuda.global.cudart.cudaFree;

/**
 * A classifier graph's plan ({@code input_ids}, {@code attention_mask} {@code [B, S]} to {@code logits}
 * {@code [B, numLabels]}): sequences grouped by {@link ProfileShapes#groups}, right-padded with id 0 (masked), one call
 * per group. One caller at a time (synchronized).
 */
final class TensorRtClassifier implements ClassifierBackend {
    private final PlanContext plan;
    private final ProfileShapes shapes;
    private final int numLabels, maxPositions;
    private final long maxTokens;
    private final Pointer ids, mask, logits;

    TensorRtClassifier(ICudaEngine engine, ProfileShapes shapes, int numLabels, int maxPositions) {
        this.shapes = shapes;
        this.numLabels = numLabels;
        this.maxPositions = maxPositions;
        this.maxTokens = Math.max(shapes.limits().maxTokens(), maxPositions);
        this.plan = new PlanContext(engine, Math.max(2 * maxTokens * Long.BYTES, (long) shapes.maxRows() * numLabels * Float.BYTES));
        ids = Cuda.deviceZeroed(maxTokens * Long.BYTES, plan.stream);
        mask = Cuda.deviceZeroed(maxTokens * Long.BYTES, plan.stream);
        logits = Cuda.deviceZeroed((long) shapes.maxRows() * numLabels * Float.BYTES, plan.stream);
    }

    @Override
    public synchronized float[][] logits(List<int[]> sequences) {
        float[][] out = new float[sequences.size()][];
        for (ProfileShapes.Group g : shapes.groups(sequences.stream().mapToInt(s -> s.length).toArray())) {
            int b = g.count(), s = g.seqLen(), n = b * s;
            plan.profile(g.profile());
            plan.upload(ids, 0, ProfileShapes.padded(sequences, g, false));
            plan.upload(mask, n, ProfileShapes.padded(sequences, g, true));
            plan.bind("input_ids", new long[] {b, s}, ids);
            plan.bind("attention_mask", new long[] {b, s}, mask);
            plan.bind("logits", null, logits);
            float[][] rows = plan.run(b + " sequences x " + s + " tokens", logits, b, numLabels);
            System.arraycopy(rows, 0, out, g.from(), b);
        }
        return out;
    }

    @Override
    public int numLabels() {
        return numLabels;
    }

    @Override
    public int maxPositions() {
        return maxPositions;
    }

    @Override
    public String name() {
        return "tensorrt";
    }

    @Override
    public synchronized void close() {
        plan.close();
        cudaFree(ids);
        cudaFree(mask);
        cudaFree(logits);
    }
}
