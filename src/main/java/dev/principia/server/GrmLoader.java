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

import dev.principia.backend.Backend;
import dev.principia.backend.onnx.OnnxBackend;
import dev.principia.engine.EngineConfig;
import dev.principia.model.DType;
import dev.principia.model.ExportCache;
import dev.principia.model.MemoryPlan;
import dev.principia.model.ModelConfig;
import dev.principia.model.ModelDirectory;
import dev.principia.model.WeightLayout;
import dev.principia.model.WeightPrecision;
import dev.principia.model.onnx.OnnxExporter;

/**
 * {@link ModelRuntime}'s loading half for the GRM: resolves the weight precision, plans memory before
 * anything is exported (a model that cannot fit is refused in milliseconds, not after a 10-minute
 * export), exports or finds the graph, and opens the backend with the planned KV pool.
 */
final class GrmLoader {
    /** Precision names, largest first: the order a refusal suggests smaller ones in. */
    static final List<String> PRECISIONS_BY_SIZE = java.util.Arrays.stream(WeightPrecision.values()).map(WeightPrecision::configName).toList();
    /** Staging copies of the KV pool one ONNX Runtime call may hold (past and present of a whole decode group). */
    static final int PLAIN_KV_STAGING_COPIES = 2;
    /** GroupQueryAttention reads and writes one buffer in place: one staging copy. */
    static final int GQA_KV_STAGING_COPIES = 1;
    /** The portable graph's cache is both past and present of every call: no staging copy. */
    static final int PORTABLE_KV_STAGING_COPIES = 0;

    /** The backend, the engine limits sized from the plan, and what GetServerInfo reports (the attention graph included). */
    record Loaded(Backend backend, EngineConfig engineConfig, PlannedMemory memory, LoadedModel.Serving serving) {
    }

    private GrmLoader() {
    }

    static Loaded load(ModelDirectory model, PrincipiaConfig config, Consumer<String> log) throws IOException {
        ModelConfig c = model.config();
        PrincipiaConfig.Engine ec = config.engine();
        int maxModelLen = Math.min(ec.maxModelLen(), c.maxPositionEmbeddings());
        WeightPrecision weights = precision(config.backend().weights(), WeightLayout.numParameters(c), log);
        Path preExported = ExportCache.preExported(model);
        OnnxExporter.Options options = ExportCache.SERVING.withWeights(weights);
        options = options.withAttention(GrmBackends.attention(config.backend().attention(), options, c, preExported != null,
                GrmBackends.hasWeights(model), log));
        boolean portable = options.attention() == OnnxExporter.Attention.PORTABLE;
        String precision = weights.configName();
        Map<String, Long> sizes = new LinkedHashMap<>();
        for (WeightPrecision p : WeightPrecision.values()) sizes.put(p.configName(), p.weightBytes(c, options.blockSize()));
        if (preExported != null && !model.embeddedDefault() && !portable) {
            precision = "pre-exported";
            sizes.put(precision, graphBytes(preExported));
        }
        MachineMemory memory = MachineMemory.detect(ec.memoryLimitBytes());
        long maxHeap = Runtime.getRuntime().maxMemory();
        int kvElementBytes = options.dtype() == DType.F16 ? 2 : 4;
        int staging = portable ? PORTABLE_KV_STAGING_COPIES
                : options.attention() == OnnxExporter.Attention.GQA ? GQA_KV_STAGING_COPIES : PLAIN_KV_STAGING_COPIES;
        MemoryPlan plan = MemoryPlan.of(new MemoryPlan.Inputs(c, precision, sizes, kvElementBytes, ec.maxNumSeqs(), ec.maxNumBatchedTokens(),
                maxModelLen, ec.kvCacheBytes(), memory.bytes(), memory.source(), maxHeap, staging), PRECISIONS_BY_SIZE);
        long kv = capKvToDirectMemory(plan.kvCacheBytes(), plan.kvBytesPerToken(), staging, maxDirectMemory(maxHeap), ec.kvCacheBytes(),
                maxModelLen, log);
        if (kv != plan.kvCacheBytes()) {
            plan = new MemoryPlan(plan.availableBytes(), plan.availableSource(), plan.reservedBytes(), plan.weightBytes(),
                    plan.activationBytes(), kv, plan.kvBytesPerToken(), plan.kvStagingCopies());
        }
        log.accept(String.format(Locale.ROOT, "memory plan: %s available (%s); %s reserved (JVM heap %s + runtimes), weights %s (%s), "
                        + "activations %s, KV pool %s = %d tokens at %d bytes per token (+%d staging copies)",
                MemoryPlan.gb(plan.availableBytes()), plan.availableSource(), MemoryPlan.gb(plan.reservedBytes()), MemoryPlan.gb(maxHeap),
                MemoryPlan.gb(plan.weightBytes()), precision, MemoryPlan.gb(plan.activationBytes()), MemoryPlan.gb(plan.kvCacheBytes()),
                plan.kvCacheTokens(), plan.kvBytesPerToken(), plan.kvStagingCopies()));
        ExportCache.Export export = ExportCache.ensure(model, config.model().cacheDir(), options, log);
        GrmBackends.Opened opened = GrmBackends.open(export.onnx(), c, options.attention(), new OnnxBackend.Options(config.backend().intraOpThreads(),
                ec.maxNumSeqs(), maxModelLen, config.backend().allowSpinning(), plan.kvCacheBytes()), ec.maxNumBatchedTokens(), log);
        Backend backend = opened.backend();
        // the backend's count, not the plan's: each slot may waste part of its last block
        int kvTokens = (int) Math.min(Integer.MAX_VALUE, backend.info().kvCacheTokens());
        EngineConfig engineConfig = new EngineConfig(ec.maxNumSeqs(), ec.maxNumBatchedTokens(), kvTokens, ec.maxPendingRequests(), ec.maxModelLen());
        PlannedMemory planned = new PlannedMemory(plan.availableBytes(), plan.availableSource(), plan.reservedBytes(), plan.weightBytes(),
                plan.activationBytes(), plan.kvCacheBytes(), plan.kvBytesPerToken());
        LoadedModel.Serving serving = new LoadedModel.Serving(precision, graphBytes(export.onnx()), backend.info().kvCacheBytes(),
                dtypeName(backend.info().kvElementType()), opened.attention());
        return new Loaded(backend, engineConfig, planned, serving);
    }

