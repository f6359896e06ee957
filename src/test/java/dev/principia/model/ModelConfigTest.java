package dev.principia.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelConfigTest {
    @TempDir
    Path dir;

    private static final String QWEN3 = """
            {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": 151936,
             "hidden_size": 1024, "intermediate_size": 3072, "num_hidden_layers": 28,
             "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
             "rms_norm_eps": 1e-06, "rope_theta": 1000000, "rope_scaling": null,
             "max_position_embeddings": 40960, "tie_word_embeddings": true,
             "bos_token_id": 151643, "eos_token_id": [151645, 151643], "attention_bias": false}
            """;

    private ModelConfig read(String json) throws IOException {
        Files.writeString(dir.resolve("config.json"), json);
        return ModelConfig.read(dir);
    }

    @Test
    void parsesQwen3WithEosList() throws IOException {
        ModelConfig c = read(QWEN3);
        assertEquals("Qwen3ForCausalLM", c.architecture());
        assertEquals(8, c.numKeyValueHeads());
        assertEquals(128, c.headDim());
        assertEquals(1e6, c.ropeTheta());
        assertEquals(List.of(151645, 151643), c.eosTokenIds());
        assertEquals(151643, c.bosTokenId());
        assertTrue(c.qkNorm());
        assertTrue(c.tieWordEmbeddings());
        assertFalse(c.qkvBias());
        assertNull(c.ropeScalingType());
    }

    @Test
    void appliesDefaultsForLlama() throws IOException {
        ModelConfig c = read("""
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 100, "hidden_size": 64,
                 "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "max_position_embeddings": 256, "eos_token_id": 2}
                """);
        assertEquals(4, c.numKeyValueHeads());
        assertEquals(16, c.headDim());
        assertEquals(10000.0, c.ropeTheta());
        assertEquals(List.of(2), c.eosTokenIds());
        assertNull(c.bosTokenId());
        assertFalse(c.qkNorm());
        assertFalse(c.tieWordEmbeddings());
    }

    @Test
    void qwen2HasQkvBiasOnly() throws IOException {
        ModelConfig c = read(QWEN3.replace("Qwen3", "Qwen2").replace("qwen3", "qwen2").replace(", \"eos_token_id\": [151645, 151643]", ""));
        assertTrue(c.qkvBias());
        assertFalse(c.oProjBias());
        assertFalse(c.qkNorm());
        assertEquals(List.of(), c.eosTokenIds());
    }

    @Test
    void missingFieldNamesFileAndField() {
        var e = assertThrows(IllegalArgumentException.class, () -> read(QWEN3.replace("\"hidden_size\": 1024,", "")));
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());
        assertTrue(e.getMessage().contains("'hidden_size'"), e.getMessage());
        var bad = assertThrows(IllegalArgumentException.class, () -> read(QWEN3.replace("\"vocab_size\": 151936", "\"vocab_size\": \"big\"")));
        assertTrue(bad.getMessage().contains("'vocab_size'"), bad.getMessage());
    }

    @Test
    void unknownArchitectureListsSupportedOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> read(QWEN3.replace("Qwen3ForCausalLM", "MistralForCausalLM")));
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());
        assertTrue(e.getMessage().contains("'MistralForCausalLM'"), e.getMessage());
        assertTrue(e.getMessage().contains("LlamaForCausalLM") && e.getMessage().contains("Qwen2ForCausalLM"), e.getMessage());
    }

    @Test
    void toJsonRoundTrips() throws IOException {
        ModelConfig c = read(QWEN3);
        assertEquals(c, read(c.toJson()));
        ModelConfig single = TinyModel.Spec.defaultQwen3Tiny().toConfig();
        assertEquals(single, read(single.toJson()));
        assertTrue(single.toJson().contains("\"eos_token_id\" : 151645"));
    }

    @Test
    void rejectsInconsistentShapes() {
        var e = assertThrows(IllegalArgumentException.class, () -> read(QWEN3.replace("\"num_key_value_heads\": 8", "\"num_key_value_heads\": 5")));
        assertTrue(e.getMessage().contains("num_key_value_heads"), e.getMessage());
    }

    /** Gemma-2-9B's config.json fields (HF hub), with the family defaults it relies on. */
    private static final String GEMMA2_9B = """
            {"architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", "vocab_size": 256000,
             "hidden_size": 3584, "intermediate_size": 14336, "num_hidden_layers": 42,
             "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 256,
             "hidden_activation": "gelu_pytorch_tanh", "hidden_act": "gelu_pytorch_tanh",
             "query_pre_attn_scalar": 256, "sliding_window": 4096, "final_logit_softcapping": 30.0,
             "attn_logit_softcapping": 50.0, "max_position_embeddings": 8192, "rms_norm_eps": 1e-06,
             "rope_theta": 10000.0, "bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0}
            """;

    @Test
    void parsesGemma2() throws IOException {
        ModelConfig c = read(GEMMA2_9B);
        assertEquals(256, c.headDim());
        assertEquals(50.0, c.attnLogitSoftcapping());
        assertEquals(30.0, c.finalLogitSoftcapping());
        assertEquals(4096, c.slidingWindow());
        assertEquals(1 / 16.0, c.attentionScale(), 1e-12);
        assertEquals("gelu_pytorch_tanh", c.hiddenActivation());
        assertTrue(c.tieWordEmbeddings(), "Gemma2 ties embeddings by default");
        assertTrue(c.gemmaNorms());
        assertTrue(c.isSlidingLayer(0) && !c.isSlidingLayer(1) && c.isSlidingLayer(40), "HF: even layers slide");
        assertEquals(c, read(c.toJson()));
        ModelConfig off = read(GEMMA2_9B.replace("\"attn_logit_softcapping\": 50.0", "\"attn_logit_softcapping\": null")
                .replace("\"sliding_window\": 4096", "\"sliding_window\": null"));
        assertEquals(0.0, off.attnLogitSoftcapping());
        assertFalse(off.isSlidingLayer(0));
        assertEquals(off, read(off.toJson()));
    }

    @Test
    void gemma2LayerTypesMustAlternate() {
        String layerTypes = ", \"layer_types\": [" + "\"sliding_attention\", \"full_attention\", ".repeat(21);
        layerTypes = layerTypes.substring(0, layerTypes.length() - 2) + "]";
        String ok = GEMMA2_9B.replace("\"pad_token_id\": 0", "\"pad_token_id\": 0" + layerTypes);
        assertTrue(assertDoesNotThrowRead(ok).isSlidingLayer(0));
        String swapped = ok.replaceFirst("\"sliding_attention\", \"full_attention\"", "\"full_attention\", \"full_attention\"");
        var e = assertThrows(IllegalArgumentException.class, () -> read(swapped));
        assertTrue(e.getMessage().contains("layer_types"), e.getMessage());
    }

    private ModelConfig assertDoesNotThrowRead(String json) {
        try {
            return read(json);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void parsesRopeScalingAndRejectsOtherKinds() throws IOException {
        ModelConfig llama3 = read(QWEN3.replace("\"rope_scaling\": null", """
                "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                  "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}"""));
        assertEquals(RopeScaling.llama3(8, 1, 4, 8192), llama3.ropeScaling());
        assertEquals(llama3, read(llama3.toJson()));
        ModelConfig linear = read(QWEN3.replace("\"rope_scaling\": null", "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}"));
        assertEquals(RopeScaling.linear(2), linear.ropeScaling());
        var e = assertThrows(IllegalArgumentException.class, () -> read(QWEN3.replace("\"rope_scaling\": null",
                "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}")));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("'yarn'"), e.getMessage());
        var missing = assertThrows(IllegalArgumentException.class, () -> read(QWEN3.replace("\"rope_scaling\": null",
                "\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8}")));
        assertTrue(missing.getMessage().contains("low_freq_factor"), missing.getMessage());
    }

    @Test
    void llama3RopeKeepsHighFrequenciesAndDividesLowOnes() {
        RopeScaling s = RopeScaling.llama3(8, 1, 4, 8192);
        double[] plain = RopeScaling.inverseFrequencies(500000, 128, null);
        double[] scaled = RopeScaling.inverseFrequencies(500000, 128, s);
        assertEquals(plain[0], scaled[0], 0.0);
        assertEquals(plain[63] / 8, scaled[63], 1e-18);
        double[] linear = RopeScaling.inverseFrequencies(10000, 16, RopeScaling.linear(2));
        assertEquals(0.5, linear[0], 0.0);
    }

    @Test
    void classifierVariantsCarryNumLabels() throws IOException {
        ModelConfig c = read(QWEN3.replace("Qwen3ForCausalLM", "Qwen3ForSequenceClassification")
                .replace("\"attention_bias\": false", "\"attention_bias\": false, \"id2label\": {\"0\": \"LABEL_0\"}"));
        assertTrue(c.isSequenceClassifier());
        assertEquals(1, c.numLabels());
        assertEquals(c, read(c.toJson()));
        assertEquals(2, read(QWEN3.replace("Qwen3ForCausalLM", "Qwen3ForSequenceClassification")).numLabels(), "HF default");
        assertEquals(0, read(QWEN3).numLabels());
        assertEquals(3, read(GEMMA2_9B.replace("Gemma2ForCausalLM", "Gemma2ForSequenceClassification")
                .replace("\"pad_token_id\": 0", "\"pad_token_id\": 0, \"num_labels\": 3")).numLabels());
    }
}
