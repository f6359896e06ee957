package dev.principia.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The decoder shape from an HF {@code config.json}. Supported families are Llama-shaped:
 * {@code llama}; {@code qwen2} (biases on q/k/v); {@code qwen3} (per-head RMSNorm {@code q_norm}/{@code k_norm}
 * on queries and keys before RoPE).
 *
 * @param architecture          first entry of {@code architectures}, e.g. {@code Qwen3ForCausalLM}
 * @param modelType             {@code llama}, {@code qwen2} or {@code qwen3}
 * @param numKeyValueHeads      divides {@code numAttentionHeads}
 * @param headDim               even; need not equal {@code hiddenSize / numAttentionHeads} (Qwen3)
 * @param bosTokenId            null when the config names none
 * @param eosTokenIds           empty when the config names none
 * @param qkvBias               q/k/v projections carry a bias
 * @param oProjBias             o_proj carries a bias
 * @param qkNorm                per-head RMSNorm on q and k (Qwen3)
 * @param ropeScalingType       {@code rope_scaling.rope_type}, or null when RoPE is unscaled
 */
public record ModelConfig(String architecture, String modelType, int vocabSize, int hiddenSize, int intermediateSize,
                          int numHiddenLayers, int numAttentionHeads, int numKeyValueHeads, int headDim,
                          double rmsNormEps, double ropeTheta, int maxPositionEmbeddings, boolean tieWordEmbeddings,
                          Integer bosTokenId, List<Integer> eosTokenIds, boolean qkvBias, boolean oProjBias,
                          boolean qkNorm, String ropeScalingType) {

    public static final String FILE_NAME = "config.json";

    /** Supported {@code architectures[0]} values and the {@code model_type} each implies. */
    public static final Map<String, String> SUPPORTED_ARCHITECTURES = Map.of(
            "LlamaForCausalLM", "llama",
            "Qwen2ForCausalLM", "qwen2",
            "Qwen3ForCausalLM", "qwen3");

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public ModelConfig {
        String expectedType = SUPPORTED_ARCHITECTURES.get(architecture);
        if (expectedType == null) {
            throw new IllegalArgumentException("unsupported architecture '" + architecture + "'; supported: "
                    + new java.util.TreeSet<>(SUPPORTED_ARCHITECTURES.keySet()));
        }
        if (!expectedType.equals(modelType)) {
            throw new IllegalArgumentException("model_type '" + modelType + "' does not match architecture " + architecture
                    + " (expected '" + expectedType + "')");
        }
        requirePositive("vocab_size", vocabSize);
        requirePositive("hidden_size", hiddenSize);
        requirePositive("intermediate_size", intermediateSize);
        requirePositive("num_hidden_layers", numHiddenLayers);
        requirePositive("num_attention_heads", numAttentionHeads);
        requirePositive("num_key_value_heads", numKeyValueHeads);
        requirePositive("head_dim", headDim);
        requirePositive("max_position_embeddings", maxPositionEmbeddings);
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads " + numAttentionHeads + " is not a multiple of num_key_value_heads " + numKeyValueHeads);
        }
        if (headDim % 2 != 0) throw new IllegalArgumentException("head_dim must be even for RoPE, got " + headDim);
        if (!(rmsNormEps > 0)) throw new IllegalArgumentException("rms_norm_eps must be > 0, got " + rmsNormEps);
        if (!(ropeTheta > 0)) throw new IllegalArgumentException("rope_theta must be > 0, got " + ropeTheta);
        eosTokenIds = List.copyOf(eosTokenIds);
        for (int id : eosTokenIds) {
            if (id < 0) throw new IllegalArgumentException("eos_token_id must be >= 0, got " + id);
        }
        if (bosTokenId != null && bosTokenId < 0) throw new IllegalArgumentException("bos_token_id must be >= 0, got " + bosTokenId);
    }

    private static void requirePositive(String field, int v) {
        if (v <= 0) throw new IllegalArgumentException(field + " must be > 0, got " + v);
    }

    /** Query heads per key/value head. */
    public int numQueriesPerKv() {
        return numAttentionHeads / numKeyValueHeads;
    }

    /** Reads {@code dir/config.json}; errors name the file and the field. */
    public static ModelConfig read(Path dir) throws IOException {
        Path file = Files.isDirectory(dir) ? dir.resolve(FILE_NAME) : dir;
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": cannot read JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) throw new IOException(file + ": not a JSON object");
        try {
            return parse(root);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** Parses a config object; errors name the field. */
    public static ModelConfig parse(JsonNode root) {
        JsonNode archs = root.get("architectures");
        if (archs == null || !archs.isArray() || archs.isEmpty() || !archs.get(0).isTextual()) {
            throw new IllegalArgumentException("field 'architectures' must be a non-empty list of strings");
        }
        String architecture = archs.get(0).asText();
        if (!SUPPORTED_ARCHITECTURES.containsKey(architecture)) {
            throw new IllegalArgumentException("unsupported architecture '" + architecture + "'; supported: "
                    + new java.util.TreeSet<>(SUPPORTED_ARCHITECTURES.keySet()));
        }
        String modelType = root.hasNonNull("model_type") ? root.get("model_type").asText() : SUPPORTED_ARCHITECTURES.get(architecture);
        int hidden = requiredInt(root, "hidden_size");
        int heads = requiredInt(root, "num_attention_heads");
        int kvHeads = optionalInt(root, "num_key_value_heads", heads);
        if (heads <= 0) throw new IllegalArgumentException("field 'num_attention_heads' must be > 0, got " + heads);
        int headDim = optionalInt(root, "head_dim", hidden / heads);
        boolean bias = optionalBool(root, "attention_bias", false);
        boolean qwen2 = modelType.equals("qwen2");
        String ropeType = null;
        JsonNode scaling = root.get("rope_scaling");
        if (scaling != null && !scaling.isNull()) {
            JsonNode t = scaling.has("rope_type") ? scaling.get("rope_type") : scaling.get("type");
            ropeType = t == null ? "unknown" : t.asText();
            if (ropeType.equals("default")) ropeType = null;
        }
        return new ModelConfig(architecture, modelType,
                requiredInt(root, "vocab_size"), hidden, requiredInt(root, "intermediate_size"),
                requiredInt(root, "num_hidden_layers"), heads, kvHeads, headDim,
                optionalDouble(root, "rms_norm_eps", 1e-6), optionalDouble(root, "rope_theta", 10000.0),
                requiredInt(root, "max_position_embeddings"), optionalBool(root, "tie_word_embeddings", false),
                root.hasNonNull("bos_token_id") ? intValue(root.get("bos_token_id"), "bos_token_id") : null,
                eosIds(root.get("eos_token_id")), qwen2 || bias, !qwen2 && bias, modelType.equals("qwen3"), ropeType);
    }

    private static List<Integer> eosIds(JsonNode n) {
        var out = new ArrayList<Integer>();
        if (n == null || n.isNull()) return out;
        if (n.isArray()) {
            for (JsonNode e : n) out.add(intValue(e, "eos_token_id"));
        } else {
            out.add(intValue(n, "eos_token_id"));
        }
        return out;
    }

    private static int requiredInt(JsonNode root, String field) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) throw new IllegalArgumentException("missing field '" + field + "'");
        return intValue(n, field);
    }

    private static int optionalInt(JsonNode root, String field, int dflt) {
        JsonNode n = root.get(field);
        return n == null || n.isNull() ? dflt : intValue(n, field);
    }

    private static int intValue(JsonNode n, String field) {
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new IllegalArgumentException("field '" + field + "' must be an integer, got " + n);
        }
        return n.asInt();
    }

    private static double optionalDouble(JsonNode root, String field, double dflt) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isNumber()) throw new IllegalArgumentException("field '" + field + "' must be a number, got " + n);
        return n.asDouble();
    }

    private static boolean optionalBool(JsonNode root, String field, boolean dflt) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isBoolean()) throw new IllegalArgumentException("field '" + field + "' must be true or false, got " + n);
        return n.asBoolean();
    }

    /** A {@code config.json} that HF {@code AutoConfig}/{@code AutoModelForCausalLM} accept for this shape. */
    public String toJson() {
        if (ropeScalingType != null) throw new IllegalStateException("rope_scaling '" + ropeScalingType + "' cannot be written back");
        ObjectNode o = JSON.createObjectNode();
        o.putArray("architectures").add(architecture);
        o.put("model_type", modelType);
        o.put("vocab_size", vocabSize);
        o.put("hidden_size", hiddenSize);
        o.put("intermediate_size", intermediateSize);
        o.put("num_hidden_layers", numHiddenLayers);
        o.put("num_attention_heads", numAttentionHeads);
        o.put("num_key_value_heads", numKeyValueHeads);
        o.put("head_dim", headDim);
        o.put("hidden_act", "silu");
        o.put("rms_norm_eps", rmsNormEps);
        o.put("rope_theta", ropeTheta);
        o.putNull("rope_scaling");
        o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("tie_word_embeddings", tieWordEmbeddings);
        if (!modelType.equals("qwen2")) o.put("attention_bias", qkvBias);
        o.put("attention_dropout", 0.0);
        o.put("initializer_range", 0.02);
        o.put("use_cache", true);
        o.put("torch_dtype", "float32");
        if (bosTokenId != null) o.put("bos_token_id", bosTokenId);
        if (eosTokenIds.size() == 1) {
            o.put("eos_token_id", eosTokenIds.get(0));
        } else if (!eosTokenIds.isEmpty()) {
            var arr = o.putArray("eos_token_id");
            eosTokenIds.forEach(arr::add);
        }
        try {
            return JSON.writeValueAsString(o) + "\n";
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
