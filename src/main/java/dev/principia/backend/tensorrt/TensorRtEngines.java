package dev.principia.backend.tensorrt;

import dev.principia.backend.ClassifierBackend;
import dev.principia.backend.fixedkv.FixedKvBackend;
import dev.principia.backend.fixedkv.FixedKvDevice;
import dev.principia.backend.fixedkv.FixedKvLayout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Opens TensorRT engines from ONNX graphs through a {@link NativeTensorRt} (from {@link TensorRtProbe}): the plan comes
 * from the {@link PlanCache} under {@code cacheDir/tensorrt} when one was built for the same graph, TensorRT version,
 * GPU, profiles and dtype, else it is built (minutes for a large model; progress in the log) and stored. Pure Java:
 * what it calls on the native side is the interface.
 */
public final class TensorRtEngines {
    public static final String CACHE_SUBDIR = "tensorrt";

    /**
     * The shape of a portable decoder graph and the limits it serves.
     *
     * @param maxNumSeqs          rows of one call, and slots of the cache unless {@code kvCacheBytes} holds fewer
     * @param maxNumBatchedTokens tokens of one call
     * @param capacity            positions per slot (the longest sequence)
     * @param kvElementBytes      2 (fp16/bf16 graph) or 4 (fp32)
     * @param kvCacheBytes        device bytes for the KV cache; 0 = {@code maxNumSeqs} slots
     */
    public record DecoderSpec(int numLayers, int numKvHeads, int headDim, int vocabSize, int maxNumSeqs, int maxNumBatchedTokens, int capacity,
                              int kvElementBytes, long kvCacheBytes) {
        /** Every slot. */
        public DecoderSpec(int numLayers, int numKvHeads, int headDim, int vocabSize, int maxNumSeqs, int maxNumBatchedTokens, int capacity,
                           int kvElementBytes) {
            this(numLayers, numKvHeads, headDim, vocabSize, maxNumSeqs, maxNumBatchedTokens, capacity, kvElementBytes, 0);
        }

        /** The device cache: {@code maxNumSeqs} slots, or as many as {@code kvCacheBytes} holds. */
        public FixedKvLayout layout() {
            int slots = FixedKvLayout.slotsFitting(kvCacheBytes, 2L * numLayers * numKvHeads * headDim * kvElementBytes, capacity, maxNumSeqs);
            return new FixedKvLayout(numLayers, numKvHeads, headDim, capacity, slots, kvElementBytes);
        }

        public ProfileShapes shapes() {
            return ProfileShapes.decoder(maxNumSeqs, maxNumBatchedTokens, capacity, numLayers, numKvHeads, headDim);
        }

        String dtype() {
            return kvElementBytes == 2 ? "float16" : "float32";
        }
    }

    private TensorRtEngines() {
    }

    /** A {@link FixedKvBackend} running the portable decoder graph {@code onnx} on TensorRT, KV resident on the device. */
    public static FixedKvBackend openDecoder(NativeTensorRt trt, Path onnx, DecoderSpec spec, Path cacheDir, Consumer<String> log) throws IOException {
        ProfileShapes shapes = spec.shapes();
        FixedKvLayout layout = spec.layout();
        log.accept(String.format(Locale.ROOT, "TensorRT decoder: %d profiles (%s), KV on the device %.2f GB (%d slots x %d positions, %s)",
                shapes.profiles().size(), shapes.profiles(), layout.totalBytes() / 1e9, layout.maxSlots(), layout.capacity(), spec.dtype()));
        FixedKvDevice device = open(trt, onnx, shapes, spec.dtype(), cacheDir, log, plan -> trt.openDecoder(plan, layout, shapes, spec.vocabSize(), log));
        return new FixedKvBackend(device, layout, shapes.limits());
    }

    /** A classifier graph on TensorRT: at most {@code maxRows} sequences and {@code maxTokens} padded tokens per call. */
    public static ClassifierBackend openClassifier(NativeTensorRt trt, Path onnx, int numLabels, int maxPositions, int maxRows, int maxTokens,
                                                   Path cacheDir, Consumer<String> log) throws IOException {
        ProfileShapes shapes = ProfileShapes.classifier(maxRows, maxTokens, maxPositions);
        return open(trt, onnx, shapes, "classifier", cacheDir, log, plan -> trt.openClassifier(plan, shapes, numLabels, maxPositions, log));
    }

    /** Opens an engine from a plan. */
    interface Opener<T> {
        T open(PlanCache.Entry plan) throws IOException;
    }

    /**
     * Opens the cached plan of {@code onnx} with {@code shapes}; builds and stores it first when missing or invalid, and
     * again (with a warning) when TensorRT cannot deserialize the cached one.
     */
    static <T> T open(NativeTensorRt trt, Path onnx, ProfileShapes shapes, String dtype, Path cacheDir, Consumer<String> log, Opener<T> opener)
            throws IOException {
        GpuFacts facts = trt.facts();
        PlanCache cache = new PlanCache(cacheDir.resolve(CACHE_SUBDIR), log);
        PlanCacheKey key = PlanCacheKey.of(onnx, facts, shapes, dtype);
        var found = cache.load(key);
        if (found.isPresent()) {
            log.accept("TensorRT plan " + found.get().file() + " (" + facts.describe() + ")");
            try {
                return opener.open(found.get());
            } catch (IOException e) {
                log.accept("TensorRT could not open the cached plan " + found.get().file() + " (" + e.getMessage() + "); deleting it, the plan is built again");
                Files.deleteIfExists(found.get().file());
            }
        }
        long t0 = System.nanoTime();
        log.accept("building a TensorRT plan for " + onnx + " on " + facts.describe() + " into " + cache.file(key));
        PlanCache.Entry built = cache.store(key, out -> trt.buildPlan(onnx, shapes, cache.timingCacheFile(facts), out, log));
        log.accept(String.format(Locale.ROOT, "TensorRT plan built in %.1f s: %s (%.2f GB)", (System.nanoTime() - t0) / 1e9, built.file(),
                built.payloadBytes() / 1e9));
        return opener.open(built);
    }
}
