package dev.principia.backend.tensorrt.javacpp;

import dev.principia.backend.ClassifierBackend;
import dev.principia.backend.fixedkv.FixedKvDevice;
import dev.principia.backend.fixedkv.FixedKvLayout;
import dev.principia.backend.tensorrt.GpuFacts;
import dev.principia.backend.tensorrt.NativeTensorRt;
import dev.principia.backend.tensorrt.PlanCache;
import dev.principia.backend.tensorrt.ProfileShapes;
import org.bytedeco.cuda.cudart.cudaDeviceProp;
import org.bytedeco.javacpp.*;
import org.bytedeco.tensorrt.nvinfer.*;

import java.io.IOException;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Consumer;

import static org.bytedeco.cuda.global.cudart.*;
import static org.bytedeco.tensorrt.global.nvinfer.createInferRuntime;
import static org.bytedeco.tensorrt.global.nvinfer.getInferLibVersion;

/** The {@link NativeTensorRt} over JavaCPP: created reflectively by {@code TensorRtProbe}; its constructor loads the natives. */
public final class TensorRtRuntime implements NativeTensorRt {
    /** Runtimes and their loggers: TensorRT calls a logger, and an engine needs its runtime, for as long as the JVM runs. */
    private static final java.util.List<Object> KEEP_ALIVE = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final GpuFacts facts;

    /** TensorRT's log (info and above) into {@code log}. */
    static final class Logger extends ILogger {
        private final Consumer<String> log;

        Logger(Consumer<String> log) {
            this.log = log;
        }

        @Override
        public void log(Severity severity, String msg) {
            if (severity.value <= Severity.kINFO.value) log.accept("TensorRT " + severity.name().substring(1).toLowerCase(Locale.ROOT) + ": " + msg);
        }
    }

    public TensorRtRuntime() {
        int trt = getInferLibVersion();
        Cuda.check(cudaSetDevice(0), "cudaSetDevice(0)");
        cudaDeviceProp p = new cudaDeviceProp();
        Cuda.check(cudaGetDeviceProperties(p, 0), "cudaGetDeviceProperties");
        int[] rt = {0}, drv = {0};
        Cuda.check(cudaRuntimeGetVersion(rt), "cudaRuntimeGetVersion");
        Cuda.check(cudaDriverGetVersion(drv), "cudaDriverGetVersion");
        facts = new GpuFacts(GpuFacts.tensorRtVersion(trt), p.name().getString().strip(), p.major() + "." + p.minor(), p.totalGlobalMem(),
                GpuFacts.cudaVersion(rt[0]), GpuFacts.cudaVersion(drv[0]));
    }

    @Override
    public GpuFacts facts() {
        return facts;
    }

    @Override
    public void buildPlan(Path onnx, ProfileShapes shapes, Path timingCache, WritableByteChannel out, Consumer<String> log) throws IOException {
        TensorRtBuilder.build(onnx, shapes, timingCache, out, new Logger(log), log);
    }

    @Override
    public FixedKvDevice openDecoder(PlanCache.Entry plan, FixedKvLayout layout, ProfileShapes shapes, int vocabSize, Consumer<String> log)
            throws IOException {
        return new TensorRtDecoder(deserialize(plan, log), layout, shapes, vocabSize);
    }

    @Override
    public ClassifierBackend openClassifier(PlanCache.Entry plan, ProfileShapes shapes, int numLabels, int maxPositions, Consumer<String> log)
            throws IOException {
        return new TensorRtClassifier(deserialize(plan, log), shapes, numLabels, maxPositions);
    }

    /** The plan's payload read into host memory (a plan may pass 2 GiB) and deserialized. */
    static ICudaEngine deserialize(PlanCache.Entry plan, Consumer<String> log) throws IOException {
        Logger logger = new Logger(log);
        IRuntime runtime = createInferRuntime(logger);
        KEEP_ALIVE.add(logger);
        KEEP_ALIVE.add(runtime);
        try (BytePointer host = new BytePointer(plan.payloadBytes())) {
            PlanCache.readPayload(plan, (off, n) -> host.position(off).limit(off + n).asByteBuffer());
            ICudaEngine engine = runtime.deserializeCudaEngine(host.position(0), plan.payloadBytes());
            if (engine == null || engine.isNull()) throw new IOException("TensorRT could not deserialize " + plan.file() + " (see its log)");
            return engine;
        }
    }
}
