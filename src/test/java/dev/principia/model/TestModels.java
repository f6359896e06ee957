package dev.principia.model;

import dev.principia.model.onnx.OnnxExporter;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

/**
 * Tiny model specs for tests: vocab 512, GQA (4 query heads over 2 KV heads), 2 layers (3 for Gemma2, so
 * that sliding and global layers both occur and a sliding one follows a global one). The {@code *Quirks}
 * configs switch each family's peculiarities on, sized so that they change the output measurably
 * (window 4 under 15-token tests, soft caps near the typical score and logit sizes).
 */
public final class TestModels {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TestModels() {
    }

    /** Llama, untied lm_head, headDim = hidden / heads. */
    public static TinyModel.Spec llama() {
        return new TinyModel.Spec("llama", 512, 64, 128, 2, 4, 2, 16, 128, 10000.0, false, 1, List.of(2), 0.1);
    }

    /** Qwen2 (q/k/v biases), untied. */
    public static TinyModel.Spec qwen2() {
        return new TinyModel.Spec("qwen2", 512, 64, 128, 2, 4, 2, 16, 128, 1_000_000.0, false, null, List.of(2, 3), 0.1);
    }

    /** Qwen3 (q_norm/k_norm), tied, headDim 32 != hidden / heads. */
    public static TinyModel.Spec qwen3() {
        return new TinyModel.Spec("qwen3", 512, 64, 128, 2, 4, 2, 32, 128, 1_000_000.0, true, null, List.of(2), 0.1);
    }

    /** Llama with llama3 RoPE scaling whose bands (wavelength 8..32) split headDim 16's frequencies three ways. */
    public static ModelConfig llamaQuirks() {
        return edit(llama().toConfig(), o -> o.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0)
                .put("low_freq_factor", 1.0).put("high_freq_factor", 4.0).put("original_max_position_embeddings", 32));
    }

    /** Qwen2 (q/k/v biases) with linear RoPE scaling, factor 2. */
    public static ModelConfig qwen2Quirks() {
        return edit(qwen2().toConfig(), o -> o.putObject("rope_scaling").put("type", "linear").put("factor", 2.0));
    }

    /** Qwen3: q/k norm, tied, headDim 32 != hidden / heads. */
    public static ModelConfig qwen3Quirks() {
        return qwen3().toConfig();
    }

    /**
     * Gemma2, 3 layers (0 and 2 sliding, window 4), headDim 32, query_pre_attn_scalar 24 (!= headDim),
     * attention cap 2, final cap 3, tied embeddings, GeGLU.
     */
    public static ModelConfig gemma2Quirks() {
        return config("""
                {"architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", "vocab_size": 512, "hidden_size": 64,
                 "intermediate_size": 128, "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2,
                 "head_dim": 32, "hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": 128,
                 "rms_norm_eps": 1e-06, "rope_theta": 10000.0, "query_pre_attn_scalar": 24, "sliding_window": 4,
                 "attn_logit_softcapping": 2.0, "final_logit_softcapping": 3.0, "tie_word_embeddings": true,
                 "bos_token_id": 2, "eos_token_id": [1, 107], "pad_token_id": 0}
                """);
    }

    /** The same decoder as a {@code *ForSequenceClassification} with {@code numLabels} labels. */
    public static ModelConfig classifier(ModelConfig causal, int numLabels) {
        String arch = causal.architecture().replace(ModelConfig.CAUSAL_LM, ModelConfig.SEQUENCE_CLASSIFICATION);
        return edit(causal, o -> {
            o.putArray("architectures").add(arch);
            o.put("num_labels", numLabels);
        });
    }

    /** {@code base} with its config.json edited. */
    public static ModelConfig edit(ModelConfig base, Consumer<ObjectNode> change) {
        try {
            ObjectNode o = (ObjectNode) JSON.readTree(base.toJson());
            change.accept(o);
            return ModelConfig.parse(o);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static ModelConfig config(String json) {
        try {
            return ModelConfig.parse(JSON.readTree(json));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Generates {@code config} (weights N(0, 0.1²), fp32) into {@code dir}. */
    public static ModelConfig generate(ModelConfig config, long seed, Path dir) throws IOException {
        return TinyModel.generate(config, 0.1, seed, dir, TinyModel.Output.F32_SINGLE_FILE);
    }

    /** Generates {@code spec} into {@code dir} and exports {@code dir/model.onnx}; returns the .onnx path. */
    public static Path exported(TinyModel.Spec spec, long seed, Path dir) throws IOException {
        TinyModel.generate(spec, seed, dir);
        Path onnx = dir.resolve("model.onnx");
        OnnxExporter.exportDecoder(dir, onnx);
        return onnx;
    }
}
