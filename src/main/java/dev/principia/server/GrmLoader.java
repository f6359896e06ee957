package dev.principia.server;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

import dev.principia.backend.onnx.OnnxBackend;
import dev.principia.engine.EngineConfig;
import dev.principia.model.DType;
import dev.principia.model.ExportCache;
import dev.principia.model.MemoryPlan;
import dev.principia.model.ModelConfig;
import dev.principia.model.ModelDirectory;
import dev.principia.model.WeightLayout;
import dev.principia.model.onnx.OnnxExporter;

/**
 * {@link ModelRuntime}'s loading half for the GRM: resolves the weight precision, plans memory before
 * anything is exported (a model that cannot fit is refused in milliseconds, not after a 10-minute
 * export), exports or finds the graph, and opens the backend with the planned KV pool.
 */
final class GrmLoader {
    /** Precision names, largest first: the order a refusal suggests smaller ones in. */
    static final List<String> PRECISIONS_BY_SIZE = List.of("fp32", "fp16", "bf16", "int8", "int4");
    /** Staging copies of the KV pool one ONNX Runtime call may hold (past and present of a whole decode group). */
    static final int PLAIN_KV_STAGING_COPIES = 2;

    /** The backend, the engine limits sized from the plan, and what GetServerInfo reports. */
    record Loaded(OnnxBackend backend, EngineConfig engineConfig, PlannedMemory memory, LoadedModel.Serving serving) {
    }

    private GrmLoader() {
    }

    static Loaded load(ModelDirectory model, PrincipiaConfig config, Consumer<String> log) throws IOException {
        ModelConfig c = model.config();
        PrincipiaConfig.Engine ec = config.engine();
        int maxModelLen = Math.min(ec.maxModelLen(), c.maxPositionEmbeddings());
        String precision = precision(config.backend().weights(), WeightLayout.numParameters(c), log);
        OnnxExporter.Options options = ExportCache.SERVING.withDtype(precision.equals("fp16") ? DType.F16 : DType.F32);
        Path preExported = preExported(model);
        Map<String, Long> sizes = new LinkedHashMap<>();
        for (String p : PRECISIONS_BY_SIZE) sizes.put(p, weightBytes(c, p));
        if (preExported != null && !model.embeddedDefault()) {
            precision = "pre-exported";
            sizes.put(precision, graphBytes(preExported));
        }
        MachineMemory memory = MachineMemory.detect(ec.memoryLimitBytes());
        long maxHeap = Runtime.getRuntime().maxMemory();
        int kvElementBytes = options.dtype() == DType.F16 ? 2 : 4;
        MemoryPlan plan = MemoryPlan.of(new MemoryPlan.Inputs(c, precision, sizes, kvElementBytes, ec.maxNumSeqs(), ec.maxNumBatchedTokens(),
                maxModelLen, ec.kvCacheBytes(), memory.bytes(), memory.source(), maxHeap, PLAIN_KV_STAGING_COPIES), PRECISIONS_BY_SIZE);
        long direct = maxDirectMemory(maxHeap);
        if (plan.kvCacheBytes() * (1 + PLAIN_KV_STAGING_COPIES) > direct) {
            long kv = direct / (1 + PLAIN_KV_STAGING_COPIES) / plan.kvBytesPerToken() * plan.kvBytesPerToken();
            if (ec.kvCacheBytes() > 0 || kv < plan.kvBytesPerToken() * maxModelLen) {
                throw new MemoryPlan.DoesNotFitException(String.format(Locale.ROOT,
                        "the KV cache (%s, charged %d times for per-call staging) is held in direct memory, and the JVM allows %s of it: "
                                + "raise -XX:MaxDirectMemorySize (or -Xmx, which it defaults to)%s",
                        MemoryPlan.gb(plan.kvCacheBytes()), 1 + PLAIN_KV_STAGING_COPIES, MemoryPlan.gb(direct),
                        ec.kvCacheBytes() > 0 ? " or lower principia.engine.kv-cache-bytes" : ""));
            }
            log.accept(String.format(Locale.ROOT, "KV pool capped at %s by the JVM's direct memory limit of %s (-XX:MaxDirectMemorySize)",
                    MemoryPlan.gb(kv), MemoryPlan.gb(direct)));
            plan = new MemoryPlan(plan.availableBytes(), plan.availableSource(), plan.reservedBytes(), plan.weightBytes(),
                    plan.activationBytes(), kv, plan.kvBytesPerToken(), plan.kvStagingCopies());
        }
        log.accept(String.format(Locale.ROOT, "memory plan: %s available (%s); %s reserved (JVM heap %s + runtimes), weights %s (%s), "
                        + "activations %s, KV pool %s = %d tokens at %d bytes per token (+%d staging copies)",
                MemoryPlan.gb(plan.availableBytes()), plan.availableSource(), MemoryPlan.gb(plan.reservedBytes()), MemoryPlan.gb(maxHeap),
                MemoryPlan.gb(plan.weightBytes()), precision, MemoryPlan.gb(plan.activationBytes()), MemoryPlan.gb(plan.kvCacheBytes()),
                plan.kvCacheTokens(), plan.kvBytesPerToken(), plan.kvStagingCopies()));
        ExportCache.Export export = ExportCache.ensure(model, config.model().cacheDir(), options, log);
        OnnxBackend backend = new OnnxBackend(export.onnx(), c, new OnnxBackend.Options(config.backend().intraOpThreads(), ec.maxNumSeqs(),
                maxModelLen, config.backend().allowSpinning()));
        int kvTokens = (int) Math.min(Integer.MAX_VALUE, plan.kvCacheTokens());
        EngineConfig engineConfig = new EngineConfig(ec.maxNumSeqs(), ec.maxNumBatchedTokens(), kvTokens, ec.maxPendingRequests(), ec.maxModelLen());
        PlannedMemory planned = new PlannedMemory(plan.availableBytes(), plan.availableSource(), plan.reservedBytes(), plan.weightBytes(),
                plan.activationBytes(), plan.kvCacheBytes(), plan.kvBytesPerToken());
        LoadedModel.Serving serving = new LoadedModel.Serving(precision, graphBytes(export.onnx()), plan.kvCacheBytes(),
                kvElementBytes == 2 ? "fp16" : "fp32", backend.attention());
        return new Loaded(backend, engineConfig, planned, serving);
    }

