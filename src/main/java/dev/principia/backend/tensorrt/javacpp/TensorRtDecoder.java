package dev.principia.backend.tensorrt.javacpp;

import dev.principia.backend.fixedkv.FixedKvDevice;
import dev.principia.backend.fixedkv.FixedKvLayout;
import dev.principia.backend.fixedkv.Run;
import dev.principia.backend.tensorrt.ProfileShapes;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.tensorrt.nvinfer.ICudaEngine;

import java.util.List;

import static dev.principia.model.onnx.OnnxExporter.*;
import static org.bytedeco.cuda.global.cudart.*;

/**
 * The portable decoder graph's plan on one GPU: per layer a key and a value buffer of {@link FixedKvLayout#bufferBytes()}
 * on the device (zeroed), bound at the run's first slot as both {@code past_key_values.{i}.*} and {@code present.{i}.*},
 * so the graph updates the cache in place; ids and positions through pinned host memory; only the last position's
 * logits ({@code [B, 1, vocab]}) come back.
 */
final class TensorRtDecoder implements FixedKvDevice {
    private final PlanContext plan;
    private final FixedKvLayout layout;
    private final ProfileShapes shapes;
    private final int vocabSize, maxTokens;
    private final Pointer[] keys, values;
    private final Pointer ids, positions, logits;

    TensorRtDecoder(ICudaEngine engine, FixedKvLayout layout, ProfileShapes shapes, int vocabSize) {
        if (layout.numSegments() != 1) throw new IllegalArgumentException("a device cache is one segment per buffer, got " + layout.numSegments());
        this.layout = layout;
        this.shapes = shapes;
        this.vocabSize = vocabSize;
        this.maxTokens = shapes.limits().maxTokens();
        this.plan = new PlanContext(engine, Math.max(2L * maxTokens * Long.BYTES, (long) shapes.maxRows() * vocabSize * Float.BYTES));
        keys = new Pointer[layout.numLayers()];
        values = new Pointer[layout.numLayers()];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = Cuda.deviceZeroed(layout.bufferBytes(), plan.stream);
            values[i] = Cuda.deviceZeroed(layout.bufferBytes(), plan.stream);
        }
        ids = Cuda.deviceZeroed((long) maxTokens * Long.BYTES, plan.stream);
        positions = Cuda.deviceZeroed((long) maxTokens * Long.BYTES, plan.stream);
        logits = Cuda.deviceZeroed((long) shapes.maxRows() * vocabSize * Float.BYTES, plan.stream);
        Cuda.check(cudaStreamSynchronize(plan.stream), "zeroing the KV cache");
    }

    @Override
    public String name() {
        return "tensorrt";
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public String kvElementType() {
        return layout.elementBytes() == 2 ? "float16" : "float32";
    }

    @Override
    public float[][] execute(Run run) {
        int b = run.rows(), s = run.tokensPerRow(), n = run.numTokens();
        plan.profile(shapes.profileFor(b, s));
        long[] tokenDims = {b, s}, kvDims = shapes.kvDims(b);
        long offset = layout.slotOffset(run.firstSlot());
        for (int i = 0; i < keys.length; i++) {
            plan.bind(pastKey(i), kvDims, Cuda.at(keys[i], offset));
            plan.bind(presentKey(i), null, Cuda.at(keys[i], offset));
            plan.bind(pastValue(i), kvDims, Cuda.at(values[i], offset));
            plan.bind(presentValue(i), null, Cuda.at(values[i], offset));
        }
        plan.upload(ids, 0, run.inputIds());
        plan.upload(positions, n, run.positionIds());
        plan.bind("input_ids", tokenDims, ids);
        plan.bind("position_ids", tokenDims, positions);
        plan.bind("logits", null, logits);
        return plan.run(b + " rows x " + s + " tokens", logits, b, vocabSize);
    }

    @Override
    public void copy(List<FixedKvLayout.Copy> copies) {
        for (int i = 0; i < keys.length; i++) {
            for (Pointer buf : new Pointer[] {keys[i], values[i]}) {
                for (FixedKvLayout.Copy c : copies) {
                    Cuda.check(cudaMemcpyAsync(Cuda.at(buf, c.dstOffset()), Cuda.at(buf, c.srcOffset()), c.bytes(), cudaMemcpyDeviceToDevice,
                            plan.stream), "copying KV");
                }
            }
        }
        Cuda.check(cudaStreamSynchronize(plan.stream), "the KV copy");
    }

    @Override
    public void close() {
        plan.close();
        for (int i = 0; i < keys.length; i++) {
            cudaFree(keys[i]);
            cudaFree(values[i]);
        }
        cudaFree(ids);
        cudaFree(positions);
        cudaFree(logits);
    }
}
