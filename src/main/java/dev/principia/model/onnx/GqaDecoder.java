package dev.principia.model.onnx;

import dev.principia.model.FloatSource;
import dev.principia.model.ModelConfig;
import dev.principia.model.RopeScaling;
import dev.principia.model.onnx.OnnxGraph.Attr;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The decoder graph of {@link OnnxExporter.Attention#GQA}: each layer's attention is one ONNX Runtime
 * {@code com.microsoft.GroupQueryAttention} node (RoPE inside it, {@code do_rotary = 1}, from
 * {@code cos_cache}/{@code sin_cache} tables [maxPositions, headDim / 2] built like the plain graph's),
 * and every residual add followed by an RMSNorm is one {@code SkipSimplifiedLayerNormalization}. Weights,
 * MLPs, embeddings and the logits head are the plain graph's ({@link DecoderGraph}); the I/O contract is
 * in {@link OnnxExporter}.
 *
 * <p>Numerics against the plain graph: the same fp32 operations in another order (q·k is scaled inside the
 * GEMM, then soft-capped; masked keys get probability 0 rather than a -1e9 score). Gemma2's scale
 * ({@code query_pre_attn_scalar^-0.5}) and attention soft-cap are the node's {@code scale} and
 * {@code softcap}; its sliding window of w keys (the query's own and w - 1 before it) is
 * {@code local_window_size = w} in ONNX Runtime 1.29 (measured: {@code w - 1}, which older kernel sources
 * suggest, moves Gemma2's logits by O(1)). Qwen3's q/k norms run before the node, so before RoPE, as HF.
 */
final class GqaDecoder {
    private final ModelConfig c;
    private final OnnxGraph g;
    private final DecoderGraph body;
    private String cosCache, sinCache;

    private GqaDecoder(ModelConfig c, OnnxGraph g, DecoderGraph body) {
        this.c = c;
        this.g = g;
        this.body = body;
    }

    /** Declares the GQA I/O and builds the layers; returns the final residual stream x [N, hidden] before the final norm. */
    static String build(ModelConfig c, OnnxGraph g, DecoderGraph body, int act, String bs) throws IOException {
        if (c.headDim() % 16 != 0) {
            throw new IllegalArgumentException("GroupQueryAttention's rotary needs head_dim a multiple of 16, got " + c.headDim()
                    + "; export with Attention.PLAIN");
        }
        int d = c.headDim(), kv = c.numKeyValueHeads();
        g.input("seqlens_k", OnnxGraph.INT32, "batch");
        g.input("total_sequence_length", OnnxGraph.INT32);
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            g.input(OnnxExporter.pastKey(i), act, "batch", kv, "past", d);
            g.input(OnnxExporter.pastValue(i), act, "batch", kv, "past", d);
        }
        var gqa = new GqaDecoder(c, g, body);
        gqa.ropeCaches(act);
        String bsh = g.op("Concat", List.of(bs, g.int64s(-1)), Attr.i("axis", 0));
        String x = body.embed("input_ids");
        String pending = null;
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String[] r = gqa.layer(l, x, pending, bsh);
            x = r[0];
            pending = r[1];
        }
        return g.op("Add", List.of(x, pending));
    }

    /** Declares present outputs; called after {@code logits} so that output order matches the plain graph. */
    static void declarePresent(ModelConfig c, OnnxGraph g, int act) {
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            g.output(OnnxExporter.presentKey(i), act, "batch", c.numKeyValueHeads(), "present", c.headDim());
            g.output(OnnxExporter.presentValue(i), act, "batch", c.numKeyValueHeads(), "present", c.headDim());
        }
    }

    /** cos_cache, sin_cache [maxPositions, headDim / 2]: cos and sin of {@code p * invFreq[i]}, RoPE scaling applied. */
    private void ropeCaches(int act) throws IOException {
        int d = c.headDim(), maxPos = c.maxPositionEmbeddings(), half = d / 2;
        double[] invFreq = RopeScaling.inverseFrequencies(c.ropeTheta(), d, c.ropeScaling());
        float[] cosT = new float[maxPos * half], sinT = new float[maxPos * half];
        for (int p = 0; p < maxPos; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p * invFreq[i];
                cosT[p * half + i] = (float) Math.cos(angle);
                sinT[p * half + i] = (float) Math.sin(angle);
            }
        }
        cosCache = g.initializer("rope.cos_cache", act, new long[]{maxPos, half}, FloatSource.of(cosT));
        sinCache = g.initializer("rope.sin_cache", act, new long[]{maxPos, half}, FloatSource.of(sinT));
    }

    /**
     * Layer l on x [N, hidden] plus the previous layer's pending residual increment (null for layer 0);
     * returns {x, increment}: the residual stream after attention and this layer's MLP output, added by the
     * next layer's input norm.
     */
    private String[] layer(int l, String x, String pending, String bsh) throws IOException {
        int h = c.hiddenSize(), d = c.headDim(), nH = c.numAttentionHeads(), kv = c.numKeyValueHeads();
        String p = "model.layers." + l + ".";
        String a;
        if (pending == null) {
            a = body.rmsNorm(x, p + "input_layernorm.weight", h);
        } else {
            String[] s = skipNorm(x, pending, p + "input_layernorm.weight");
            a = s[0];
            x = s[1];
        }
        String q = heads(body.linear(a, p + "self_attn.q_proj", nH * d, h, c.qkvBias()), p + "self_attn.q_norm.weight", bsh);
        String k = heads(body.linear(a, p + "self_attn.k_proj", kv * d, h, c.qkvBias()), p + "self_attn.k_norm.weight", bsh);
        String v = g.op("Reshape", List.of(body.linear(a, p + "self_attn.v_proj", kv * d, h, c.qkvBias()), bsh));
        var attrs = new ArrayList<>(List.of(Attr.i("num_heads", nH), Attr.i("kv_num_heads", kv),
                Attr.f("scale", (float) c.attentionScale()), Attr.i("do_rotary", 1), Attr.i("rotary_interleaved", 0)));
        if (c.attnLogitSoftcapping() > 0) attrs.add(Attr.f("softcap", (float) c.attnLogitSoftcapping()));
        if (c.isSlidingLayer(l)) attrs.add(Attr.i("local_window_size", c.slidingWindow()));
        String ctx = g.fresh("gqa");
        g.node(OnnxGraph.CONTRIB_DOMAIN, "GroupQueryAttention",
                List.of(q, k, v, OnnxExporter.pastKey(l), OnnxExporter.pastValue(l), "seqlens_k", "total_sequence_length", cosCache, sinCache),
                List.of(ctx, OnnxExporter.presentKey(l), OnnxExporter.presentValue(l)), attrs.toArray(Attr[]::new));
        String attn = body.linear(g.op("Reshape", List.of(ctx, g.int64s(-1, (long) nH * d))), p + "self_attn.o_proj", h, nH * d, c.oProjBias());
        String[] s = c.gemmaNorms()
                ? skipNorm(x, body.rmsNorm(attn, p + "post_attention_layernorm.weight", h), p + "pre_feedforward_layernorm.weight")
                : skipNorm(x, attn, p + "post_attention_layernorm.weight");
        return new String[]{s[1], body.mlp(l, s[0])};
    }

    /** A projection [N, heads * d] -> [B, S, heads * d], per-head RMSNorm first when the model has q/k norms. */
    private String heads(String y, String normName, String bsh) throws IOException {
        if (c.qkNorm()) y = body.rmsNorm(g.op("Reshape", List.of(y, g.int64s(-1, c.headDim()))), normName, c.headDim());
        return g.op("Reshape", List.of(y, bsh));
    }

    /** {norm(x + delta) * w, x + delta} by one SkipSimplifiedLayerNormalization. */
    private String[] skipNorm(String x, String delta, String weightName) throws IOException {
        String w = body.normWeight(weightName, c.hiddenSize());
        String out = g.fresh("skipnorm"), sum = g.fresh("residual");
        g.node(OnnxGraph.CONTRIB_DOMAIN, "SkipSimplifiedLayerNormalization", List.of(x, delta, w), List.of(out, "", "", sum),
                Attr.f("epsilon", (float) c.rmsNormEps()));
        return new String[]{out, sum};
    }
}
