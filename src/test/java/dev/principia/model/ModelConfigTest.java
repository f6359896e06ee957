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
        var e = assertThrows(IllegalArgumentException.class, () -> read(QWEN3.replace("Qwen3ForCausalLM", "Gemma2ForCausalLM")));
        assertTrue(e.getMessage().contains("Gemma2ForCausalLM"), e.getMessage());
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
}
