package dev.principia.model;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Slow twin of the exported graph: a float64 forward pass over the safetensors weights, recomputing
 * the whole sequence (no KV cache). Follows HF Llama/Qwen2/Qwen3/Gemma2 modelling code, written
 * independently of the exporter (RoPE scaling included).
 */
public final class ReferenceDecoder {
    private final ModelConfig c;
    private final double[][] embed, lmHead, score; // [vocab][hidden], [vocab][hidden], [numLabels][hidden]
    private final double[] finalNorm;
    private final double[] invFreq; // [headDim / 2]
    private final Layer[] layers;

    private record Layer(double[][] wq, double[] bq, double[][] wk, double[] bk, double[][] wv, double[] bv,
                         double[][] wo, double[] bo, double[] qNorm, double[] kNorm, double[][] gate, double[][] up,
                         double[][] down, double[] inNorm, double[] postNorm, double[] preFfNorm, double[] postFfNorm) {
    }

    public ReferenceDecoder(Path dir) throws IOException {
        this(dir, ModelConfig.read(dir));
    }

    /** With {@code config} in place of {@code dir/config.json} (same tensors), to switch features off. */
    public ReferenceDecoder(Path dir, ModelConfig config) throws IOException {
        this.c = config;
        this.invFreq = inverseFrequencies(c);
        try (Safetensors st = Safetensors.open(dir)) {
            embed = matrix(st, "model.embed_tokens.weight");
            lmHead = c.isSequenceClassifier() ? null : c.tieWordEmbeddings() ? embed : matrix(st, "lm_head.weight");
            score = c.isSequenceClassifier() ? matrix(st, "score.weight") : null;
            finalNorm = vector(st, "model.norm.weight");
            layers = new Layer[c.numHiddenLayers()];
            for (int l = 0; l < layers.length; l++) {
                String p = "model.layers." + l + ".";
                String a = p + "self_attn.";
                layers[l] = new Layer(matrix(st, a + "q_proj.weight"), optional(st, a + "q_proj.bias"),
                        matrix(st, a + "k_proj.weight"), optional(st, a + "k_proj.bias"),
                        matrix(st, a + "v_proj.weight"), optional(st, a + "v_proj.bias"),
                        matrix(st, a + "o_proj.weight"), optional(st, a + "o_proj.bias"),
                        optional(st, a + "q_norm.weight"), optional(st, a + "k_norm.weight"),
                        matrix(st, p + "mlp.gate_proj.weight"), matrix(st, p + "mlp.up_proj.weight"),
                        matrix(st, p + "mlp.down_proj.weight"), vector(st, p + "input_layernorm.weight"),
                        vector(st, p + "post_attention_layernorm.weight"),
                        optional(st, p + "pre_feedforward_layernorm.weight"), optional(st, p + "post_feedforward_layernorm.weight"));
            }
        }
    }

    /** HF {@code _compute_default/linear/llama3_rope_parameters}. */
    private static double[] inverseFrequencies(ModelConfig c) {
        int d = c.headDim();
        double[] inv = new double[d / 2];
        RopeScaling rs = c.ropeScaling();
        for (int i = 0; i < inv.length; i++) {
            double f = 1.0 / Math.pow(c.ropeTheta(), (2.0 * i) / d);
            if (rs != null && rs.type().equals("linear")) {
                f /= rs.factor();
            } else if (rs != null && rs.type().equals("llama3")) {
                double wavelen = 2 * Math.PI / f;
                double old = rs.originalMaxPositionEmbeddings();
                double scaled = wavelen > old / rs.lowFreqFactor() ? f / rs.factor() : f;
                boolean medium = !(wavelen < old / rs.highFreqFactor()) && !(wavelen > old / rs.lowFreqFactor());
                if (medium) {
                    double smooth = (old / wavelen - rs.lowFreqFactor()) / (rs.highFreqFactor() - rs.lowFreqFactor());
                    scaled = (1 - smooth) * scaled / rs.factor() + smooth * scaled;
                }
                f = scaled;
            } else if (rs != null) {
                throw new IllegalArgumentException("reference: rope_scaling " + rs.type());
            }
            inv[i] = f;
        }
        return inv;
    }

    /** Logits [tokens.length][vocab] for tokens at positions 0..n-1 (causal LMs). */
    public double[][] forward(int[] tokens) {
        double[][] x = hidden(tokens);
        double[][] logits = new double[x.length][];
        for (int t = 0; t < x.length; t++) {
            logits[t] = matVec(lmHead, x[t]);
            if (c.finalLogitSoftcapping() > 0) softcap(logits[t], c.finalLogitSoftcapping());
        }
        return logits;
    }

    /** Classifier logits [numLabels] at the last token (no soft-capping: HF's classifier head has none). */
    public double[] classify(int[] tokens) {
        double[][] x = hidden(tokens);
        return matVec(score, x[x.length - 1]);
    }

