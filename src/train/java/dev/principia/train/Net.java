package dev.principia.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

import dev.principia.model.DType;
import dev.principia.model.FloatSource;
import dev.principia.model.ModelConfig;
import dev.principia.model.Safetensors;
import dev.principia.model.SafetensorsWriter;
import dev.principia.model.WeightLayout;

/**
 * A Llama decoder (or its sequence-classification twin) in libtorch, parameters named and shaped exactly as
 * {@link WeightLayout} says the server reads them: RMSNorm, rotary embeddings as HF applies them
 * ({@code rotate_half}), grouped-query attention, SwiGLU, tied embeddings. Forward passes are written with
 * torch's functional ops, so nothing but these named tensors holds state; AdamW is ours for the same reason,
 * which makes a checkpoint three safetensors maps (parameters, first and second moments) plus a step count.
 */
final class Net {
    final ModelConfig config;
    final Map<String, Tensor> params = new LinkedHashMap<>();
    private final Map<String, Tensor> m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
    private final Tensor cos, sin;
    private final int heads, kvHeads, headDim, hidden;

    Net(ModelConfig config, long seed) {
        this.config = config;
        this.hidden = config.hiddenSize();
        this.heads = config.numAttentionHeads();
        this.kvHeads = config.numKeyValueHeads();
        this.headDim = config.headDim();
        SplittableRandom rnd = new SplittableRandom(seed);
        double outStd = 0.02 / Math.sqrt(2.0 * config.numHiddenLayers());
        for (WeightLayout.Entry e : WeightLayout.of(config)) {
            int n = Math.toIntExact(e.numElements());
            float[] data = new float[n];
            if (e.kind() == WeightLayout.Kind.NORM) {
                java.util.Arrays.fill(data, 1f);
            } else if (e.kind() != WeightLayout.Kind.BIAS) {
                double std = e.name().endsWith("o_proj.weight") || e.name().endsWith("down_proj.weight") ? outStd : 0.02;
                for (int i = 0; i < n; i++) data[i] = (float) (std * rnd.nextGaussian());
            }
            put(e.name(), data, e.shape());
        }
        int maxT = config.maxPositionEmbeddings();
        float[] c = new float[maxT * headDim], s = new float[maxT * headDim];
        int half = headDim / 2;
        for (int p = 0; p < maxT; p++) {
            for (int i = 0; i < half; i++) {
                double invFreq = 1.0 / Math.pow(config.ropeTheta(), 2.0 * i / headDim);
                double a = p * invFreq;
                c[p * headDim + i] = c[p * headDim + i + half] = (float) Math.cos(a);
                s[p * headDim + i] = s[p * headDim + i + half] = (float) Math.sin(a);
            }
        }
        cos = floats(c, maxT, headDim);
        sin = floats(s, maxT, headDim);
    }

    /**
     * A trainable tensor of zeros outside {@link WeightLayout} (stepped by {@link #step} like any parameter, never
     * written to a model directory): a probe that training reads and a construction uses.
     */
    Tensor auxiliary(String name, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        put(name, new float[Math.toIntExact(n)], shape);
        return params.get(name);
    }

    private void put(String name, float[] data, long[] shape) {
        Tensor t = floats(data, shape).requires_grad_(true);
        params.put(name, t);
        m.put(name, torch.zeros_like(t));
        v.put(name, torch.zeros_like(t));
    }

    static Tensor floats(float[] data, long... shape) {
        return torch.tensor(data).view(shape).clone();
    }

    static Tensor longs(long[] data, long... shape) {
        return torch.tensor(data).view(shape).clone();
    }

    long parameterCount() {
        long n = 0;
        for (Tensor t : params.values()) n += t.numel();
        return n;
    }

    private Tensor p(String name) {
        Tensor t = params.get(name);
        if (t == null) throw new IllegalStateException("no parameter " + name);
        return t;
    }

    private Tensor norm(Tensor x, String weight) {
        return torch.rms_norm(x, new long[] {hidden}, new TensorOptional(p(weight)), new DoubleOptional(config.rmsNormEps()));
    }

