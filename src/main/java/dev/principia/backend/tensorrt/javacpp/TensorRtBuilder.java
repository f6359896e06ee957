package dev.principia.backend.tensorrt.javacpp;

import dev.principia.backend.tensorrt.PlanCache;
import dev.principia.backend.tensorrt.ProfileShapes;
import org.bytedeco.javacpp.*;
import org.bytedeco.tensorrt.nvinfer.*;
import org.bytedeco.tensorrt.nvonnxparser.*;

import java.io.IOException;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.function.Consumer;

import static org.bytedeco.tensorrt.global.nvinfer.NetworkDefinitionCreationFlag.kSTRONGLY_TYPED;
import static org.bytedeco.tensorrt.global.nvinfer.OptProfileSelector.*;
import static org.bytedeco.tensorrt.global.nvinfer.createInferBuilder;
import static org.bytedeco.tensorrt.global.nvonnxparser.createParser;

/**
 * ONNX file to serialized plan: nvonnxparser into a strongly typed network (TensorRT 11 takes precisions from the
 * graph), one optimization profile per {@link ProfileShapes} profile, the timing cache read before and written after.
 * The preset's {@code IProgressMonitor} cannot be subclassed from Java (no allocator), so progress is TensorRT's own
 * info log plus the phases timed here.
 */
final class TensorRtBuilder {
    private TensorRtBuilder() {
    }

    @SuppressWarnings("deprecation") // kSTRONGLY_TYPED: TensorRT 11 types every network strongly and deprecates the flag; it states the intent
    static void build(Path onnx, ProfileShapes shapes, Path timingCache, WritableByteChannel out, TensorRtRuntime.Logger logger, Consumer<String> log)
            throws IOException {
        long t0 = System.nanoTime();
        IBuilder builder = createInferBuilder(logger);
        INetworkDefinition network = builder.createNetworkV2(1 << kSTRONGLY_TYPED.value);
        IParser parser = createParser(network, logger);
        if (!parser.parseFromFile(onnx.toString(), org.bytedeco.tensorrt.nvinfer.ILogger.Severity.kWARNING.value)) {
            StringBuilder why = new StringBuilder();
            for (int i = 0; i < parser.getNbErrors(); i++) {
                IParserError e = parser.getError(i);
                why.append(String.format(Locale.ROOT, "%n  node %d (%s, %s): %s", e.node(), e.nodeName(), e.nodeOperator(), e.desc()));
            }
            throw new IllegalArgumentException(onnx + ": TensorRT's ONNX parser refused the graph:" + why);
        }
        log.accept(String.format(Locale.ROOT, "TensorRT parsed %s: %d layers, %d inputs, %d outputs in %.1f s", onnx.getFileName(),
                network.getNbLayers(), network.getNbInputs(), network.getNbOutputs(), seconds(t0)));
        IBuilderConfig config = builder.createBuilderConfig();
        for (int p = 0; p < shapes.profiles().size(); p++) {
            IOptimizationProfile profile = builder.createOptimizationProfile();
            for (ProfileShapes.TensorShape t : shapes.tensors(p)) {
                Cuda.check(profile.setDimensions(t.name(), kMIN, Cuda.dims(t.min())) && profile.setDimensions(t.name(), kOPT, Cuda.dims(t.opt()))
                        && profile.setDimensions(t.name(), kMAX, Cuda.dims(t.max())), "profile " + p + " dimensions of " + t.name());
            }
            Cuda.check(config.addOptimizationProfile(profile) >= 0, "adding optimization profile " + p);
        }
        byte[] cached = Files.isRegularFile(timingCache) ? Files.readAllBytes(timingCache) : new byte[0];
        ITimingCache cache = config.createTimingCache(new BytePointer(cached), cached.length);
        Cuda.check(config.setTimingCache(cache, false), "setTimingCache");
        log.accept(String.format(Locale.ROOT, "TensorRT building %d optimization profiles (timing cache %s: %d bytes); this takes minutes",
                shapes.profiles().size(), timingCache, cached.length));
        long t1 = System.nanoTime();
        IHostMemory plan = builder.buildSerializedNetwork(network, config);
        if (plan == null || plan.isNull()) throw new IllegalStateException("TensorRT could not build " + onnx + " (its log above says why)");
        log.accept(String.format(Locale.ROOT, "TensorRT built the plan in %.1f s: %.2f GB", seconds(t1), plan.size() / 1e9));
        IHostMemory timing = config.getTimingCache().serialize();
        Path tmp = timingCache.resolveSibling(timingCache.getFileName() + ".tmp");
        Files.write(tmp, bytes(timing));
        Files.move(tmp, timingCache, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        BytePointer data = new BytePointer(plan.data()).capacity(plan.size());
        PlanCache.writeAll(out, plan.size(), (off, n) -> data.position(off).limit(off + n).asByteBuffer());
        java.lang.ref.Reference.reachabilityFence(logger);
        java.lang.ref.Reference.reachabilityFence(parser);
    }

    private static byte[] bytes(IHostMemory m) {
        byte[] b = new byte[(int) m.size()];
        new BytePointer(m.data()).capacity(m.size()).get(b);
        return b;
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }
}
