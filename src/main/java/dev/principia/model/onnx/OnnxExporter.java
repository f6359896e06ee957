package dev.principia.model.onnx;

import dev.principia.model.FloatSource;
import dev.principia.model.ModelConfig;
import dev.principia.model.Safetensors;
import dev.principia.model.onnx.OnnxGraph.Attr;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Exports an HF decoder directory (config.json + safetensors) to an fp32 ONNX graph with KV-cache
 * I/O, using only standard opset-17 operators (no contrib ops, so TensorRT can build it).
 *
 * <p>Graph I/O, Optimum-style (B batch, S new tokens, P past positions, T = P + S):
 * <pre>
 *   input_ids                  int64 [B, S]
 *   attention_mask             int64 [B, T]     1 = attend, 0 = padding
 *   position_ids               int64 [B, S]     RoPE positions of the new tokens
 *   past_key_values.{i}.key    float [B, kvHeads, P, headDim]   (and .value)
 *   logits                     float [B, S, vocab]   ([B, 1, vocab] with lastPositionLogitsOnly)
 *   present.{i}.key            float [B, kvHeads, T, headDim]   (and .value) = concat(past, new)
 * </pre>
 * Key j is visible to new token i (at key index P + i) iff {@code j <= P + i} and
 * {@code attention_mask[b, j] == 1}; hidden scores become -1e9 (not -inf), so a fully masked row
 * yields finite values. Keys are stored after RoPE.
 *
 * <p>Weights keep the HF {@code [out, in]} layout and run as {@code Gemm(transB = 1)} on the flattened
 * [B*S, hidden] stream, so they are copied to the ONNX file without transposition; a tied lm_head
 * reuses the embedding initializer. RoPE uses precomputed tables {@code [maxPositions, headDim]}:
 * {@code cos} and a signed {@code sin} ({@code -sin} in the first half), so that
 * {@code x*cos + rotate_half(x)*sin == x*cos + swap_halves(x)*signedSin}.
 */
public final class OnnxExporter {
    public static final int OPSET = 17;
    private static final float MASKED_SCORE = -1e9f;

    /**
     * @param externalData            put float initializers in {@code <onnx file>.data} (required above 2 GiB)
     * @param lastPositionLogitsOnly  compute logits for the last position only ([B, 1, vocab])
     */
    public record Options(boolean externalData, boolean lastPositionLogitsOnly) {
        public static Options defaults() {
            return new Options(false, false);
        }
    }

    private OnnxExporter() {
    }

    public static ModelConfig exportDecoder(Path modelDir, Path onnxFile) throws IOException {
        return exportDecoder(modelDir, onnxFile, Options.defaults());
    }