    /** Final-norm hidden states [n][hidden]. */
    private double[][] hidden(int[] tokens) {
        int n = tokens.length, d = c.headDim(), nH = c.numAttentionHeads(), kvH = c.numKeyValueHeads();
        int rep = nH / kvH;
        boolean gemma = c.gemmaNorms();
        double normalizer = (float) Math.sqrt(c.hiddenSize()); // HF: torch.tensor(hidden ** 0.5, dtype) in fp32
        double[][] x = new double[n][];
        for (int t = 0; t < n; t++) {
            x[t] = embed[tokens[t]].clone();
            if (gemma) for (int i = 0; i < x[t].length; i++) x[t][i] *= normalizer;
        }
        for (int l = 0; l < layers.length; l++) {
            Layer L = layers[l];
            int window = c.isSlidingLayer(l) ? c.slidingWindow() : Integer.MAX_VALUE;
            double[][][] q = new double[n][][], k = new double[n][][], v = new double[n][][];
            for (int t = 0; t < n; t++) {
                double[] a = rmsNorm(x[t], L.inNorm);
                q[t] = split(add(matVec(L.wq, a), L.bq), nH, d);
                k[t] = split(add(matVec(L.wk, a), L.bk), kvH, d);
                v[t] = split(add(matVec(L.wv, a), L.bv), kvH, d);
                for (int h = 0; h < nH; h++) {
                    if (L.qNorm != null) q[t][h] = rmsNorm(q[t][h], L.qNorm);
                    q[t][h] = rope(q[t][h], t);
                }
                for (int h = 0; h < kvH; h++) {
                    if (L.kNorm != null) k[t][h] = rmsNorm(k[t][h], L.kNorm);
                    k[t][h] = rope(k[t][h], t);
                }
            }
            for (int t = 0; t < n; t++) {
                double[] ctx = new double[nH * d];
                int first = Math.max(0, t - window + 1); // HF sliding: key j visible iff j > t - window
                for (int h = 0; h < nH; h++) {
                    int g = h / rep;
                    double[] s = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = first; j <= t; j++) {
                        s[j] = dot(q[t][h], k[j][g]) / Math.sqrt(c.queryPreAttnScalar());
                        if (c.attnLogitSoftcapping() > 0) s[j] = c.attnLogitSoftcapping() * Math.tanh(s[j] / c.attnLogitSoftcapping());
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = first; j <= t; j++) sum += s[j] = Math.exp(s[j] - max);
                    for (int j = first; j <= t; j++) {
                        for (int i = 0; i < d; i++) ctx[h * d + i] += s[j] / sum * v[j][g][i];
                    }
                }
                double[] o = add(matVec(L.wo, ctx), L.bo);
                if (gemma) o = rmsNorm(o, L.postNorm);
                for (int i = 0; i < o.length; i++) x[t][i] += o[i];
                double[] m = rmsNorm(x[t], gemma ? L.preFfNorm : L.postNorm);
                double[] gate = matVec(L.gate, m), up = matVec(L.up, m);
                for (int i = 0; i < gate.length; i++) gate[i] = activation(gate[i]) * up[i];
                double[] down = matVec(L.down, gate);
                if (gemma) down = rmsNorm(down, L.postFfNorm);
                for (int i = 0; i < down.length; i++) x[t][i] += down[i];
            }
        }
        for (int t = 0; t < n; t++) x[t] = rmsNorm(x[t], finalNorm);
        return x;
    }

    private double activation(double g) {
        if (c.hiddenActivation().equals("silu")) return g / (1 + Math.exp(-g));
        return 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g * g * g)));
    }

    private static void softcap(double[] x, double cap) {
        for (int i = 0; i < x.length; i++) x[i] = cap * Math.tanh(x[i] / cap);
    }

    private double[] rope(double[] x, int pos) {
        int d = x.length, half = d / 2;
        double[] out = new double[d];
        for (int i = 0; i < half; i++) {
            double angle = pos * invFreq[i];
            double co = Math.cos(angle), si = Math.sin(angle);
            out[i] = x[i] * co - x[i + half] * si;
            out[i + half] = x[i + half] * co + x[i] * si;
        }
        return out;
    }

    private double[] rmsNorm(double[] x, double[] w) {
        double ss = 0;
        for (double e : x) ss += e * e;
        double inv = 1 / Math.sqrt(ss / x.length + c.rmsNormEps());
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i] * inv * (c.gemmaNorms() ? 1 + w[i] : w[i]);
        return out;
    }

    private static double[][] split(double[] x, int heads, int d) {
        double[][] out = new double[heads][d];
        for (int h = 0; h < heads; h++) System.arraycopy(x, h * d, out[h], 0, d);
        return out;
    }

    private static double[] matVec(double[][] w, double[] x) {
        double[] out = new double[w.length];
        for (int o = 0; o < w.length; o++) out[o] = dot(w[o], x);
        return out;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    private static double[] add(double[] x, double[] b) {
        if (b == null) return x;
        for (int i = 0; i < x.length; i++) x[i] += b[i];
        return x;
    }

    private static double[][] matrix(Safetensors st, String name) {
        Safetensors.Tensor t = st.tensor(name);
        int[] s = t.intShape();
        float[] f = t.toFloatArray();
        double[][] m = new double[s[0]][s[1]];
        for (int r = 0; r < s[0]; r++) {
            for (int col = 0; col < s[1]; col++) m[r][col] = f[r * s[1] + col];
        }
        return m;
    }

    private static double[] vector(Safetensors st, String name) {
        float[] f = st.tensor(name).toFloatArray();
        double[] v = new double[f.length];
        for (int i = 0; i < f.length; i++) v[i] = f[i];
        return v;
    }

    private static double[] optional(Safetensors st, String name) {
        return st.contains(name) ? vector(st, name) : null;
    }

    /** max|a - ref| / max|ref|. */
    public static double relativeError(float[] a, double[] ref) {
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < ref.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(a[i] - ref[i]));
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
        }
        return maxDiff / maxRef;
    }
}
