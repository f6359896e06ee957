package dev.principia.model;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.SplittableRandom;

/**
 * Generates a random-weight HF model directory ({@code config.json} + safetensors weights, fp32 in one
 * file by default, or any float dtype in HF shards) from a config and a seed. The same config, seed and
 * output always give the same bytes. Tokenizer files are not written.
 *
 * <p>Weights: linear and embedding weights ~ N(0, weightStd²) in HF layout {@code [out, in]}; biases the
 * same; norm weights ~ 1 + N(0, 0.05²).
 */
public final class TinyModel {
    private static final Map<String, String> ARCHITECTURES = Map.of(
            "llama", "LlamaForCausalLM", "qwen2", "Qwen2ForCausalLM", "qwen3", "Qwen3ForCausalLM");
    private static final double NORM_NOISE_STD = 0.05;
    private static final int CHUNK = 1 << 14;
    private static final ObjectMapper JSON = new ObjectMapper();

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
                    bosTokenId, eosTokenIds, modelType.equals("qwen2"), false, modelType.equals("qwen3"), null,
                    "silu", headDim, 0, 0, 0, 0);
        }
    }

    /** Writes {@code config.json} and {@code model.safetensors} into {@code dir} (created if absent). */
    public static ModelConfig generate(Spec spec, long seed, Path dir) throws IOException {
        return generate(spec.toConfig(), spec.weightStd(), seed, dir, Output.F32_SINGLE_FILE);
    }

    /**
     * How weights are stored.
     *
     * @param dtype         a float dtype
     * @param maxShardBytes shard size limit: above it, weights are split over {@code model-0000i-of-0000N.safetensors}
     *                      plus {@value Safetensors#INDEX_FILE} (HF's layout); {@code Long.MAX_VALUE} for one file
     */
    public record Output(DType dtype, long maxShardBytes) {
        public static final Output F32_SINGLE_FILE = new Output(DType.F32, Long.MAX_VALUE);

        public Output {
            if (!dtype.isFloat()) throw new IllegalArgumentException("dtype must be a float type, got " + dtype);
            if (maxShardBytes <= 0) throw new IllegalArgumentException("maxShardBytes must be > 0, got " + maxShardBytes);
        }
    }

    /**
     * Writes {@code config.json} and random weights for every tensor of {@link WeightLayout#of(ModelConfig)};
     * streams tensor by tensor, so the size is bounded by disk, not heap. Norm weights are drawn around
     * their identity value (1, or 0 for Gemma's {@code 1 + w} norms).
     */
    public static ModelConfig generate(ModelConfig c, double weightStd, long seed, Path dir, Output output) throws IOException {
        if (!(weightStd > 0)) throw new IllegalArgumentException("weightStd must be > 0, got " + weightStd);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(ModelConfig.FILE_NAME), c.toJson(), StandardCharsets.UTF_8);
        double normMean = c.gemmaNorms() ? 0.0 : 1.0;
        List<List<WeightLayout.Entry>> shards = new ArrayList<>();
        long shardBytes = 0;
        for (WeightLayout.Entry e : WeightLayout.of(c)) {
            long bytes = e.numElements() * output.dtype().byteSize();
            if (shards.isEmpty() || (shardBytes > 0 && shardBytes + bytes > output.maxShardBytes())) {
                shards.add(new ArrayList<>());
                shardBytes = 0;
            }
            shards.get(shards.size() - 1).add(e);
            shardBytes += bytes;
        }
        ObjectNode weightMap = JSON.createObjectNode();
        long totalBytes = 0;
        for (int i = 0; i < shards.size(); i++) {
            String file = shards.size() == 1 ? Safetensors.SINGLE_FILE
                    : String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
            var w = new SafetensorsWriter().metadata("format", "pt");
            for (WeightLayout.Entry e : shards.get(i)) {
                FloatSource data = e.kind() == WeightLayout.Kind.NORM
                        ? gaussian(seed, e.name(), e.numElements(), normMean, NORM_NOISE_STD)
                        : gaussian(seed, e.name(), e.numElements(), 0, weightStd);
                w.add(e.name(), output.dtype(), e.shape(), data);
                weightMap.put(e.name(), file);
                totalBytes += e.numElements() * output.dtype().byteSize();
            }
            w.write(dir.resolve(file));
        }
        if (shards.size() > 1) {
            ObjectNode index = JSON.createObjectNode();
            index.putObject("metadata").put("total_size", totalBytes);
            index.set("weight_map", weightMap);
            Files.writeString(dir.resolve(Safetensors.INDEX_FILE), JSON.writeValueAsString(index), StandardCharsets.UTF_8);
        }
        return c;
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