    /** Writes {@code onnxFile} (and its {@code .data} file with external data); returns the model's config. */
    public static ModelConfig exportDecoder(Path modelDir, Path onnxFile, Options options) throws IOException {
        ModelConfig c = ModelConfig.read(modelDir);
        if (c.ropeScalingType() != null) {
            throw new IllegalArgumentException(modelDir + ": rope_scaling '" + c.ropeScalingType() + "' is not supported by the ONNX exporter");
        }
        Path dataFile = onnxFile.resolveSibling(onnxFile.getFileName() + ".data");
        try (Safetensors st = Safetensors.open(modelDir);
             OnnxGraph.ExternalData ext = options.externalData() ? new OnnxGraph.ExternalData(dataFile) : null) {
            var g = new OnnxGraph(ext);
            new Builder(c, st, g, options).build();
            String doc = "decoder " + c.architecture() + " layers=" + c.numHiddenLayers() + " hidden=" + c.hiddenSize()
                    + " heads=" + c.numAttentionHeads() + "/" + c.numKeyValueHeads() + " headDim=" + c.headDim();
            g.writeModel(onnxFile, "principia_decoder", OPSET, "principia", doc);
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

    private static final class Builder {
        private final ModelConfig c;
        private final Safetensors st;
        private final OnnxGraph g;
        private final Options options;
        private final String eps, two;
        private final java.util.Set<String> registered = new java.util.HashSet<>();
        private String cos, sin, allowed, scale, masked, axisHalves;

        Builder(ModelConfig c, Safetensors st, OnnxGraph g, Options options) {
            this.c = c;
            this.st = st;
            this.g = g;
            this.options = options;
            this.eps = g.floatScalar((float) c.rmsNormEps());
            this.two = g.floatScalar(2f);
        }

        void build() throws IOException {
            int h = c.hiddenSize(), d = c.headDim(), nH = c.numAttentionHeads(), kv = c.numKeyValueHeads(), v = c.vocabSize();
            g.input("input_ids", OnnxGraph.INT64, "batch", "seq");
            g.input("attention_mask", OnnxGraph.INT64, "batch", "total");
            g.input("position_ids", OnnxGraph.INT64, "batch", "seq");
            for (int i = 0; i < c.numHiddenLayers(); i++) {
                g.input(pastKey(i), OnnxGraph.FLOAT, "batch", kv, "past", d);
                g.input(pastValue(i), OnnxGraph.FLOAT, "batch", kv, "past", d);
            }
            g.output("logits", OnnxGraph.FLOAT, "batch", options.lastPositionLogitsOnly() ? 1 : "seq", v);
            for (int i = 0; i < c.numHiddenLayers(); i++) {
                g.output(presentKey(i), OnnxGraph.FLOAT, "batch", kv, "total", d);
                g.output(presentValue(i), OnnxGraph.FLOAT, "batch", kv, "total", d);
            }

            String embed = weight("model.embed_tokens.weight", v, h);
            String bs = g.op("Shape", List.of("input_ids"));
            String x = g.op("Reshape", List.of(g.op("Gather", List.of(embed, "input_ids"), Attr.i("axis", 0)), g.int64s(-1, h)));
            ropeTables();
            attentionMask(bs);
            scale = g.floatScalar((float) (1.0 / Math.sqrt(d)));
            masked = g.floatScalar(MASKED_SCORE);
            axisHalves = g.int64s(d / 2, d / 2);
            String qShape = g.op("Concat", List.of(bs, g.int64s(nH, d)), Attr.i("axis", 0));
            String kvShape = g.op("Concat", List.of(bs, g.int64s(kv, d)), Attr.i("axis", 0));
            String q5Shape = g.int64s(0, kv, c.numQueriesPerKv(), -1, d);
            String ctxShape = g.int64s(-1, (long) nH * d);
            for (int l = 0; l < c.numHiddenLayers(); l++) x = layer(l, x, qShape, kvShape, q5Shape, ctxShape);
            x = rmsNorm(x, weight("model.norm.weight", h));
            String logitsShape;
            if (options.lastPositionLogitsOnly()) {
                String x3 = g.op("Reshape", List.of(x, g.op("Concat", List.of(bs, g.int64s(h)), Attr.i("axis", 0))));
                String lastIdx = g.op("Sub", List.of(g.op("Gather", List.of(bs, g.int64s(1)), Attr.i("axis", 0)), g.int64s(1)));
                x = g.op("Reshape", List.of(g.op("Gather", List.of(x3, lastIdx), Attr.i("axis", 1)), g.int64s(-1, h)));
                logitsShape = g.op("Concat", List.of(g.op("Gather", List.of(bs, g.int64s(0)), Attr.i("axis", 0)), g.int64s(1, v)), Attr.i("axis", 0));
            } else {
                logitsShape = g.op("Concat", List.of(bs, g.int64s(v)), Attr.i("axis", 0));
            }
            String head = c.tieWordEmbeddings() ? embed : weight("lm_head.weight", v, h);
            String logits2d = g.op("Gemm", List.of(x, head), Attr.i("transB", 1));
            g.opNamed("logits", "Reshape", List.of(logits2d, logitsShape));
        }

        /** x: [N, hidden] -> [N, hidden]. */
        private String layer(int l, String x, String qShape, String kvShape, String q5Shape, String ctxShape) throws IOException {
            int h = c.hiddenSize(), d = c.headDim(), nH = c.numAttentionHeads(), kv = c.numKeyValueHeads();
            String p = "model.layers." + l + ".";
            String a = rmsNorm(x, weight(p + "input_layernorm.weight", h));
            String q = heads(a, p + "self_attn.q_proj", nH, qShape, p + "self_attn.q_norm.weight");
            String k = heads(a, p + "self_attn.k_proj", kv, kvShape, p + "self_attn.k_norm.weight");
            String val = g.op("Transpose", List.of(g.op("Reshape", List.of(linear(a, p + "self_attn.v_proj", kv * d, h, c.qkvBias()), kvShape))),
                    Attr.ints("perm", 0, 2, 1, 3));
            q = rope(q);
            k = rope(k);
            String presentK = g.opNamed(presentKey(l), "Concat", List.of(pastKey(l), k), Attr.i("axis", 2));
            String presentV = g.opNamed(presentValue(l), "Concat", List.of(pastValue(l), val), Attr.i("axis", 2));
            // [B, kv, rep, S, d] x [B, kv, 1, d, T] -> [B, kv, rep, S, T]: query head j*rep + r reads kv head j
            String q5 = g.op("Reshape", List.of(q, q5Shape));
            // Transpose last, right before MatMul: ONNX Runtime then fuses it into the MatMul (transB) instead of copying the keys
            String kT = g.op("Transpose", List.of(g.op("Unsqueeze", List.of(presentK, g.int64s(2)))), Attr.ints("perm", 0, 1, 2, 4, 3));
            String scores = g.op("Mul", List.of(g.op("MatMul", List.of(q5, kT)), scale));
            scores = g.op("Where", List.of(allowed, scores, masked));
            String probs = g.op("Softmax", List.of(scores), Attr.i("axis", -1));
            String ctx = g.op("MatMul", List.of(probs, g.op("Unsqueeze", List.of(presentV, g.int64s(2)))));
            ctx = g.op("Reshape", List.of(g.op("Transpose", List.of(ctx), Attr.ints("perm", 0, 3, 1, 2, 4)), ctxShape));
            x = g.op("Add", List.of(x, linear(ctx, p + "self_attn.o_proj", h, nH * d, c.oProjBias())));
            String m = rmsNorm(x, weight(p + "post_attention_layernorm.weight", h));
            String gate = linear(m, p + "mlp.gate_proj", c.intermediateSize(), h, false);
            String up = linear(m, p + "mlp.up_proj", c.intermediateSize(), h, false);
            String act = g.op("Mul", List.of(g.op("Mul", List.of(gate, g.op("Sigmoid", List.of(gate)))), up));
            return g.op("Add", List.of(x, linear(act, p + "mlp.down_proj", h, c.intermediateSize(), false)));
        }

        /** [N, hidden] -> [B, heads, S, d], with the per-head norm when the model has one. */
        private String heads(String a, String proj, int numHeads, String shape, String normName) throws IOException {
            int d = c.headDim();
            String y = g.op("Reshape", List.of(linear(a, proj, numHeads * d, c.hiddenSize(), c.qkvBias()), shape));
            if (c.qkNorm()) y = rmsNorm(y, weight(normName, d));
            return g.op("Transpose", List.of(y), Attr.ints("perm", 0, 2, 1, 3));
        }

        /** y = x W^T (+ b) for W [out, in]. */
        private String linear(String x, String name, int out, int in, boolean bias) throws IOException {
            String w = weight(name + ".weight", out, in);
            if (!bias) return g.op("Gemm", List.of(x, w), Attr.i("transB", 1));
            return g.op("Gemm", List.of(x, w, weight(name + ".bias", out)), Attr.i("transB", 1));
        }

        /**
         * x / sqrt(mean(x^2, last axis) + eps) * w, spelled Pow-ReduceMean-Add-Sqrt-Div-Mul: the pattern ONNX Runtime
         * fuses into one SimplifiedLayerNormalization kernel (and TensorRT into its RMSNorm).
         */
        private String rmsNorm(String x, String w) {
            String ms = g.op("ReduceMean", List.of(g.op("Pow", List.of(x, two))), Attr.ints("axes", -1), Attr.i("keepdims", 1));
            String rms = g.op("Sqrt", List.of(g.op("Add", List.of(ms, eps))));
            return g.op("Mul", List.of(g.op("Div", List.of(x, rms)), w));
        }

        /** x [B, heads, S, d] -> x*cos + swap_halves(x)*signedSin. */
        private String rope(String x) {
            String[] halves = g.op("Split", 2, List.of(x, axisHalves), Attr.i("axis", -1));
            String swapped = g.op("Concat", List.of(halves[1], halves[0]), Attr.i("axis", -1));
            return g.op("Add", List.of(g.op("Mul", List.of(x, cos)), g.op("Mul", List.of(swapped, sin))));
        }

        /** cos, sin: [B, 1, S, d] gathered from the tables by position_ids. */
        private void ropeTables() throws IOException {
            int d = c.headDim(), maxPos = c.maxPositionEmbeddings(), half = d / 2;
            float[] cosT = new float[maxPos * d];
            float[] sinT = new float[maxPos * d];
            for (int i = 0; i < half; i++) {
                double invFreq = Math.pow(c.ropeTheta(), -2.0 * i / d);
                for (int p = 0; p < maxPos; p++) {
                    double angle = p * invFreq;
                    float co = (float) Math.cos(angle), si = (float) Math.sin(angle);
                    cosT[p * d + i] = co;
                    cosT[p * d + i + half] = co;
                    sinT[p * d + i] = -si;
                    sinT[p * d + i + half] = si;
                }
            }
            String cosName = g.floatInitializer("rope.cos", new long[]{maxPos, d}, FloatSource.of(cosT));
            String sinName = g.floatInitializer("rope.signed_sin", new long[]{maxPos, d}, FloatSource.of(sinT));
            String one = g.int64s(1);
            cos = g.op("Unsqueeze", List.of(g.op("Gather", List.of(cosName, "position_ids"), Attr.i("axis", 0)), one));
            sin = g.op("Unsqueeze", List.of(g.op("Gather", List.of(sinName, "position_ids"), Attr.i("axis", 0)), one));
        }

        /** allowed: bool [B, 1, 1, S, T] = (key j <= P + i) and attention_mask[b, j] != 0. */
        private void attentionMask(String bs) {
            String idx1 = g.int64Scalar(1);
            String s = g.op("Gather", List.of(bs, idx1), Attr.i("axis", 0));
            String t = g.op("Gather", List.of(g.op("Shape", List.of("attention_mask")), idx1), Attr.i("axis", 0));
            String past = g.op("Sub", List.of(t, s));
            String keyIdx = g.op("Range", List.of(g.int64Scalar(0), t, g.int64Scalar(1)));
            String queryIdx = g.op("Range", List.of(past, t, g.int64Scalar(1)));
            String causal = g.op("LessOrEqual", List.of(
                    g.op("Unsqueeze", List.of(keyIdx, g.int64s(0))), g.op("Unsqueeze", List.of(queryIdx, g.int64s(1)))));
            String pad = g.op("Unsqueeze", List.of(g.op("Cast", List.of("attention_mask"), Attr.i("to", OnnxGraph.BOOL)), g.int64s(1, 2, 3)));
            allowed = g.op("And", List.of(causal, pad));
        }

        /** Registers safetensors tensor {@code name} (checked against {@code shape}) as an initializer once. */
        private String weight(String name, long... shape) throws IOException {
            if (registered.contains(name)) return name;
            if (!st.contains(name)) throw new IllegalArgumentException("weights lack tensor '" + name + "' needed by " + c.architecture());
            Safetensors.Tensor t = st.tensor(name);
            if (!Arrays.equals(t.shape(), shape)) {
                throw new IllegalArgumentException("tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                        + ", config implies " + Arrays.toString(shape));
            }
            registered.add(name);
            return g.floatInitializer(name, shape, t);
        }
    }
}
