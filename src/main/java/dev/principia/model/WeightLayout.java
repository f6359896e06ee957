package dev.principia.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The safetensors tensors a {@link ModelConfig} implies, with HF names and shapes ({@code [out, in]} for
 * linear weights), in HF file order. {@link #check} validates a checkpoint against it before any data is read.
 */
public final class WeightLayout {

    /** How a tensor is used; the generator draws each kind differently. */
    public enum Kind { EMBEDDING, LINEAR, BIAS, NORM }

    /** One expected tensor. */
    public record Entry(String name, long[] shape, Kind kind) {
        public Entry {
            shape = shape.clone();
        }

        public long numElements() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    private WeightLayout() {
    }

    public static List<Entry> of(ModelConfig c) {
        long h = c.hiddenSize(), d = c.headDim(), q = (long) c.numAttentionHeads() * d, kv = (long) c.numKeyValueHeads() * d;
        long inter = c.intermediateSize();
        var out = new ArrayList<Entry>();
        out.add(new Entry("model.embed_tokens.weight", new long[]{c.vocabSize(), h}, Kind.EMBEDDING));
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String p = "model.layers." + l + ".";
            linear(out, p + "self_attn.q_proj", q, h, c.qkvBias());
            linear(out, p + "self_attn.k_proj", kv, h, c.qkvBias());
            linear(out, p + "self_attn.v_proj", kv, h, c.qkvBias());
            linear(out, p + "self_attn.o_proj", h, q, c.oProjBias());
            if (c.qkNorm()) {
                out.add(new Entry(p + "self_attn.q_norm.weight", new long[]{d}, Kind.NORM));
                out.add(new Entry(p + "self_attn.k_norm.weight", new long[]{d}, Kind.NORM));
            }
            linear(out, p + "mlp.gate_proj", inter, h, false);
            linear(out, p + "mlp.up_proj", inter, h, false);
            linear(out, p + "mlp.down_proj", h, inter, false);
            out.add(new Entry(p + "input_layernorm.weight", new long[]{h}, Kind.NORM));
            out.add(new Entry(p + "post_attention_layernorm.weight", new long[]{h}, Kind.NORM));
            if (c.gemmaNorms()) {
                out.add(new Entry(p + "pre_feedforward_layernorm.weight", new long[]{h}, Kind.NORM));
                out.add(new Entry(p + "post_feedforward_layernorm.weight", new long[]{h}, Kind.NORM));
            }
        }
        out.add(new Entry("model.norm.weight", new long[]{h}, Kind.NORM));
        if (c.isSequenceClassifier()) {
            out.add(new Entry("score.weight", new long[]{c.numLabels(), h}, Kind.LINEAR));
        } else if (!c.tieWordEmbeddings()) {
            out.add(new Entry("lm_head.weight", new long[]{c.vocabSize(), h}, Kind.EMBEDDING));
        }
        return out;
    }

    private static void linear(List<Entry> out, String name, long rows, long cols, boolean bias) {
        out.add(new Entry(name + ".weight", new long[]{rows, cols}, Kind.LINEAR));
        if (bias) out.add(new Entry(name + ".bias", new long[]{rows}, Kind.BIAS));
    }

    /** Total parameters the layout holds. */
    public static long numParameters(ModelConfig c) {
        return of(c).stream().mapToLong(Entry::numElements).sum();
    }

    /**
     * Checks that {@code st} holds every expected tensor with the expected shape and a float dtype.
     * Errors name the file (the tensor's shard, or {@code where} for a missing tensor) and the problem.
     */
    public static void check(ModelConfig c, Safetensors st, Path where) throws IOException {
        for (Entry e : of(c)) {
            if (!st.contains(e.name())) {
                throw new IllegalArgumentException(where + ": weights lack tensor '" + e.name() + "' needed by " + c.architecture());
            }
            Safetensors.Tensor t = st.tensor(e.name());
            if (!Arrays.equals(t.shape(), e.shape())) {
                throw new IllegalArgumentException(t.file() + ": tensor '" + e.name() + "' has shape " + Arrays.toString(t.shape())
                        + ", but config.json implies " + Arrays.toString(e.shape()));
            }
            if (!t.dtype().isFloat()) {
                throw new IllegalArgumentException(t.file() + ": tensor '" + e.name() + "' has dtype " + t.dtype() + ", expected a float type");
            }
        }
    }
}