    private Tensor rope(Tensor x, Tensor c, Tensor s) {
        int half = headDim / 2;
        Tensor rotated = torch.cat(new TensorVector(x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)), -1);
        return x.mul(c).add(rotated.mul(s));
    }

    /** The final-norm hidden states of {@code ids} [B, T] (int64): [B, T, hidden]. */
    Tensor hidden(Tensor ids) {
        return hidden(ids, null);
    }

    /**
     * As {@link #hidden(Tensor)}; where {@code taps} is not null, {@code taps[l]} receives the residual stream after
     * layer {@code l} (before any norm) and {@code taps[layers + l]} that layer's attention output (after its output
     * projection): what the layers above a frozen base read, for {@link LocalCheck}.
     */
    Tensor hidden(Tensor ids, Tensor[] taps) {
        long b = ids.size(0), t = ids.size(1);
        Tensor x = torch.embedding(p("model.embed_tokens.weight"), ids);
        Tensor c = cos.narrow(0, 0, t), s = sin.narrow(0, 0, t);
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            String pre = "model.layers." + l + ".";
            Tensor h = norm(x, pre + "input_layernorm.weight");
            Tensor q = h.matmul(p(pre + "self_attn.q_proj.weight").t()).view(b, t, heads, headDim).transpose(1, 2);
            Tensor k = h.matmul(p(pre + "self_attn.k_proj.weight").t()).view(b, t, kvHeads, headDim).transpose(1, 2);
            Tensor val = h.matmul(p(pre + "self_attn.v_proj.weight").t()).view(b, t, kvHeads, headDim).transpose(1, 2);
            q = rope(q, c, s);
            k = rope(k, c, s);
            if (kvHeads != heads) {
                k = k.repeat_interleave(heads / kvHeads, new org.bytedeco.pytorch.LongOptional(1), new org.bytedeco.pytorch.LongOptional());
                val = val.repeat_interleave(heads / kvHeads, new org.bytedeco.pytorch.LongOptional(1), new org.bytedeco.pytorch.LongOptional());
            }
            Tensor a = torch.scaled_dot_product_attention(q, k, val, new TensorOptional(), 0.0, true, new DoubleOptional(), false);
            a = a.transpose(1, 2).reshape(b, t, (long) heads * headDim);
            a = a.matmul(p(pre + "self_attn.o_proj.weight").t());
            if (taps != null) taps[config.numHiddenLayers() + l] = a;
            x = x.add(a);
            h = norm(x, pre + "post_attention_layernorm.weight");
            Tensor g = torch.silu(h.matmul(p(pre + "mlp.gate_proj.weight").t()));
            Tensor u = h.matmul(p(pre + "mlp.up_proj.weight").t());
            x = x.add(g.mul(u).matmul(p(pre + "mlp.down_proj.weight").t()));
            if (taps != null) taps[l] = x;
        }
        return norm(x, "model.norm.weight");
    }

    /** RMSNorm of {@code x} [..., hidden] with the weight {@code weight} (e.g. a copy of the final norm's). */
    Tensor norm(Tensor x, Tensor weight) {
        return torch.rms_norm(x, new long[] {hidden}, new TensorOptional(weight), new DoubleOptional(config.rmsNormEps()));
    }

    /** Next-token logits [B, T, vocab] (tied embeddings). */
    Tensor logits(Tensor hidden) {
        return hidden.matmul(p("model.embed_tokens.weight").t());
    }

    /** One score per sequence, read at each sequence's last token ({@code lastIndex} [B]: b*T + length-1). */
    Tensor classify(Tensor states, Tensor lastIndex) {
        Tensor flat = states.reshape(-1, hidden);
        return flat.index_select(0, lastIndex).matmul(p("score.weight").t()).view(-1);
    }

    /** The classifier's score at every token [B, T] (the server reads only the last one; training reads them all). */
    Tensor scores(Tensor states) {
        return states.matmul(p("score.weight").t()).squeeze(-1);
    }

    /** Clips the gradient norm to {@code maxNorm}, then one AdamW step; returns the norm before clipping. */
    double step(int stepNumber, double lr, double weightDecay, double maxNorm) {
        TensorVector all = new TensorVector();
        for (Tensor t : params.values()) all.push_back(t);
        double norm = torch.clip_grad_norm_(all, maxNorm);
        double b1 = 0.9, b2 = 0.95, eps = 1e-8;
        double c1 = 1 - Math.pow(b1, stepNumber), c2 = 1 - Math.pow(b2, stepNumber);
        try (NoGradGuard guard = new NoGradGuard()) {
            for (Map.Entry<String, Tensor> e : params.entrySet()) {
                Tensor w = e.getValue(), g = w.grad();
                if (g == null || !g.defined()) continue;
                Tensor mm = m.get(e.getKey()), vv = v.get(e.getKey());
                mm.mul_(new Scalar(b1)).add_(g, new Scalar(1 - b1));
                vv.mul_(new Scalar(b2)).addcmul_(g, g, new Scalar(1 - b2));
                if (w.dim() >= 2 && weightDecay > 0) w.mul_(new Scalar(1 - lr * weightDecay));
                Tensor denom = vv.div(new Scalar(c2)).sqrt().add_(new Scalar(eps), new Scalar(1));
                w.addcdiv_(mm, denom, new Scalar(-lr / c1));
                g.zero_();
            }
        }
        return norm;
    }

    /** Reads a parameter as floats. */
    float[] values(String name) {
        Tensor t = p(name).detach().contiguous();
        float[] out = new float[Math.toIntExact(t.numel())];
        FloatPointer fp = t.data_ptr_float();
        fp.get(out);
        return out;
    }

    /** Overwrites a parameter with {@code data} (its shape kept). */
    void set(String name, float[] data) {
        Tensor t = p(name);
        if (data.length != t.numel()) throw new IllegalArgumentException(name + " has " + t.numel() + " values, not " + data.length);
        copyInto(t, data);
    }

    /** Reads a tensor as floats. */
    static float[] values(Tensor t) {
        Tensor c = t.detach().contiguous();
        float[] out = new float[Math.toIntExact(c.numel())];
        c.data_ptr_float().get(out);
        return out;
    }

    private static void copyInto(Tensor dst, float[] src) {
        try (NoGradGuard guard = new NoGradGuard()) {
            dst.copy_(torch.tensor(src).view(dst.sizes().vec().get()));
        }
    }

    /** Writes parameters and both moments ({@code kind} = params, m, v) in fp32, atomically. */
    void saveCheckpoint(Path dir, int step, String meta) throws IOException {
        Files.createDirectories(dir);
        for (String kind : new String[] {"params", "m", "v"}) {
            Map<String, Tensor> map = kind.equals("params") ? params : kind.equals("m") ? m : v;
            SafetensorsWriter w = new SafetensorsWriter().metadata("step", Integer.toString(step)).metadata("meta", meta);
            for (WeightLayout.Entry e : WeightLayout.of(config)) w.add(e.name(), DType.F32, e.shape(), FloatSource.of(values(map.get(e.name()))));
            Path tmp = dir.resolve(kind + ".safetensors.tmp");
            w.write(tmp);
            Files.move(tmp, dir.resolve(kind + ".safetensors"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        Files.writeString(dir.resolve("step.txt"), step + "\n");
    }

    /** Restores what {@link #saveCheckpoint} wrote; returns its step, or 0 when {@code dir} holds none. */
    int loadCheckpoint(Path dir) throws IOException {
        if (!Files.isRegularFile(dir.resolve("step.txt"))) return 0;
        for (String kind : new String[] {"params", "m", "v"}) {
            Map<String, Tensor> map = kind.equals("params") ? params : kind.equals("m") ? m : v;
            try (Safetensors st = Safetensors.open(dir.resolve(kind + ".safetensors"))) {
                for (String name : map.keySet()) copyInto(map.get(name), st.tensor(name).toFloatArray());
            }
        }
        return Integer.parseInt(Files.readString(dir.resolve("step.txt")).trim());
    }

    /** Copies every parameter {@code from} has under the same name and shape (the GRM into its meta-RM twin). */
    void initFrom(Path modelDir) throws IOException {
        try (Safetensors st = Safetensors.open(modelDir.resolve(Safetensors.SINGLE_FILE))) {
            for (String name : params.keySet()) if (st.contains(name)) copyInto(params.get(name), st.tensor(name).toFloatArray());
        }
    }

    /**
     * Zeroes the attention and MLP output projections of layers {@code from} and up, so that those layers add nothing
     * to the residual stream: a deeper twin of a model starts computing exactly what the model does (their other weights
     * still get gradients once the output projections move).
     */
    void zeroOutputs(int from) {
        try (NoGradGuard guard = new NoGradGuard()) {
            for (int l = from; l < config.numHiddenLayers(); l++) {
                p("model.layers." + l + ".self_attn.o_proj.weight").zero_();
                p("model.layers." + l + ".mlp.down_proj.weight").zero_();
            }
        }
    }

    /**
     * Stops training the embeddings and layers below {@code layers} (their gradients are never computed, so
     * {@link #step} leaves them as they are): a deeper twin keeps its base's next-token computation exactly, and
     * only the layers above it and the head learn to read it.
     */
    void freezeBelow(int layers) {
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            String n = e.getKey();
            boolean base = n.equals("model.embed_tokens.weight");
            for (int l = 0; l < layers && !base; l++) base = n.startsWith("model.layers." + l + ".");
            if (base) e.getValue().requires_grad_(false);
        }
    }

    /** Writes the HF model directory's weights in {@code dtype}. */
    void writeWeights(Path file, DType dtype, Map<String, String> metadata) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        metadata.forEach(w::metadata);
        for (WeightLayout.Entry e : WeightLayout.of(config)) w.add(e.name(), dtype, e.shape(), FloatSource.of(values(params.get(e.name()))));
        w.write(file);
    }

    List<Tensor> parameterList() {
        return new ArrayList<>(params.values());
    }
}
