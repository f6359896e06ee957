package dev.principia.model;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Generates a random-weight HF model directory ({@code config.json} + {@code model.safetensors}, fp32)
 * from a seed. The same spec and seed always give the same bytes. Tokenizer files are not written.
 *
 * <p>Weights: linear and embedding weights ~ N(0, weightStd²) in HF layout {@code [out, in]}; biases the
 * same; norm weights ~ 1 + N(0, 0.05²).
 */
public final class TinyModel {
    private static final Map<String, String> ARCHITECTURES = Map.of(
            "llama", "LlamaForCausalLM", "qwen2", "Qwen2ForCausalLM", "qwen3", "Qwen3ForCausalLM");
    private static final double NORM_NOISE_STD = 0.05;
    private static final int CHUNK = 1 << 14;

    private TinyModel() {
    }

    /**
     * Shape of a tiny model.
     *
     * @param modelType   {@code llama}, {@code qwen2} or {@code qwen3}
     * @param bosTokenId  null for none
     * @param eosTokenIds may be empty
     * @param weightStd   standard deviation of linear/embedding weights, e.g. 0.02
     */
    public record Spec(String modelType, int vocabSize, int hiddenSize, int intermediateSize, int numLayers,
                       int numHeads, int numKvHeads, int headDim, int maxPositions, double ropeTheta,
                       boolean tieEmbeddings, Integer bosTokenId, List<Integer> eosTokenIds, double weightStd) {
        public Spec {
            if (!ARCHITECTURES.containsKey(modelType)) {
                throw new IllegalArgumentException("unsupported model type '" + modelType + "'; supported: "
                        + new java.util.TreeSet<>(ARCHITECTURES.keySet()));
            }
            eosTokenIds = List.copyOf(eosTokenIds);
            if (!(weightStd > 0)) throw new IllegalArgumentException("weightStd must be > 0, got " + weightStd);
            config(modelType, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                    maxPositions, ropeTheta, tieEmbeddings, bosTokenId, eosTokenIds);
        }

        /** The model the server embeds: Qwen3 shape with the real Qwen3 vocabulary, 2 layers of width 64. */
        public static Spec defaultQwen3Tiny() {
            return new Spec("qwen3", 151936, 64, 128, 2, 4, 2, 16, 4096, 1_000_000.0, true, null, List.of(151645), 0.02);
        }

        /** The HF config this spec writes; validates the shape. */
        public ModelConfig toConfig() {
            return config(modelType, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                    maxPositions, ropeTheta, tieEmbeddings, bosTokenId, eosTokenIds);
        }

        private static ModelConfig config(String modelType, int vocabSize, int hiddenSize, int intermediateSize,
                                          int numLayers, int numHeads, int numKvHeads, int headDim, int maxPositions,
                                          double ropeTheta, boolean tieEmbeddings, Integer bosTokenId, List<Integer> eosTokenIds) {
            return new ModelConfig(ARCHITECTURES.get(modelType), modelType, vocabSize, hiddenSize, intermediateSize,
                    numLayers, numHeads, numKvHeads, headDim, 1e-6, ropeTheta, maxPositions, tieEmbeddings,
                    bosTokenId, eosTokenIds, modelType.equals("qwen2"), false, modelType.equals("qwen3"), null);
        }
    }

    /** Writes {@code config.json} and {@code model.safetensors} into {@code dir} (created if absent). */
    public static ModelConfig generate(Spec spec, long seed, Path dir) throws IOException {
        ModelConfig c = spec.toConfig();
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(ModelConfig.FILE_NAME), c.toJson(), StandardCharsets.UTF_8);
        int h = c.hiddenSize();
        int d = c.headDim();
        int q = c.numAttentionHeads() * d;
        int kv = c.numKeyValueHeads() * d;
        int inter = c.intermediateSize();
        double std = spec.weightStd();
        var w = new SafetensorsWriter().metadata("format", "pt");
        w.add("model.embed_tokens.weight", DType.F32, shape(c.vocabSize(), h), gaussian(seed, "model.embed_tokens.weight", (long) c.vocabSize() * h, 0, std));
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String p = "model.layers." + l + ".";
            linear(w, seed, p + "self_attn.q_proj", q, h, std, c.qkvBias());
            linear(w, seed, p + "self_attn.k_proj", kv, h, std, c.qkvBias());
            linear(w, seed, p + "self_attn.v_proj", kv, h, std, c.qkvBias());
            linear(w, seed, p + "self_attn.o_proj", h, q, std, c.oProjBias());
            if (c.qkNorm()) {
                norm(w, seed, p + "self_attn.q_norm.weight", d);
                norm(w, seed, p + "self_attn.k_norm.weight", d);
            }
            linear(w, seed, p + "mlp.gate_proj", inter, h, std, false);
            linear(w, seed, p + "mlp.up_proj", inter, h, std, false);
            linear(w, seed, p + "mlp.down_proj", h, inter, std, false);
            norm(w, seed, p + "input_layernorm.weight", h);
            norm(w, seed, p + "post_attention_layernorm.weight", h);
        }
        norm(w, seed, "model.norm.weight", h);
        if (!c.tieWordEmbeddings()) {
            w.add("lm_head.weight", DType.F32, shape(c.vocabSize(), h), gaussian(seed, "lm_head.weight", (long) c.vocabSize() * h, 0, std));
        }
        w.write(dir.resolve(Safetensors.SINGLE_FILE));
        return c;
    }

    private static void linear(SafetensorsWriter w, long seed, String name, int out, int in, double std, boolean bias) {
        w.add(name + ".weight", DType.F32, shape(out, in), gaussian(seed, name + ".weight", (long) out * in, 0, std));
        if (bias) w.add(name + ".bias", DType.F32, shape(out), gaussian(seed, name + ".bias", out, 0, std));
    }

    private static void norm(SafetensorsWriter w, long seed, String name, int size) {
        w.add(name, DType.F32, shape(size), gaussian(seed, name, size, 1.0, NORM_NOISE_STD));
    }

    private static long[] shape(long... dims) {
        return dims;
    }

    /** {@code n} draws of N(mean, std²) from a generator seeded by (seed, name); repeatable. */
    private static FloatSource gaussian(long seed, String name, long n, double mean, double std) {
        long tensorSeed = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * name.hashCode())).nextLong();
        return new FloatSource() {
            @Override
            public long size() {
                return n;
            }

            @Override
            public void forEachChunk(Sink sink) throws IOException {
                var rnd = new SplittableRandom(tensorSeed);
                float[] buf = new float[(int) Math.min(CHUNK, Math.max(1, n))];
                for (long i = 0; i < n; i += buf.length) {
                    int len = (int) Math.min(buf.length, n - i);
                    for (int j = 0; j < len; j++) buf[j] = (float) (mean + std * rnd.nextGaussian());
                    sink.accept(buf, len);
                }
            }
        };
    }
}
