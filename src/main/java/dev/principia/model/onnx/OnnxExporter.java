package dev.principia.model.onnx;

import dev.principia.model.DType;
import dev.principia.model.ModelConfig;
import dev.principia.model.Safetensors;
import dev.principia.model.WeightLayout;
import dev.principia.model.WeightPrecision;
import dev.principia.model.onnx.OnnxGraph.Attr;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Exports an HF model directory (config.json + safetensors) to ONNX. Two graphs: the causal-LM decoder with
 * KV-cache I/O ({@link #exportDecoder}) and the sequence classifier, prefill only ({@link #exportClassifier}).
 * Activations are fp32 or fp16 ({@link Options#dtype}); weights fp32, fp16, bf16, or int8/int4 as ONNX Runtime's
 * {@code com.microsoft MatMulNBits} ({@link Options#weights}, see {@link WeightPrecision}); see {@link DecoderGraph}
 * for the numerics (norms and softmax in fp32, as HF). The decoder's attention comes in three spellings
 * ({@link Options#attention}): {@link Attention#PLAIN}, standard opset-17 operators only (the reference),
 * {@link Attention#GQA}, ONNX Runtime's {@code com.microsoft} operators ({@link GqaDecoder}), and
 * {@link Attention#PORTABLE}, standard opset-24 operators only over a fixed-capacity KV buffer updated in place
 * ({@link PortableDecoder}; what TensorRT builds); their I/O differs as below.
 *
 * <p>Decoder I/O, {@link Attention#PLAIN}, Optimum-style (B batch, S new tokens, P past positions, T = P + S; "act" = the dtype):
 * <pre>
 *   input_ids                  int64 [B, S]
 *   attention_mask             int64 [B, T]     1 = attend, 0 = padding
 *   position_ids               int64 [B, S]     RoPE positions of the new tokens
 *   past_key_values.{i}.key    act   [B, kvHeads, P, headDim]   (and .value)
 *   logits                     float [B, S, vocab]   ([B, 1, vocab] with lastPositionLogitsOnly)
 *   present.{i}.key            act   [B, kvHeads, T, headDim]   (and .value) = concat(past, new)
 * </pre>
 * Key j is visible to new token i (at key index P + i) iff {@code j <= P + i}, {@code attention_mask[b, j] == 1}
 * and, on sliding-window layers, {@code j > P + i - window}; hidden scores become -1e9 (not -inf), so a
 * fully masked row yields finite values. Keys are stored after RoPE.
 *
 * <p>Decoder I/O, {@link Attention#GQA} (fp32). Rows are RIGHT-aligned: row b holds L_b past positions at
 * cache indices {@code [0, L_b)}; C is the cache buffers' capacity (any, at least {@code total_sequence_length}):
 * <pre>
 *   input_ids                  int64 [B, S]
 *   seqlens_k                  int32 [B]        L_b + S - 1 (row b's length after this call, minus one)
 *   total_sequence_length      int32 scalar     max_b (L_b + S)
 *   past_key_values.{i}.key    float [B, kvHeads, C, headDim]   (and .value) indices [0, L_b) of row b valid
 *   logits                     float [B, S, vocab]   ([B, 1, vocab] with lastPositionLogitsOnly: index S - 1)
 *   present.{i}.key            float [B, kvHeads, max(C, total_sequence_length), headDim]   (and .value)
 * </pre>
 * The new keys and values go to indices {@code [L_b, L_b + S)}; RoPE positions are {@code L_b + j}, taken
 * from {@code seqlens_k} (there is no position_ids or attention_mask). When {@code present} is bound to the
 * memory of {@code past} (same buffer, so same C), ONNX Runtime writes only those S positions, in place, and
 * leaves the rest of the buffer as it was; otherwise it copies {@code [0, L_b)} of past into a zeroed present.
 * ONNX Runtime accepts three call shapes: decode (S = 1, any B), first prompts (S == total_sequence_length,
 * every L_b = 0, shorter rows right-padded) and a chunk on a past (S > 1 with past: B = 1 only).
 *
 * <p>Decoder I/O, {@link Attention#PORTABLE} (opset {@value #PORTABLE_OPSET}, the standard domain only; fp32 or
 * fp16, dense weights). w_b is row b's length before the call; C is the buffers' fixed capacity, at least
 * {@code w_b + S} for every row:
 * <pre>
 *   input_ids                  int64 [B, S]
 *   position_ids               int64 [B, S]     row b: w_b, w_b + 1, ..., w_b + S - 1
 *   past_key_values.{i}.key    act   [B, kvHeads, C, headDim]   (and .value) cache index == absolute position
 *   logits                     float [B, S, vocab]   ([B, 1, vocab] with lastPositionLogitsOnly: position S - 1)
 *   present.{i}.key            act   [B, kvHeads, C, headDim]   (and .value) = past, positions [w_b, w_b + S) of
 *                                                               row b replaced by the new (post-RoPE) keys/values
 * </pre>
 * Each layer writes its cache by {@code TensorScatter(past, new, write_indices = position_ids[:, 0], axis = -2)}
 * and attends over all C positions of the result: key j is visible to query i of row b iff
 * {@code j <= position_ids[b, i]} and, on sliding-window layers, {@code j > position_ids[b, i] - window}
 * (there is no attention_mask). Hidden positions get probability 0 but are still multiplied, so the buffers
 * must hold finite values (zero them when allocated). {@code present} may be bound to the memory of
 * {@code past} (TensorRT requires it); ONNX Runtime's CPU kernel then writes only the new positions, and
 * otherwise copies the whole of past first. Rows of one call may have any w_b; B = 1 calls can run on one row's
 * slice {@code [1, kvHeads, C, headDim]} of a shared buffer.
 *
 * <p>Classifier I/O (right padding; row b's last token is at {@code sum(attention_mask[b]) - 1}):
 * <pre>
 *   input_ids       int64 [B, S]
 *   attention_mask  int64 [B, S]
 *   logits          float [B, numLabels]   score head on the final-norm hidden state of that token
 * </pre>
 *
 * <p>Weights keep the HF {@code [out, in]} layout and run as {@code Gemm(transB = 1)} (or MatMulNBits,
 * whose B is also {@code [N = out, K = in]}) on the flattened [B*S, hidden] stream, so rows stream to the
 * ONNX file without transposition; a dense tied lm_head reuses the embedding initializer. RoPE uses precomputed tables {@code [maxPositions, headDim]}:
 * {@code cos} and a signed {@code sin} ({@code -sin} in the first half), so that
 * {@code x*cos + rotate_half(x)*sin == x*cos + swap_halves(x)*signedSin}.
 *
 * <p>Memory: tensors stream one by one from the memory-mapped safetensors into the ONNX file (with
 * external data, as each is added), so the heap holds chunks of at most 64 Ki floats plus the graph's
 * nodes and the RoPE tables, never a whole weight.
 */
public final class OnnxExporter {
    /** The opset of the plain and GQA decoders and of classifiers. */
    public static final int OPSET = 17;
    /** The opset of the {@link Attention#PORTABLE} decoder (TensorScatter is new in 24). */
    public static final int PORTABLE_OPSET = 24;
    /** Changes whenever the graphs this exporter writes change; part of every export's cache key. */
    public static final String VERSION = "2026.11.30.3";

    /** Block sizes the exporter quantizes with. */
    public static final List<Integer> BLOCK_SIZES = List.of(32, 128);
    public static final int DEFAULT_BLOCK_SIZE = 32;

    /** How a decoder's attention is spelled. */
    public enum Attention {
        /** Standard opset-17 operators, KV concatenated per call (the reference; what TensorRT parses). */
        PLAIN,
        /** ONNX Runtime's {@code com.microsoft} GroupQueryAttention, with a KV buffer it can update in place (CPU-fast). */
        GQA,
        /**
         * Standard opset-24 operators only, a fixed-capacity KV buffer written by {@code TensorScatter} at
         * {@code position_ids[:, 0]} (in place when present is bound to past's memory); dense weights only. What TensorRT builds.
         */
        PORTABLE
    }

    /**
     * @param externalData            put weights in {@code <onnx file>.data} (required above 2 GiB)
     * @param lastPositionLogitsOnly  compute logits for the last position only ([B, 1, vocab]); decoder only
     * @param dtype                   {@link DType#F32} or {@link DType#F16}: activations and KV cache (and the
     *                                scales of quantized weights); FP16 weights need F16, FP32 and BF16 need F32
     * @param weights                 how weights are stored, see {@link WeightPrecision}
     * @param blockSize               quantization block along K, one of {@link #BLOCK_SIZES} (ignored unless quantized)
     * @param attention               the decoder's attention graph ({@link Attention#GQA}: F32 only; {@link Attention#PORTABLE}:
     *                                dense weights only); classifiers are always plain
     */
    public record Options(boolean externalData, boolean lastPositionLogitsOnly, DType dtype, WeightPrecision weights, int blockSize,
                          Attention attention) {
        public Options {
            if (dtype != DType.F32 && dtype != DType.F16) throw new IllegalArgumentException("export dtype must be F32 or F16, got " + dtype);
            if (weights == null) throw new IllegalArgumentException("weights must not be null");
            if (!weights.isQuantized() && weights.defaultActivationDtype() != dtype) {
                throw new IllegalArgumentException(weights.configName() + " weights run with " + weights.defaultActivationDtype() + " activations, got " + dtype);
            }
            if (!BLOCK_SIZES.contains(blockSize)) throw new IllegalArgumentException("blockSize must be one of " + BLOCK_SIZES + ", got " + blockSize);
            if (attention == null) throw new IllegalArgumentException("attention must be set");
            if (attention == Attention.GQA && dtype != DType.F32) throw new IllegalArgumentException("GQA export is F32 only, got " + dtype);
            if (attention == Attention.PORTABLE && weights.isQuantized()) {
                throw new IllegalArgumentException("portable attention uses standard ONNX operators only, but " + weights.configName()
                        + " weights need ONNX Runtime's com.microsoft MatMulNBits; export with fp32, fp16 or bf16 weights, or with plain or gqa attention");
            }
        }

        /** Plain attention. */
        public Options(boolean externalData, boolean lastPositionLogitsOnly, DType dtype, WeightPrecision weights, int blockSize) {
            this(externalData, lastPositionLogitsOnly, dtype, weights, blockSize, Attention.PLAIN);
        }

        /** Dense weights of {@code dtype} (FP32 or FP16) and plain attention, as before weight precisions existed. */
        public Options(boolean externalData, boolean lastPositionLogitsOnly, DType dtype) {
            this(externalData, lastPositionLogitsOnly, dtype, dtype == DType.F16 ? WeightPrecision.FP16 : WeightPrecision.FP32, DEFAULT_BLOCK_SIZE,
                    Attention.PLAIN);
        }

        public Options(boolean externalData, boolean lastPositionLogitsOnly) {
            this(externalData, lastPositionLogitsOnly, DType.F32);
        }

        public static Options defaults() {
            return new Options(false, false);
        }

        /** Dense {@code newDtype} weights and activations (FP32 or FP16). */
        public Options withDtype(DType newDtype) {
            return new Options(externalData, lastPositionLogitsOnly, newDtype, newDtype == DType.F16 ? WeightPrecision.FP16 : WeightPrecision.FP32,
                    blockSize, attention);
        }

        public Options withAttention(Attention newAttention) {
            return new Options(externalData, lastPositionLogitsOnly, dtype, weights, blockSize, newAttention);
        }

        /** {@code precision} with its default activation dtype and this block size. */
        public Options withWeights(WeightPrecision precision) {
            return new Options(externalData, lastPositionLogitsOnly, precision.defaultActivationDtype(), precision, blockSize, attention);
        }

        public Options withBlockSize(int newBlockSize) {
            return new Options(externalData, lastPositionLogitsOnly, dtype, weights, newBlockSize, attention);
        }

        public Options withExternalData(boolean newExternalData) {
            return new Options(newExternalData, lastPositionLogitsOnly, dtype, weights, blockSize, attention);
        }

        /** The same options for a classifier graph, which has no per-position logits to trim and plain attention. */
        public Options forClassifier() {
            return new Options(externalData, false, dtype, weights, blockSize, Attention.PLAIN);
        }

        /** A short human-readable form for logs, e.g. {@code int4 weights (blocks of 32), f32 activations}. */
        public String describe() {
            return weights.configName() + " weights" + (weights.isQuantized() ? " (blocks of " + blockSize + ")" : "") + ", "
                    + dtype.name().toLowerCase(java.util.Locale.ROOT) + " activations, " + attention.name().toLowerCase(java.util.Locale.ROOT) + " attention";
        }

        /** The ONNX {@code TensorProto.DataType} of activations (and of dense fp32/fp16 weights and quantization scales). */
        public int onnxDataType() {
            return dtype == DType.F16 ? OnnxGraph.FLOAT16 : OnnxGraph.FLOAT;
        }
    }

    /** Export progress, called on the exporting thread after each weight tensor's data is written (inline or external). */
    @FunctionalInterface
    public interface Progress {
        Progress NONE = (name, done, total) -> { };

        /**
         * @param bytesDone  checkpoint bytes of the tensors added so far (with external data: written)
         * @param bytesTotal checkpoint bytes of all tensors the graph uses
         */
        void tensorDone(String name, long bytesDone, long bytesTotal);
    }

    private OnnxExporter() {
    }

    public static ModelConfig exportDecoder(Path modelDir, Path onnxFile) throws IOException {
        return exportDecoder(modelDir, onnxFile, Options.defaults());
    }

    public static ModelConfig exportDecoder(Path modelDir, Path onnxFile, Options options) throws IOException {
        return exportDecoder(modelDir, onnxFile, options, Progress.NONE);
    }

    /** Writes the decoder {@code onnxFile} (and its {@code .data} file with external data); returns the model's config. */
    public static ModelConfig exportDecoder(Path modelDir, Path onnxFile, Options options, Progress progress) throws IOException {
        ModelConfig c = ModelConfig.read(modelDir);
        if (c.isSequenceClassifier()) {
            throw new IllegalArgumentException(modelDir + ": " + c.architecture() + " is a sequence classifier; export it with exportClassifier");
        }
        return export(modelDir, onnxFile, options, progress, c);
    }

    /** Writes the classifier {@code onnxFile} (prefill only, logits [B, numLabels]); returns the model's config. */
    public static ModelConfig exportClassifier(Path modelDir, Path onnxFile, Options options, Progress progress) throws IOException {
        ModelConfig c = ModelConfig.read(modelDir);
        if (!c.isSequenceClassifier()) {
            throw new IllegalArgumentException(modelDir + ": " + c.architecture() + " has no classification head; export it with exportDecoder");
        }
        return export(modelDir, onnxFile, options, progress, c);
    }

    /** The graph the architecture implies: classifier for {@code *ForSequenceClassification}, else decoder. */
    public static ModelConfig export(Path modelDir, Path onnxFile, Options options, Progress progress) throws IOException {
        return export(modelDir, onnxFile, options, progress, ModelConfig.read(modelDir));
    }

    private static ModelConfig export(Path modelDir, Path onnxFile, Options options, Progress progress, ModelConfig c) throws IOException {
        Path dataFile = onnxFile.resolveSibling(onnxFile.getFileName() + ".data");
        try (Safetensors st = Safetensors.open(modelDir);
             OnnxGraph.ExternalData ext = options.externalData() ? new OnnxGraph.ExternalData(dataFile) : null) {
            WeightLayout.check(c, st, modelDir);
            long total = 0;
            for (WeightLayout.Entry e : WeightLayout.of(c)) total += st.tensor(e.name()).size() * st.tensor(e.name()).dtype().byteSize();
            var g = new OnnxGraph(ext);
            boolean portable = !c.isSequenceClassifier() && options.attention() == Attention.PORTABLE;
            int opset = portable ? PORTABLE_OPSET : OPSET;
            var body = new DecoderGraph(c, st, g, opset, options.onnxDataType(), options.weights(), options.blockSize(), progress, total);
            if (c.isSequenceClassifier()) {
                buildClassifier(c, g, body);
            } else {
                buildDecoder(c, g, body, options);
            }
            String doc = (c.isSequenceClassifier() ? "classifier " : "decoder ") + c.architecture() + " " + options.dtype()
                    + " weights=" + options.weights().configName() + (options.weights().isQuantized() ? "/" + options.blockSize() : "")
                    + " layers=" + c.numHiddenLayers() + " hidden=" + c.hiddenSize()
                    + " heads=" + c.numAttentionHeads() + "/" + c.numKeyValueHeads() + " headDim=" + c.headDim();
            g.writeModel(onnxFile, c.isSequenceClassifier() ? "principia_classifier" : "principia_decoder", opset, "principia", doc);
        }
        return c;
    }

    /** Input and output names of layer {@code i}'s cache. */
    public static String pastKey(int i) {
        return "past_key_values." + i + ".key";
    }

    public static String pastValue(int i) {
        return "past_key_values." + i + ".value";
    }

    public static String presentKey(int i) {
        return "present." + i + ".key";
    }

    public static String presentValue(int i) {
        return "present." + i + ".value";
    }

    private static void buildDecoder(ModelConfig c, OnnxGraph g, DecoderGraph body, Options options) throws IOException {
        int d = c.headDim(), kv = c.numKeyValueHeads(), v = c.vocabSize(), act = options.onnxDataType();
        g.input("input_ids", OnnxGraph.INT64, "batch", "seq");
        String bs = g.op("Shape", List.of("input_ids"));
        g.output("logits", OnnxGraph.FLOAT, "batch", options.lastPositionLogitsOnly() ? 1 : "seq", v);
        String x;
        if (options.attention() == Attention.GQA) {
            GqaDecoder.declarePresent(c, g, act);
            x = GqaDecoder.build(c, g, body, act, bs);
        } else if (options.attention() == Attention.PORTABLE) {
            x = PortableDecoder.build(c, g, body, act, bs);
        } else {
            g.input("attention_mask", OnnxGraph.INT64, "batch", "total");
            g.input("position_ids", OnnxGraph.INT64, "batch", "seq");
            for (int i = 0; i < c.numHiddenLayers(); i++) {
                g.input(pastKey(i), act, "batch", kv, "past", d);
                g.input(pastValue(i), act, "batch", kv, "past", d);
            }
            for (int i = 0; i < c.numHiddenLayers(); i++) {
                g.output(presentKey(i), act, "batch", kv, "total", d);
                g.output(presentValue(i), act, "batch", kv, "total", d);
            }
            x = body.embed("input_ids");
            body.ropeTables("position_ids");
            String idx1 = g.int64Scalar(1);
            String s = g.op("Gather", List.of(bs, idx1), Attr.i("axis", 0));
            String t = g.op("Gather", List.of(g.op("Shape", List.of("attention_mask")), idx1), Attr.i("axis", 0));
            String keyIdx = g.op("Range", List.of(g.int64Scalar(0), t, g.int64Scalar(1)));
            String queryIdx = g.op("Range", List.of(g.op("Sub", List.of(t, s)), t, g.int64Scalar(1)));
            body.masks(keyIdx, queryIdx, "attention_mask");
            for (int l = 0; l < c.numHiddenLayers(); l++) {
                x = body.layer(l, x, bs, new String[]{pastKey(l), pastValue(l)}, new String[]{presentKey(l), presentValue(l)});
            }
        }
        logits(c, g, body, options, x, bs);
    }

    /** The final norm, the head and its soft-cap on x [B*S, hidden], as graph output {@code logits}. */
    private static void logits(ModelConfig c, OnnxGraph g, DecoderGraph body, Options options, String x, String bs) throws IOException {
        int h = c.hiddenSize(), v = c.vocabSize();
        String logitsShape;
        if (options.lastPositionLogitsOnly()) {
            String x3 = g.op("Reshape", List.of(x, g.op("Concat", List.of(bs, g.int64s(h)), Attr.i("axis", 0))));
            String lastIdx = g.op("Sub", List.of(g.op("Gather", List.of(bs, g.int64s(1)), Attr.i("axis", 0)), g.int64s(1)));
            x = g.op("Reshape", List.of(g.op("Gather", List.of(x3, lastIdx), Attr.i("axis", 1)), g.int64s(-1, h)));
            logitsShape = g.op("Concat", List.of(g.op("Gather", List.of(bs, g.int64s(0)), Attr.i("axis", 0)), g.int64s(1, v)), Attr.i("axis", 0));
        } else {
            logitsShape = g.op("Concat", List.of(bs, g.int64s(v)), Attr.i("axis", 0));
        }
        x = body.finalNorm(x);
        String logits = body.toFloat(body.lmHead(x));
        if (c.finalLogitSoftcapping() > 0) logits = body.softcap(logits, c.finalLogitSoftcapping());
        g.opNamed("logits", "Reshape", List.of(logits, logitsShape));
    }

    private static void buildClassifier(ModelConfig c, OnnxGraph g, DecoderGraph body) throws IOException {
        int h = c.hiddenSize();
        g.input("input_ids", OnnxGraph.INT64, "batch", "seq");
        g.input("attention_mask", OnnxGraph.INT64, "batch", "seq");
        g.output("logits", OnnxGraph.FLOAT, "batch", c.numLabels());
        String bs = g.op("Shape", List.of("input_ids"));
        String b = g.op("Gather", List.of(bs, g.int64Scalar(0)), Attr.i("axis", 0));
        String s = g.op("Gather", List.of(bs, g.int64Scalar(1)), Attr.i("axis", 0));
        String positions = g.op("Range", List.of(g.int64Scalar(0), s, g.int64Scalar(1)));
        String x = body.embed("input_ids");
        body.ropeTables(g.op("Unsqueeze", List.of(positions, g.int64s(0))));
        body.masks(positions, positions, "attention_mask");
        for (int l = 0; l < c.numHiddenLayers(); l++) x = body.layer(l, x, bs, null, null);
        // row r's last real token sits at flat index r*S + max(sum(mask[r]) - 1, 0) of x [B*S, hidden]
        String last = g.op("Max", List.of(g.op("Sub", List.of(
                g.op("ReduceSum", List.of("attention_mask", g.int64s(1)), Attr.i("keepdims", 0)), g.int64Scalar(1))), g.int64Scalar(0)));
        String rowStart = g.op("Mul", List.of(g.op("Range", List.of(g.int64Scalar(0), b, g.int64Scalar(1))), s));
        x = g.op("Gather", List.of(x, g.op("Add", List.of(rowStart, last))), Attr.i("axis", 0));
        x = body.finalNorm(x);
        String logits = body.toFloat(g.op("Gemm", List.of(x, body.weight("score.weight", c.numLabels(), h)), Attr.i("transB", 1)));
        g.opNamed("logits", "Identity", List.of(logits));
    }
}
