package dev.principia.backend.tensorrt;

import dev.principia.backend.ClassifierBackend;
import dev.principia.backend.fixedkv.FixedKvDevice;
import dev.principia.backend.fixedkv.FixedKvLayout;

import java.io.IOException;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * The TensorRT side as the rest of Principia sees it: implemented by {@code backend.tensorrt.javacpp.TensorRtRuntime},
 * the only place that links {@code org.bytedeco}, and reached only reflectively through {@link TensorRtProbe}, so that
 * no class of the server links TensorRT or CUDA unless the probe found a driver and the JNI jars. All of it runs on
 * device 0.
 */
public interface NativeTensorRt {

    /** TensorRT version and the GPU. */
    GpuFacts facts();

    /**
     * Parses {@code onnx} (external data beside it) into a strongly typed network, builds it with {@code shapes}'
     * optimization profiles, reading and updating {@code timingCache}, and writes the serialized plan to {@code out}.
     *
     * @throws IllegalArgumentException when the parser refuses the graph (the message names each failing node)
     */
    void buildPlan(Path onnx, ProfileShapes shapes, Path timingCache, WritableByteChannel out, Consumer<String> log) throws IOException;

    /** A decoder over a portable graph's plan; its KV cache (zeroed) is allocated on the device per {@code layout}. */
    FixedKvDevice openDecoder(PlanCache.Entry plan, FixedKvLayout layout, ProfileShapes shapes, int vocabSize, Consumer<String> log)
            throws IOException;

    /** A classifier over a classifier graph's plan. */
    ClassifierBackend openClassifier(PlanCache.Entry plan, ProfileShapes shapes, int numLabels, int maxPositions, Consumer<String> log)
            throws IOException;
}
