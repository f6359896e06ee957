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
 * The decoder shape from an HF {@code config.json}. Supported families: {@code llama}; {@code qwen2}
 * (biases on q/k/v); {@code qwen3} (per-head RMSNorm {@code q_norm}/{@code k_norm} on queries and keys
 * before RoPE); {@code gemma2} (see below). Each as {@code *ForCausalLM} (an lm_head over the vocabulary)
 * or {@code *ForSequenceClassification} (a {@code score} head of {@code numLabels} logits read at the
 * last non-padding token).
 *
 * <p>Gemma2 (HF {@code modeling_gemma2}): embeddings scaled by {@code sqrt(hidden)}; RMSNorm multiplies by
 * {@code (1 + w)}; four norms per layer ({@code input_layernorm} before attention,
 * {@code post_attention_layernorm} on the attention output, {@code pre_feedforward_layernorm} before the
 * MLP, {@code post_feedforward_layernorm} on its output); GeGLU with tanh-approximate GELU; attention
 * scale {@code query_pre_attn_scalar^-0.5}; scores soft-capped {@code cap * tanh(s / cap)} before the mask;
 * final logits soft-capped likewise (causal LM only; HF's classifier head has no cap); layers with even
 * index use sliding-window attention (HF: {@code sliding_window if not bool(layer_idx % 2)}, and
 * {@code layer_types} = "sliding_attention" for {@code (i + 1) % 2 == 1}).
 *
 * @param architecture          first entry of {@code architectures}, e.g. {@code Qwen3ForCausalLM}
 * @param modelType             {@code llama}, {@code qwen2}, {@code qwen3} or {@code gemma2}
 * @param numKeyValueHeads      divides {@code numAttentionHeads}
 * @param headDim               even; need not equal {@code hiddenSize / numAttentionHeads} (Qwen3, Gemma2)
 * @param bosTokenId            null when the config names none
 * @param eosTokenIds           empty when the config names none
 * @param qkvBias               q/k/v projections carry a bias
 * @param oProjBias             o_proj carries a bias
 * @param qkNorm                per-head RMSNorm on q and k (Qwen3)
 * @param ropeScaling           null when RoPE is unscaled
 * @param hiddenActivation      MLP gate activation: {@code silu} or {@code gelu_pytorch_tanh}
 * @param queryPreAttnScalar    attention scores are scaled by {@code queryPreAttnScalar^-0.5}; {@code headDim} except Gemma2
 * @param attnLogitSoftcapping  cap on attention scores, 0 = none
 * @param finalLogitSoftcapping cap on the lm_head logits, 0 = none
 * @param slidingWindow         window of the sliding layers (key j visible to query i iff {@code i - j < window}), 0 = none
 * @param numLabels             logits of the classification head; 0 for causal LMs, > 0 for classifiers
 */
public record ModelConfig(String architecture, String modelType, int vocabSize, int hiddenSize, int intermediateSize,
                          int numHiddenLayers, int numAttentionHeads, int numKeyValueHeads, int headDim,
                          double rmsNormEps, double ropeTheta, int maxPositionEmbeddings, boolean tieWordEmbeddings,
                          Integer bosTokenId, List<Integer> eosTokenIds, boolean qkvBias, boolean oProjBias,
                          boolean qkNorm, RopeScaling ropeScaling, String hiddenActivation, double queryPreAttnScalar,
                          double attnLogitSoftcapping, double finalLogitSoftcapping, int slidingWindow, int numLabels) {

    public static final String FILE_NAME = "config.json";
    public static final String CAUSAL_LM = "ForCausalLM", SEQUENCE_CLASSIFICATION = "ForSequenceClassification";
    public static final List<String> ACTIVATIONS = List.of("silu", "gelu_pytorch_tanh");

    /** Supported {@code architectures[0]} values and the {@code model_type} each implies. */
    public static final Map<String, String> SUPPORTED_ARCHITECTURES = Map.of(
            "LlamaForCausalLM", "llama", "LlamaForSequenceClassification", "llama",
            "Qwen2ForCausalLM", "qwen2", "Qwen2ForSequenceClassification", "qwen2",
            "Qwen3ForCausalLM", "qwen3", "Qwen3ForSequenceClassification", "qwen3",
            "Gemma2ForCausalLM", "gemma2", "Gemma2ForSequenceClassification", "gemma2");

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public ModelConfig {
        String expectedType = SUPPORTED_ARCHITECTURES.get(architecture);
        if (expectedType == null) throw unsupported(architecture);
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
        if (!ACTIVATIONS.contains(hiddenActivation)) {
            throw new IllegalArgumentException("hidden activation '" + hiddenActivation + "' is not supported; supported: " + ACTIVATIONS);
        }
        if (!(queryPreAttnScalar > 0)) throw new IllegalArgumentException("query_pre_attn_scalar must be > 0, got " + queryPreAttnScalar);
        if (!(attnLogitSoftcapping >= 0)) throw new IllegalArgumentException("attn_logit_softcapping must be >= 0, got " + attnLogitSoftcapping);
        if (!(finalLogitSoftcapping >= 0)) throw new IllegalArgumentException("final_logit_softcapping must be >= 0, got " + finalLogitSoftcapping);
        if (slidingWindow < 0) throw new IllegalArgumentException("sliding_window must be >= 0, got " + slidingWindow);
        boolean classifier = architecture.endsWith(SEQUENCE_CLASSIFICATION);
        if (classifier && numLabels <= 0) throw new IllegalArgumentException(architecture + " needs num_labels > 0, got " + numLabels);
        if (!classifier && numLabels != 0) throw new IllegalArgumentException(architecture + " has no classification head; numLabels must be 0, got " + numLabels);
    }

    private static IllegalArgumentException unsupported(String architecture) {
        return new IllegalArgumentException("unsupported architecture '" + architecture + "'; supported: "
                + new java.util.TreeSet<>(SUPPORTED_ARCHITECTURES.keySet()));
    }

    private static void requirePositive(String field, int v) {
        if (v <= 0) throw new IllegalArgumentException(field + " must be > 0, got " + v);
    }

    /** Query heads per key/value head. */
    public int numQueriesPerKv() {
        return numAttentionHeads / numKeyValueHeads;
    }

    /** {@code rope_scaling}'s kind, or null when unscaled. */
    public String ropeScalingType() {
        return ropeScaling == null ? null : ropeScaling.type();
    }

    /** A {@code *ForSequenceClassification} model: {@code score.weight [numLabels, hidden]}, no lm_head. */
    public boolean isSequenceClassifier() {
        return numLabels > 0;
    }

    /** Gemma-style numerics: (1 + w) norms, pre/post norms around attention and MLP, sqrt(hidden) embedding scale. */
    public boolean gemmaNorms() {
        return modelType.equals("gemma2");
    }

    /** Whether layer {@code layer} attends within {@link #slidingWindow} only (Gemma2: even layers). */
    public boolean isSlidingLayer(int layer) {
        return slidingWindow > 0 && layer % 2 == 0;
    }

    /** The factor on q·k: {@code queryPreAttnScalar^-0.5}. */
    public double attentionScale() {
        return 1.0 / Math.sqrt(queryPreAttnScalar);
    }

    /** Reads {@code dir/config.json}; errors name the file and the field. */
    public static ModelConfig read(Path dir) throws IOException {
        Path file = Files.isDirectory(dir) ? dir.resolve(FILE_NAME) : dir;
        if (!Files.isRegularFile(file)) throw new IOException(file + ": file not found");
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
        if (!SUPPORTED_ARCHITECTURES.containsKey(architecture)) throw unsupported(architecture);
        String modelType = root.hasNonNull("model_type") ? root.get("model_type").asText() : SUPPORTED_ARCHITECTURES.get(architecture);
        boolean gemma2 = modelType.equals("gemma2");
        int hidden = requiredInt(root, "hidden_size");
        int heads = requiredInt(root, "num_attention_heads");
        int kvHeads = optionalInt(root, "num_key_value_heads", heads);
        if (heads <= 0) throw new IllegalArgumentException("field 'num_attention_heads' must be > 0, got " + heads);
        int headDim = optionalInt(root, "head_dim", gemma2 ? 256 : hidden / heads);
        boolean bias = optionalBool(root, "attention_bias", false);
        boolean qwen2 = modelType.equals("qwen2");
        if (qwen2 && optionalBool(root, "use_sliding_window", false)) {
            throw new IllegalArgumentException("field 'use_sliding_window': Qwen2 sliding-window attention is not supported");
        }
        String activation = gemma2
                ? textOr(root, "hidden_activation", textOr(root, "hidden_act", "gelu_pytorch_tanh"))
                : textOr(root, "hidden_act", "silu");
        int layers = requiredInt(root, "num_hidden_layers");
        int window = gemma2 ? capOrDefault(root, "sliding_window", 4096) : 0;
        if (gemma2) checkLayerTypes(root.get("layer_types"), layers, window);
        boolean classifier = architecture.endsWith(SEQUENCE_CLASSIFICATION);
        return new ModelConfig(architecture, modelType,
                requiredInt(root, "vocab_size"), hidden, requiredInt(root, "intermediate_size"),
                layers, heads, kvHeads, headDim,
                optionalDouble(root, "rms_norm_eps", 1e-6), optionalDouble(root, "rope_theta", 10000.0),
                requiredInt(root, "max_position_embeddings"), optionalBool(root, "tie_word_embeddings", gemma2),
                root.hasNonNull("bos_token_id") ? intValue(root.get("bos_token_id"), "bos_token_id") : null,
                eosIds(root.get("eos_token_id")), qwen2 || bias, !qwen2 && bias, modelType.equals("qwen3"),
                RopeScaling.parse(root.get("rope_scaling")), activation,
                gemma2 ? optionalDouble(root, "query_pre_attn_scalar", 256) : headDim,
                gemma2 ? capOrDefault(root, "attn_logit_softcapping", 50.0) : 0,
                gemma2 ? capOrDefault(root, "final_logit_softcapping", 30.0) : 0,
                window, classifier ? numLabels(root) : 0);
    }

    /** Absent: the family default; explicit null: off (0). */
    private static double capOrDefault(JsonNode root, String field, double dflt) {
        if (!root.has(field)) return dflt;
        return root.get(field).isNull() ? 0 : optionalDouble(root, field, dflt);
    }

    private static int capOrDefault(JsonNode root, String field, int dflt) {
        if (!root.has(field)) return dflt;
        return root.get(field).isNull() ? 0 : optionalInt(root, field, dflt);
    }

    /** Newer HF configs spell the pattern out; only Gemma2's alternation (even layers sliding) is supported. */
    private static void checkLayerTypes(JsonNode types, int layers, int window) {
        if (types == null || types.isNull()) return;
        if (!types.isArray() || types.size() != layers) {
            throw new IllegalArgumentException("field 'layer_types' must list " + layers + " layer types, got " + types);
        }
        for (int i = 0; i < layers; i++) {
            String expected = window > 0 && i % 2 == 0 ? "sliding_attention" : "full_attention";
            if (!types.get(i).asText().equals(expected)) {
                throw new IllegalArgumentException("field 'layer_types'[" + i + "] is '" + types.get(i).asText()
                        + "'; only Gemma2's pattern (even layers sliding_attention) is supported");
            }
        }
    }

    /** HF: {@code num_labels} when given, else the size of {@code id2label}, else 2. */
    private static int numLabels(JsonNode root) {
        if (root.hasNonNull("num_labels")) return intValue(root.get("num_labels"), "num_labels");
        JsonNode id2label = root.get("id2label");
        if (id2label != null && id2label.isObject() && !id2label.isEmpty()) return id2label.size();
        return 2;
    }

    private static String textOr(JsonNode root, String field, String dflt) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isTextual()) throw new IllegalArgumentException("field '" + field + "' must be a string, got " + n);
        return n.asText();
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

    /** A {@code config.json} that HF {@code AutoConfig} accepts for this shape; {@link #parse} reads it back equal. */
    public String toJson() {
        boolean gemma2 = modelType.equals("gemma2");
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
        o.put(gemma2 ? "hidden_activation" : "hidden_act", hiddenActivation);
        o.put("rms_norm_eps", rmsNormEps);
        o.put("rope_theta", ropeTheta);
        if (ropeScaling == null) {
            o.putNull("rope_scaling");
        } else {
            ropeScaling.writeTo(o.putObject("rope_scaling"));
        }
        o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("tie_word_embeddings", tieWordEmbeddings);
        if (!modelType.equals("qwen2")) o.put("attention_bias", qkvBias);
        if (gemma2) {
            o.put("query_pre_attn_scalar", queryPreAttnScalar);
            putCap(o, "attn_logit_softcapping", attnLogitSoftcapping);
            putCap(o, "final_logit_softcapping", finalLogitSoftcapping);
            if (slidingWindow > 0) o.put("sliding_window", slidingWindow); else o.putNull("sliding_window");
        }
        if (numLabels > 0) {
            ObjectNode id2label = o.putObject("id2label"), label2id = o.putObject("label2id");
            for (int i = 0; i < numLabels; i++) {
                id2label.put(Integer.toString(i), "LABEL_" + i);
                label2id.put("LABEL_" + i, i);
            }
        }
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

    private static void putCap(ObjectNode o, String field, double cap) {
        if (cap > 0) o.put(field, cap); else o.putNull(field);
    }
}