    /** ONNX element type names as the API spells precisions: float32 -> fp32. */
    static String dtypeName(String onnxType) {
        return switch (onnxType) {
            case "float32" -> "fp32";
            case "float16" -> "fp16";
            case "bfloat16" -> "bf16";
            default -> onnxType;
        };
    }

    /** {@code principia.backend.weights} resolved; auto's choice is logged. */
    static WeightPrecision precision(String configured, long numParameters, Consumer<String> log) {
        WeightPrecision p;
        try {
            p = WeightPrecision.resolve(configured, numParameters);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("principia.backend.weights: " + e.getMessage(), e);
        }
        if (configured.strip().equalsIgnoreCase("auto")) {
            log.accept(String.format(Locale.ROOT, "weights: auto chose %s for %.2f B parameters on CPU (int8 above %.0f B)", p.configName(),
                    numParameters / 1e9, WeightPrecision.AUTO_INT8_ABOVE_PARAMETERS / 1e9));
        }
        return p;
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

    /** Direct memory left to everything but the GRM's KV pool and staging (the meta-RM, gRPC's buffers, ONNX Runtime's tensors). */
    static final long DIRECT_HEADROOM_MIN = 256L << 20;

    /**
     * The KV pool the JVM's direct memory allows. The pool and its {@code staging} per-call copies live in direct
     * memory, and the staging copies grow with the running batch's context, so a plan that fills the limit fails
     * only later, when long prompts arrive, and takes a whole batch of requests with it. The pool is therefore capped
     * so that pool and staging leave an eighth of the limit (at least {@value #DIRECT_HEADROOM_MIN} bytes) to the rest;
     * a configured pool that does not fit, or a cap below one {@code maxModelLen} sequence, is refused.
     *
     * @return {@code planned}, or the capped pool (whole tokens), logged
     */
    static long capKvToDirectMemory(long planned, long perToken, int staging, long direct, long configured, int maxModelLen,
                                    java.util.function.Consumer<String> log) {
        long budget = direct - Math.max(DIRECT_HEADROOM_MIN, direct / 8);
        if (planned * (1 + staging) <= budget) return planned;
        long kv = Math.max(0, budget) / (1 + staging) / perToken * perToken;
        if (configured > 0 || kv < perToken * maxModelLen) {
            throw new MemoryPlan.DoesNotFitException(String.format(Locale.ROOT,
                    "the KV cache (%s, charged %d times for per-call staging) is held in direct memory, and the JVM allows %s of it, "
                            + "of which %s are kept for the meta-RM, gRPC and ONNX Runtime: raise -XX:MaxDirectMemorySize (or -Xmx, "
                            + "which it defaults to)%s",
                    MemoryPlan.gb(planned), 1 + staging, MemoryPlan.gb(direct), MemoryPlan.gb(direct - Math.max(0, budget)),
                    configured > 0 ? " or lower principia.engine.kv-cache-bytes" : ""));
        }
        log.accept(String.format(Locale.ROOT, "KV pool capped at %s by the JVM's direct memory limit of %s (-XX:MaxDirectMemorySize): "
                + "pool and %d staging copies leave %s to the rest", MemoryPlan.gb(kv), MemoryPlan.gb(direct), staging,
                MemoryPlan.gb(direct - kv * (1 + staging))));
        return kv;
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