    /** {@code principia.backend.weights} resolved: auto = int8 above 1 B parameters on CPU, else fp32. */
    static String precision(String configured, long numParameters, Consumer<String> log) {
        String p = configured.trim().toLowerCase(Locale.ROOT);
        if (p.equals("auto")) {
            String chosen = numParameters > 1_000_000_000L ? "int8" : "fp32";
            log.accept(String.format(Locale.ROOT, "weights: auto chose %s for %.2f B parameters on CPU (int8 above 1 B)", chosen, numParameters / 1e9));
            p = chosen;
        }
        if (!PRECISIONS_BY_SIZE.contains(p)) {
            throw new IllegalArgumentException("principia.backend.weights=" + configured + " is not one of auto, " + String.join(", ", PRECISIONS_BY_SIZE));
        }
        if (!p.equals("fp32") && !p.equals("fp16")) {
            throw new IllegalArgumentException("principia.backend.weights=" + p + " is not served yet; use fp32 or fp16");
        }
        return p;
    }

    static long weightBytes(ModelConfig c, String precision) {
        long params = WeightLayout.numParameters(c);
        return switch (precision) {
            case "fp32" -> 4 * params;
            case "fp16", "bf16" -> 2 * params;
            case "int8" -> params + params / 8;
            case "int4" -> params / 2 + params / 8;
            default -> throw new IllegalArgumentException(precision);
        };
    }

    private static Path preExported(ModelDirectory model) {
        for (String candidate : ExportCache.PRE_EXPORTED) {
            Path inside = model.dir().resolve(candidate);
            if (Files.isRegularFile(inside)) return inside;
        }
        return null;
    }

    /** Bytes of a graph file and its external data files beside it. */
    static long graphBytes(Path onnx) throws IOException {
        long n = Files.size(onnx);
        try (var siblings = Files.list(onnx.getParent())) {
            for (Path p : siblings.toList()) {
                String f = p.getFileName().toString();
                if (!p.equals(onnx) && (f.endsWith(".data") || f.endsWith(".onnx_data"))) n += Files.size(p);
            }
        }
        return n;
    }

    /** The JVM's direct memory limit: -XX:MaxDirectMemorySize, or the maximum heap when unset (HotSpot's default). */
    static long maxDirectMemory(long maxHeap) {
        try {
            var bean = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            long v = Long.parseLong(bean.getVMOption("MaxDirectMemorySize").getValue());
            return v > 0 ? v : maxHeap;
        } catch (RuntimeException e) {
            return maxHeap;
        }
    }
}
