package dev.principia.model.onnx;

import dev.principia.model.FloatSource;
import dev.principia.model.ModelConfig;
import dev.principia.model.RopeScaling;
import dev.principia.model.Safetensors;
import dev.principia.model.WeightPrecision;
import dev.principia.model.onnx.OnnxGraph.Attr;

import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The decoder body shared by the causal-LM and the classifier graphs: embeddings, RoPE tables, masks,
 * layers and the final norm, in the activation type {@code act} ({@link OnnxGraph#FLOAT} or
 * {@link OnnxGraph#FLOAT16}).
 *
 * <p>Numerics follow HF's eager code: RMSNorm runs in fp32 (its input is cast up, the result cast back),
 * norm weights stay fp32 and Gemma's {@code (1 + w)} is folded into them at export; attention scores are
 * cast to fp32 after {@code q·k * scale}, then soft-capped, masked with {@value #MASKED_SCORE} (an fp32
 * value: a masked score never exists in fp16, so no fp16 overflow) and soft-maxed in fp32, as HF's
 * {@code softmax(dtype=torch.float32)} does; probabilities are cast back to {@code act}.
 *
 * <p>Stream shapes: x is {@code [N = B*S, hidden]}; q {@code [B, heads, S, d]}; keys and values
 * {@code [B, kvHeads, T, d]}; scores {@code [B, kvHeads, rep, S, T]} (query head {@code j*rep + r} reads
 * kv head j).
 *
 * <p>Weights follow {@link WeightPrecision}'s table: {@link #linear} is a {@code Gemm} on a dense weight,
 * or {@code com.microsoft MatMulNBits} on {@link BlockQuantizer} tensors; {@link #weight} registers a
 * dense weight and returns a name holding it in {@code act} (a {@code Cast} of a bf16 initializer for BF16).
 */
final class DecoderGraph {
    static final float MASKED_SCORE = -1e9f;
    /** MatMulNBits' {@code accuracy_level}: 4 = int8 compute on per-block quantized activations. */
    static final int ACCURACY_LEVEL_INT8 = 4;

    private final ModelConfig c;
    private final Safetensors st;
    private final OnnxGraph g;
    private final int act;
    private final WeightPrecision weights;
    private final int blockSize;
    private final OnnxExporter.Progress progress;
    private final long totalBytes;
    /** The graph's ONNX opset: from 18 on, ReduceMean takes its axes as an input. */
    private final int opset;
    /** Checkpoint tensor (or derived) name -> the graph value that holds it, ready for use. */
    private final Map<String, String> registered = new HashMap<>();
    private final Set<String> counted = new HashSet<>();
    private final String eps, two;
    private long doneBytes;
    private String cos, sin, allowed, allowedSliding, masked, axisHalves, lastAxis;

    /** A cache update: the new keys or values {@code update} [B, kvHeads, S, d] joined to input {@code past}, as graph output {@code present}. */
    @FunctionalInterface
    interface CacheWrite {
        String write(String past, String update, String present);
    }

    DecoderGraph(ModelConfig c, Safetensors st, OnnxGraph g, int opset, int act, WeightPrecision weights, int blockSize,
                 OnnxExporter.Progress progress, long totalBytes) {
        this.c = c;
        this.st = st;
        this.g = g;
        this.opset = opset;
        this.act = act;
        this.weights = weights;
        this.blockSize = blockSize;
        this.progress = progress;
        this.totalBytes = totalBytes;
        this.eps = g.floatScalar((float) c.rmsNormEps());
        this.two = g.floatScalar(2f);
    }

    /** input_ids [B, S] -> x [N, hidden]; Gemma scales by sqrt(hidden) rounded to {@code act}, as HF does. */
    String embed(String inputIds) throws IOException {
        int h = c.hiddenSize();
        String rows = g.op("Gather", List.of(embedding(), inputIds), Attr.i("axis", 0));
        if (embeddingType() != act) rows = g.op("Cast", List.of(rows), Attr.i("to", act));
        String x = g.op("Reshape", List.of(rows, g.int64s(-1, h)));
        return c.gemmaNorms() ? g.op("Mul", List.of(x, g.scalar((float) Math.sqrt(h), act))) : x;
    }

    /** The embedding table [vocab, hidden] as stored ({@link #embeddingType()}); rows are cast after the Gather. */
    private String embedding() throws IOException {
        String name = "model.embed_tokens.weight";
        if (registered.containsKey(name)) return registered.get(name);
        Safetensors.Tensor t = checked(name, c.vocabSize(), c.hiddenSize());
        g.initializer(name, embeddingType(), t.shape(), t);
        return done(name, t, name);
    }

    /** bf16 for BF16, fp16 for quantized precisions, else {@code act}. */
    private int embeddingType() {
        if (weights == WeightPrecision.BF16) return OnnxGraph.BFLOAT16;
        return weights.isQuantized() ? OnnxGraph.FLOAT16 : act;
    }

    /**
     * Logits in {@code act}, x [N, hidden] -> [N, vocab]: {@code lm_head.weight}, or the embedding when
     * tied (shared when dense; quantized models quantize their own 8-bit copy).
     */
    String lmHead(String x) throws IOException {
        int v = c.vocabSize(), h = c.hiddenSize();
        String name = c.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight";
        if (weights.isQuantized()) return quantizedLinear(x, name, "lm_head.weight", v, h, 8);
        String head = c.tieWordEmbeddings() ? tiedHead() : weight(name, v, h);
        return g.op("Gemm", List.of(x, head), Attr.i("transB", 1));
    }

    /** The embedding table as a Gemm operand in {@code act}. */
    private String tiedHead() throws IOException {
        String table = embedding();
        return embeddingType() == act ? table : g.op("Cast", List.of(table), Attr.i("to", act));
    }

    /** cos, sin: [B or 1, 1, S, d] gathered from tables [maxPositions, d] by positions [B or 1, S]. */
    void ropeTables(String positionIds) throws IOException {
        int d = c.headDim(), maxPos = c.maxPositionEmbeddings(), half = d / 2;
        double[] invFreq = RopeScaling.inverseFrequencies(c.ropeTheta(), d, c.ropeScaling());
        float[] cosT = new float[maxPos * d];
        float[] sinT = new float[maxPos * d];
        for (int i = 0; i < half; i++) {
            for (int p = 0; p < maxPos; p++) {
                double angle = p * invFreq[i];
                float co = (float) Math.cos(angle), si = (float) Math.sin(angle);
                cosT[p * d + i] = co;
                cosT[p * d + i + half] = co;
                sinT[p * d + i] = -si;
                sinT[p * d + i + half] = si;
            }
        }
        String cosName = g.initializer("rope.cos", act, new long[]{maxPos, d}, FloatSource.of(cosT));
        String sinName = g.initializer("rope.signed_sin", act, new long[]{maxPos, d}, FloatSource.of(sinT));
        String one = g.int64s(1);
        cos = g.op("Unsqueeze", List.of(g.op("Gather", List.of(cosName, positionIds), Attr.i("axis", 0)), one));
        sin = g.op("Unsqueeze", List.of(g.op("Gather", List.of(sinName, positionIds), Attr.i("axis", 0)), one));
    }

    /**
     * Masks bool [B, 1, 1, S, T]: key j visible to query i iff {@code 0 <= queryIdx[i] - keyIdx[j]} and
     * {@code attention_mask[b, j] != 0}; on sliding layers also {@code queryIdx[i] - keyIdx[j] < window}
     * (HF: key > query - window). Indices are positions in the cache; left padding shifts a row's query
     * and keys alike, so their difference is the true distance.
     *
     * @param keyIdx   int64 [T]
     * @param queryIdx int64 [S]
     * @param mask     int64 [B, T]
     */
    void masks(String keyIdx, String queryIdx, String mask) {
        String diff = g.op("Sub", List.of(g.op("Unsqueeze", List.of(queryIdx, g.int64s(1))), g.op("Unsqueeze", List.of(keyIdx, g.int64s(0)))));
        String causal = g.op("GreaterOrEqual", List.of(diff, g.int64Scalar(0)));
        String pad = g.op("Unsqueeze", List.of(g.op("Cast", List.of(mask), Attr.i("to", OnnxGraph.BOOL)), g.int64s(1, 2, 3)));
        allowed = g.op("And", List.of(causal, pad));
        slidingMask(diff);
    }

    /**
     * Masks from distances alone (no padding): key j visible to query i of row b iff
     * {@code 0 <= diff[b, 0, 0, i, j]} and, on sliding layers, {@code diff < window}.
     *
     * @param diff int64 [B, 1, 1, S, T], query position minus key position
     */
    void distanceMasks(String diff) {
        allowed = g.op("GreaterOrEqual", List.of(diff, g.int64Scalar(0)));
        slidingMask(diff);
    }

    private void slidingMask(String diff) {
        if (c.slidingWindow() > 0) {
            String inWindow = g.op("Less", List.of(diff, g.int64Scalar(c.slidingWindow())));
            allowedSliding = g.op("And", List.of(allowed, inWindow));
        }
    }

    /**
     * One decoder layer, x [N, hidden] -> [N, hidden]. With {@code past} (names of past key/value inputs
     * [B, kvHeads, P, d]) keys are {@code Concat(past, new)} and written to the graph outputs
     * {@code present}; without, attention reads only the new positions.
     */
    String layer(int l, String x, String bs, String[] past, String[] present) throws IOException {
        return layer(l, x, bs, past, present, (pastValue, update, out) -> g.opNamed(out, "Concat", List.of(pastValue, update), Attr.i("axis", 2)));
    }

    /** {@link #layer(int, String, String, String[], String[])} with the cache joined by {@code cacheWrite}; attention reads its result. */
    String layer(int l, String x, String bs, String[] past, String[] present, CacheWrite cacheWrite) throws IOException {
        int h = c.hiddenSize(), d = c.headDim(), nH = c.numAttentionHeads(), kv = c.numKeyValueHeads();
        String p = "model.layers." + l + ".";
        String qShape = g.op("Concat", List.of(bs, g.int64s(nH, d)), Attr.i("axis", 0));
        String kvShape = g.op("Concat", List.of(bs, g.int64s(kv, d)), Attr.i("axis", 0));
        String a = rmsNorm(x, p + "input_layernorm.weight", h);
        String q = rope(heads(a, p + "self_attn.q_proj", nH, qShape, p + "self_attn.q_norm.weight"));
        String k = rope(heads(a, p + "self_attn.k_proj", kv, kvShape, p + "self_attn.k_norm.weight"));
        String val = g.op("Transpose", List.of(g.op("Reshape", List.of(linear(a, p + "self_attn.v_proj", kv * d, h, c.qkvBias()), kvShape))),
                Attr.ints("perm", 0, 2, 1, 3));
        if (past != null) {
            k = cacheWrite.write(past[0], k, present[0]);
            val = cacheWrite.write(past[1], val, present[1]);
        }
        String q5 = g.op("Reshape", List.of(q, g.int64s(0, kv, c.numQueriesPerKv(), -1, d)));
        // Transpose last, right before MatMul: ONNX Runtime then fuses it into the MatMul (transB) instead of copying the keys
        String kT = g.op("Transpose", List.of(g.op("Unsqueeze", List.of(k, g.int64s(2)))), Attr.ints("perm", 0, 1, 2, 4, 3));
        String scores = g.op("Mul", List.of(g.op("MatMul", List.of(q5, kT)), g.scalar((float) c.attentionScale(), act)));
        scores = toFloat(scores);
        if (c.attnLogitSoftcapping() > 0) scores = softcap(scores, c.attnLogitSoftcapping());
        if (masked == null) masked = g.floatScalar(MASKED_SCORE);
        scores = g.op("Where", List.of(c.isSlidingLayer(l) ? allowedSliding : allowed, scores, masked));
        String probs = fromFloat(g.op("Softmax", List.of(scores), Attr.i("axis", -1)));
        String ctx = g.op("MatMul", List.of(probs, g.op("Unsqueeze", List.of(val, g.int64s(2)))));
        ctx = g.op("Reshape", List.of(g.op("Transpose", List.of(ctx), Attr.ints("perm", 0, 3, 1, 2, 4)), g.int64s(-1, (long) nH * d)));
        String attn = linear(ctx, p + "self_attn.o_proj", h, nH * d, c.oProjBias());
        String m;
        if (c.gemmaNorms()) {
            x = g.op("Add", List.of(x, rmsNorm(attn, p + "post_attention_layernorm.weight", h)));
            m = rmsNorm(x, p + "pre_feedforward_layernorm.weight", h);
        } else {
            x = g.op("Add", List.of(x, attn));
            m = rmsNorm(x, p + "post_attention_layernorm.weight", h);
        }
        return g.op("Add", List.of(x, mlp(l, m)));
    }

    /** Layer l's MLP on its normed input m [N, hidden], with Gemma's post-feedforward norm: the residual's increment. */
    String mlp(int l, String m) throws IOException {
        int h = c.hiddenSize();
        String p = "model.layers." + l + ".";
        String gate = linear(m, p + "mlp.gate_proj", c.intermediateSize(), h, false);
        String up = linear(m, p + "mlp.up_proj", c.intermediateSize(), h, false);
        String mlp = linear(g.op("Mul", List.of(activation(gate), up)), p + "mlp.down_proj", h, c.intermediateSize(), false);
        return c.gemmaNorms() ? rmsNorm(mlp, p + "post_feedforward_layernorm.weight", h) : mlp;
    }

    String finalNorm(String x) throws IOException {
        return rmsNorm(x, "model.norm.weight", c.hiddenSize());
    }

    /** silu(x) = x * sigmoid(x); gelu_pytorch_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
    String activation(String x) {
        if (c.hiddenActivation().equals("silu")) return g.op("Mul", List.of(x, g.op("Sigmoid", List.of(x))));
        String cube = g.op("Mul", List.of(g.op("Mul", List.of(x, x)), x));
        String inner = g.op("Add", List.of(x, g.op("Mul", List.of(cube, g.scalar(0.044715f, act)))));
        String t = g.op("Tanh", List.of(g.op("Mul", List.of(inner, g.scalar((float) Math.sqrt(2 / Math.PI), act)))));
        String half = g.op("Mul", List.of(x, g.scalar(0.5f, act)));
        return g.op("Mul", List.of(half, g.op("Add", List.of(t, g.scalar(1f, act)))));
    }

    /** cap * tanh(x / cap), x fp32. */
    String softcap(String x, double cap) {
        String t = g.op("Tanh", List.of(g.op("Mul", List.of(x, g.floatScalar((float) (1.0 / cap))))));
        return g.op("Mul", List.of(t, g.floatScalar((float) cap)));
    }

    String toFloat(String x) {
        return act == OnnxGraph.FLOAT ? x : g.op("Cast", List.of(x), Attr.i("to", OnnxGraph.FLOAT));
    }

    private String fromFloat(String x) {
        return act == OnnxGraph.FLOAT ? x : g.op("Cast", List.of(x), Attr.i("to", act));
    }

    /** [N, hidden] -> [B, heads, S, d], with the per-head norm when the model has one. */
    private String heads(String a, String proj, int numHeads, String shape, String normName) throws IOException {
        int d = c.headDim();
        String y = g.op("Reshape", List.of(linear(a, proj, numHeads * d, c.hiddenSize(), c.qkvBias()), shape));
        if (c.qkNorm()) y = rmsNorm(y, normName, d);
        return g.op("Transpose", List.of(y), Attr.ints("perm", 0, 2, 1, 3));
    }

    /** y = x W^T (+ b) for W [out, in]: Gemm, or MatMulNBits (then Add for the bias) when quantized. */
    String linear(String x, String name, int out, int in, boolean bias) throws IOException {
        if (weights.isQuantized()) {
            String y = quantizedLinear(x, name + ".weight", name + ".weight", out, in, weights.bits());
            return bias ? g.op("Add", List.of(y, weight(name + ".bias", out))) : y;
        }
        String w = weight(name + ".weight", out, in);
        if (!bias) return g.op("Gemm", List.of(x, w), Attr.i("transB", 1));
        return g.op("Gemm", List.of(x, w, weight(name + ".bias", out)), Attr.i("transB", 1));
    }

    /** x [N, in] -> [N, out] by MatMulNBits on checkpoint tensor {@code source} [out, in], stored as {@code name}.*. */
    private String quantizedLinear(String x, String source, String name, int out, int in, int bits) throws IOException {
        String key = name + ".q" + bits;
        if (!registered.containsKey(key)) {
            Safetensors.Tensor t = checked(source, out, in);
            var layout = new BlockQuantizer.Layout(out, in, bits, blockSize, act);
            long[] dataShape = {out, layout.kBlocks(), layout.blobBytes()};
            g.rawInitializer(key + ".data", OnnxGraph.UINT8, dataShape, BlockQuantizer.data(t, layout));
            g.rawInitializer(key + ".scales", act, new long[]{layout.scaleCount()}, BlockQuantizer.scales(t, layout));
            g.rawInitializer(key + ".zero_points", OnnxGraph.UINT8, new long[]{layout.zeroPointBytes()}, BlockQuantizer.zeroPoints(t, layout));
            registered.put(key, key);
            count(source, t);
        }
        // accuracy_level 4: int8 activations (per block), int32 accumulation. ONNX Runtime 1.29's CPU kernels
        // at level 0 (fp32) dequantize 8-bit weights on every call: measured for [1, 768] x [2048, 768]^T on
        // one thread, 8 bits 24 ms at level 0 vs 0.10 ms at 4, 4 bits 0.47 vs 0.17 ms (fp32 Gemm 0.25 ms)
        return g.contribOp("MatMulNBits", List.of(x, key + ".data", key + ".scales", key + ".zero_points"),
                Attr.i("K", in), Attr.i("N", out), Attr.i("bits", bits), Attr.i("block_size", blockSize), Attr.i("accuracy_level", ACCURACY_LEVEL_INT8));
    }

    /**
     * x / sqrt(mean(x^2, last axis) + eps) * w in fp32 (w fp32; {@code 1 + w} for Gemma), cast back to
     * {@code act}; spelled Pow-ReduceMean-Add-Sqrt-Div-Mul, the pattern ONNX Runtime fuses into one
     * SimplifiedLayerNormalization kernel (and TensorRT into its RMSNorm). ReduceMean's axes are an
     * attribute below opset 18 and an input from 18 on; the numerics are the same.
     */
    String rmsNorm(String x, String weightName, int size) throws IOException {
        String w = normWeight(weightName, size);
        String xf = toFloat(x);
        String sq = g.op("Pow", List.of(xf, two));
        String ms;
        if (opset >= 18) {
            if (lastAxis == null) lastAxis = g.int64s(-1);
            ms = g.op("ReduceMean", List.of(sq, lastAxis), Attr.i("keepdims", 1));
        } else {
            ms = g.op("ReduceMean", List.of(sq), Attr.ints("axes", -1), Attr.i("keepdims", 1));
        }
        String rms = g.op("Sqrt", List.of(g.op("Add", List.of(ms, eps))));
        return fromFloat(g.op("Mul", List.of(g.op("Div", List.of(xf, rms)), w)));
    }

    /** x [B, heads, S, d] -> x*cos + swap_halves(x)*signedSin, equal to HF's x*cos + rotate_half(x)*sin. */
    private String rope(String x) {
        if (axisHalves == null) axisHalves = g.int64s(c.headDim() / 2, c.headDim() / 2);
        String[] halves = g.op("Split", 2, List.of(x, axisHalves), Attr.i("axis", -1));
        String swapped = g.op("Concat", List.of(halves[1], halves[0]), Attr.i("axis", -1));
        return g.op("Add", List.of(g.op("Mul", List.of(x, cos)), g.op("Mul", List.of(swapped, sin))));
    }

    /** The fp32 norm weight initializer ({@code 1 + w} for Gemma), registered once. */
    String normWeight(String name, int size) throws IOException {
        if (registered.containsKey(name)) return registered.get(name);
        Safetensors.Tensor t = checked(name, size);
        FloatSource src = c.gemmaNorms() ? plusOne(t) : t;
        String out = g.initializer(c.gemmaNorms() ? name + ".plus_one" : name, OnnxGraph.FLOAT, new long[]{size}, src);
        return done(name, t, out);
    }

    /**
     * Registers safetensors tensor {@code name} (checked against {@code shape}) once, as an {@code act}
     * initializer, or for BF16 as a bf16 initializer; returns the value holding it in {@code act}.
     */
    String weight(String name, long... shape) throws IOException {
        if (registered.containsKey(name)) return registered.get(name);
        Safetensors.Tensor t = checked(name, shape);
        if (weights != WeightPrecision.BF16) {
            g.initializer(name, act, shape, t);
            return done(name, t, name);
        }
        g.initializer(name, OnnxGraph.BFLOAT16, shape, t);
        return done(name, t, g.op("Cast", List.of(name), Attr.i("to", act)));
    }

    private Safetensors.Tensor checked(String name, long... shape) {
        if (!st.contains(name)) throw new IllegalArgumentException("weights lack tensor '" + name + "' needed by " + c.architecture());
        Safetensors.Tensor t = st.tensor(name);
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(t.file() + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                    + ", config implies " + Arrays.toString(shape));
        }
        return t;
    }

    /** Records checkpoint tensor {@code name} as held by graph value {@code value}; returns {@code value}. */
    private String done(String name, Safetensors.Tensor t, String value) {
        registered.put(name, value);
        count(name, t);
        return value;
    }

    /** Reports checkpoint tensor {@code name} to the progress callback, once. */
    private void count(String name, Safetensors.Tensor t) {
        if (!counted.add(name)) return;
        long done = doneBytes += t.size() * t.dtype().byteSize();
        g.afterLastInitializerWritten(() -> progress.tensorDone(name, done, totalBytes));
    }

    private static FloatSource plusOne(FloatSource src) {
        return new FloatSource() {
            @Override
            public long size() {
                return src.size();
            }

            @Override
            public void forEachChunk(Sink sink) throws IOException {
                src.forEachChunk((chunk, length) -> {
                    float[] shifted = new float[length];
                    for (int i = 0; i < length; i++) shifted[i] = 1f + chunk[i];
                    sink.accept(shifted, length);
                });
            }
        };
    }
}
