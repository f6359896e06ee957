package dev.principia.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Start-up memory plan of a decoder on the CPU: weights + activations + KV cache (with its per-call
 * staging copies) + what the JVM and the runtime reserve, against the machine's or the container's
 * memory. Refuses, saying what would fit, when the model cannot run; otherwise sizes the KV cache.
 *
 * <p>Estimates (all bytes):
 * <ul>
 *   <li>weights: as exported for the precision ({@code weightBytesByPrecision}), times
 *       {@value #WEIGHT_LOAD_FACTOR} for what ONNX Runtime adds while loading (pre-packed copies, alignment);</li>
 *   <li>activations of the largest step: a prefill chunk of {@code S = maxNumBatchedTokens} tokens over a
 *       {@code T = maxModelLen} context: {@code 2 * (S * (4 * hidden + 3 * intermediate) + 2 * heads * S * T) * 4}
 *       (stream and MLP tensors, fp32 scores and probabilities; twice for the runtime's arena), plus
 *       last-position logits {@code 2 * maxNumSeqs * vocab * 4};</li>
 *   <li>KV: {@code layers * 2 * kvHeads * headDim * elementBytes} per token; one call's past and present
 *       staging buffers can hold the whole running batch's cache, so the pool is charged
 *       {@code 1 + kvStagingCopies} times;</li>
 *   <li>reserved: the JVM's maximum heap plus {@value #RUNTIME_OVERHEAD_BYTES} bytes for the runtimes'
 *       code, threads and metaspace.</li>
 * </ul>
 * With {@code configuredKvBytes == 0} the KV pool takes what is left, capped at what {@code maxNumSeqs}
 * sequences of {@code maxModelLen} tokens can use.
 */
public record MemoryPlan(long availableBytes, String availableSource, long reservedBytes, long weightBytes, long activationBytes,
                         long kvCacheBytes, long kvBytesPerToken, int kvStagingCopies) {
    static final double WEIGHT_LOAD_FACTOR = 1.1;
    static final long RUNTIME_OVERHEAD_BYTES = 400L << 20;

    /** What the plan is made from. Memory sizes in bytes; {@code configuredKvBytes} 0 = take what is left. */
    public record Inputs(ModelConfig config, String precision, Map<String, Long> weightBytesByPrecision, int kvElementBytes,
                         int maxNumSeqs, int maxNumBatchedTokens, int maxModelLen, long configuredKvBytes,
                         long availableBytes, String availableSource, long jvmMaxHeapBytes, int kvStagingCopies) {
        public Inputs {
            weightBytesByPrecision = Map.copyOf(weightBytesByPrecision);
            if (!weightBytesByPrecision.containsKey(precision)) {
                throw new IllegalArgumentException("no weight size for precision " + precision + " in " + weightBytesByPrecision.keySet());
            }
            if (kvElementBytes != 2 && kvElementBytes != 4) throw new IllegalArgumentException("kvElementBytes must be 2 or 4, got " + kvElementBytes);
            if (configuredKvBytes < 0) throw new IllegalArgumentException("configuredKvBytes must be >= 0, got " + configuredKvBytes);
            if (availableBytes <= 0) throw new IllegalArgumentException("availableBytes must be > 0, got " + availableBytes);
            if (kvStagingCopies < 0) throw new IllegalArgumentException("kvStagingCopies must be >= 0, got " + kvStagingCopies);
        }
    }

    /** The model cannot run in the memory there is; the message says what would. */
    public static final class DoesNotFitException extends IllegalStateException {
        public DoesNotFitException(String message) {
            super(message);
        }
    }

    public long kvCacheTokens() {
        return kvCacheBytes / kvBytesPerToken;
    }

    /** Weights + activations + KV with staging + reserved. */
    public long totalBytes() {
        return reservedBytes + weightBytes + activationBytes + kvCacheBytes * (1L + kvStagingCopies);
    }

    /**
     * Plans, or throws {@link DoesNotFitException} when the weights, the activations and the KV cache of
     * one longest sequence do not fit, or when a configured KV pool does not.
     *
     * @param precisionsBySize precision names in the order to suggest them (e.g. fp16, int8, int4); only
     *                         those in {@code weightBytesByPrecision} and smaller than the chosen one are named
     */
    public static MemoryPlan of(Inputs in, List<String> precisionsBySize) {
        ModelConfig c = in.config();
        long perToken = 2L * c.numHiddenLayers() * c.numKeyValueHeads() * c.headDim() * in.kvElementBytes();
        long reserved = in.jvmMaxHeapBytes() + RUNTIME_OVERHEAD_BYTES;
        long activations = activationBytes(c, in.maxNumSeqs(), in.maxNumBatchedTokens(), in.maxModelLen());
        long weights = loaded(in.weightBytesByPrecision().get(in.precision()));
        int copies = 1 + in.kvStagingCopies();
        long minKv = perToken * Math.max(in.maxModelLen(), in.maxNumBatchedTokens());
        if (reserved >= in.availableBytes()) {
            throw new DoesNotFitException(String.format(Locale.ROOT,
                    "the JVM heap (at most %s) and the runtimes reserve %s, not less than the %s available (%s): lower -Xmx or give the process more memory",
                    gb(in.jvmMaxHeapBytes()), gb(reserved), gb(in.availableBytes()), in.availableSource()));
        }
        long left = in.availableBytes() - reserved - weights - activations;
        if (left < minKv * copies) {
            throw new DoesNotFitException(refusal(in, precisionsBySize, reserved, activations, minKv, copies));
        }
        long kv;
        if (in.configuredKvBytes() > 0) {
            kv = in.configuredKvBytes();
            if (kv * copies > left) {
                throw new DoesNotFitException(String.format(Locale.ROOT,
                        "principia.engine.kv-cache-bytes=%d does not fit: %s are left after %s of weights (%s), %s of activations and %s reserved "
                                + "(JVM heap and runtimes) out of %s (%s), and the KV pool is charged %d times (pool + per-call staging): "
                                + "set at most %d, or leave it unset",
                        kv, gb(left), gb(weights), in.precision(), gb(activations), gb(reserved), gb(in.availableBytes()),
                        in.availableSource(), copies, left / copies));
            }
        } else {
            long useful = perToken * in.maxNumSeqs() * (long) in.maxModelLen();
            kv = Math.min(left / copies, useful);
        }
        kv -= kv % perToken;
        return new MemoryPlan(in.availableBytes(), in.availableSource(), reserved, weights, activations, kv, perToken, in.kvStagingCopies());
    }

    static long activationBytes(ModelConfig c, int maxNumSeqs, int maxNumBatchedTokens, int maxModelLen) {
        long s = maxNumBatchedTokens, t = maxModelLen;
        long stream = s * (4L * c.hiddenSize() + 3L * c.intermediateSize());
        long scores = 2L * c.numAttentionHeads() * s * t;
        return 2 * (stream + scores) * Float.BYTES + 2L * maxNumSeqs * c.vocabSize() * Float.BYTES;
    }

    private static long loaded(long exportedBytes) {
        return (long) (exportedBytes * WEIGHT_LOAD_FACTOR);
    }

    private static String refusal(Inputs in, List<String> precisionsBySize, long reserved, long activations, long minKv, int copies) {
        ModelConfig c = in.config();
        long params = WeightLayout.numParameters(c);
        long weights = in.weightBytesByPrecision().get(in.precision());
        long forWeights = in.availableBytes() - reserved - activations - minKv * copies;
        var fits = new ArrayList<String>();
        boolean smaller = false;
        for (String p : precisionsBySize) {
            Long w = in.weightBytesByPrecision().get(p);
            if (w == null) continue;
            if (w < weights) smaller = true;
            if (w < weights && loaded(w) <= forWeights) fits.add(String.format(Locale.ROOT, "%s (about %s)", p, gb(w)));
        }
        String advice = fits.isEmpty()
                ? (smaller ? "no smaller precision fits either: use a GPU or a machine with more memory" : "use a GPU or a machine with more memory")
                : "use " + String.join(" or ", fits) + " (principia.backend.weights), or a GPU";
        return String.format(Locale.ROOT,
                "%s %.2fB in %s needs %s of weights, %s of activations and %s of KV cache for one %d-token sequence (x%d with per-call staging); "
                        + "%s are available (%s) after %s reserved for the JVM heap and runtimes: %s",
                c.architecture(), params / 1e9, in.precision(), gb(weights), gb(activations), gb(minKv), in.maxModelLen(), copies,
                gb(in.availableBytes() - reserved), in.availableSource(), gb(reserved), advice);
    }

    /** Bytes as GB with two decimals, e.g. {@code 54.00 GB}. */
    public static String gb(long bytes) {
        return String.format(Locale.ROOT, "%.2f GB", bytes / 1e9);
    }
}
