package dev.principia.model;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Start-up memory planning: refusals say what would fit; the KV pool takes what is left, within what is useful. */
class MemoryPlanTest {
    private static final long GB = 1_000_000_000L;
    private static final List<String> BY_SIZE = List.of("fp32", "fp16", "bf16", "int8", "int4");

    /** Gemma-2-27B's shape (DeepSeek-GRM-27B). */
    static ModelConfig gemma2_27b() {
        return TestModels.edit(TestModels.gemma2Quirks(), o -> {
            o.put("vocab_size", 256000);
            o.put("hidden_size", 4608);
            o.put("intermediate_size", 36864);
            o.put("num_hidden_layers", 46);
            o.put("num_attention_heads", 32);
            o.put("num_key_value_heads", 16);
            o.put("head_dim", 128);
            o.put("max_position_embeddings", 8192);
            o.put("sliding_window", 4096);
        });
    }

    private static Map<String, Long> sizes(ModelConfig c) {
        long p = WeightLayout.numParameters(c);
        var m = new LinkedHashMap<String, Long>();
        m.put("fp32", 4 * p);
        m.put("fp16", 2 * p);
        m.put("bf16", 2 * p);
        m.put("int8", p + p / 16);
        m.put("int4", p / 2 + p / 16);
        return m;
    }

    private static MemoryPlan.Inputs inputs(ModelConfig c, String precision, long available, long configuredKv) {
        return new MemoryPlan.Inputs(c, precision, sizes(c), 4, 64, 512, 4096, configuredKv, available, "cgroup memory.max", 6 * GB, 2);
    }

    @Test
    void gemma2In16BitOn24GbIsRefusedNamingInt4() {
        ModelConfig c = gemma2_27b();
        assertEquals(27.2, WeightLayout.numParameters(c) / 1e9, 0.1);
        String m = assertThrows(MemoryPlan.DoesNotFitException.class, () -> MemoryPlan.of(inputs(c, "bf16", 24 * GB, 0), BY_SIZE)).getMessage();
        assertTrue(m.startsWith("Gemma2ForCausalLM 27.23B in bf16 needs 54.45 GB of weights"), m);
        assertTrue(m.contains("are available (cgroup memory.max)"), m);
        assertTrue(m.contains("no smaller precision fits either: use a GPU"), m);
        String m2 = assertThrows(MemoryPlan.DoesNotFitException.class, () -> MemoryPlan.of(inputs(c, "bf16", 40 * GB, 0), BY_SIZE)).getMessage();
        assertTrue(m2.contains("use int4 (about 15.32 GB) (principia.backend.weights), or a GPU"), m2);
        String m3 = assertThrows(MemoryPlan.DoesNotFitException.class, () -> MemoryPlan.of(inputs(c, "fp32", 64 * GB, 0), BY_SIZE)).getMessage();
        assertTrue(m3.contains("use int8 (about 28.93 GB) or int4 (about 15.32 GB)"), m3);
    }

    @Test
    void kvTakesWhatIsLeftCappedAtWhatTheSequencesCanUse() {
        ModelConfig c = gemma2_27b();
        MemoryPlan p = MemoryPlan.of(inputs(c, "int4", 40 * GB, 0), BY_SIZE);
        long perToken = 2L * 46 * 16 * 128 * 4;
        assertEquals(perToken, p.kvBytesPerToken());
        assertEquals(0, p.kvCacheBytes() % perToken);
        assertTrue(p.totalBytes() <= 40 * GB, p.toString());
        assertTrue(p.totalBytes() > 40 * GB - 3 * perToken * 3, "all that is left goes to the KV pool: " + p);

        ModelConfig small = TestModels.qwen3Quirks();
        MemoryPlan q = MemoryPlan.of(new MemoryPlan.Inputs(small, "fp32", sizes(small), 4, 8, 512, 128, 0, 24 * GB, "physical", GB, 2), BY_SIZE);
        assertEquals(8L * 128, q.kvCacheTokens(), "no more than 8 sequences of 128 tokens can use");
    }

    @Test
    void aConfiguredPoolThatDoesNotFitSaysTheMostThatDoes() {
        ModelConfig c = gemma2_27b();
        MemoryPlan fits = MemoryPlan.of(inputs(c, "int4", 40 * GB, 2 * GB), BY_SIZE);
        assertEquals(2 * GB - 2 * GB % fits.kvBytesPerToken(), fits.kvCacheBytes());
        String m = assertThrows(MemoryPlan.DoesNotFitException.class, () -> MemoryPlan.of(inputs(c, "int4", 40 * GB, 30 * GB), BY_SIZE)).getMessage();
        assertTrue(m.startsWith("principia.engine.kv-cache-bytes=30000000000 does not fit"), m);
        assertTrue(m.contains("set at most "), m);
    }
}
