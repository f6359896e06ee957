package dev.principia.model;

import dev.principia.backend.Batch;
import dev.principia.backend.onnx.OnnxBackend;
import dev.principia.model.onnx.OnnxExporter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TinyModelTest {
    @TempDir
    Path dir;

    @Test
    void sameSeedSameBytesOtherSeedOtherBytes() throws Exception {
        TinyModel.generate(TestModels.qwen2(), 1, dir.resolve("a"));
        TinyModel.generate(TestModels.qwen2(), 1, dir.resolve("b"));
        TinyModel.generate(TestModels.qwen2(), 2, dir.resolve("c"));
        byte[] a = Files.readAllBytes(dir.resolve("a/model.safetensors"));
        assertArrayEquals(a, Files.readAllBytes(dir.resolve("b/model.safetensors")));
        assertFalse(java.util.Arrays.equals(a, Files.readAllBytes(dir.resolve("c/model.safetensors"))));
    }

    @Test
    void writesHfTensorNamesAndShapes() throws Exception {
        TinyModel.generate(TestModels.qwen2(), 1, dir);
        try (Safetensors st = Safetensors.open(dir)) {
            assertArrayEquals(new long[]{512, 64}, st.tensor("model.embed_tokens.weight").shape());
            assertArrayEquals(new long[]{64, 64}, st.tensor("model.layers.1.self_attn.q_proj.weight").shape());
            assertArrayEquals(new long[]{32, 64}, st.tensor("model.layers.1.self_attn.k_proj.weight").shape());
            assertArrayEquals(new long[]{32}, st.tensor("model.layers.0.self_attn.v_proj.bias").shape());
            assertArrayEquals(new long[]{64, 128}, st.tensor("model.layers.0.mlp.down_proj.weight").shape());
            assertTrue(st.contains("lm_head.weight"));
            assertFalse(st.contains("model.layers.0.self_attn.q_norm.weight"));
            float[] emb = st.tensor("model.embed_tokens.weight").toFloatArray();
            double ss = 0;
            for (float v : emb) ss += v * v;
            assertEquals(0.1, Math.sqrt(ss / emb.length), 0.005);
        }
    }

    @Test
    void defaultQwen3TinyExportsAndRuns() throws Exception {
        TinyModel.Spec spec = TinyModel.Spec.defaultQwen3Tiny();
        long t0 = System.nanoTime();
        ModelConfig c = TinyModel.generate(spec, 0, dir);
        long t1 = System.nanoTime();
        Path onnx = dir.resolve("model.onnx");
        OnnxExporter.exportDecoder(dir, onnx);
        long t2 = System.nanoTime();
        try (Safetensors st = Safetensors.open(dir)) {
            assertTrue(st.contains("model.layers.1.self_attn.k_norm.weight"));
            assertFalse(st.contains("lm_head.weight"));
        }
        try (var backend = new OnnxBackend(onnx, c, new OnnxBackend.Options(1, 4, 4096))) {
            long t3 = System.nanoTime();
            float[] logits = backend.execute(new Batch(List.of(new Batch.Entry(0, new int[]{9707, 11, 1879, 0}, 0)))).logits()[0];
            assertEquals(151936, logits.length);
            assertNotEquals(logits[0], logits[1]);
            int steps = 20;
            long t4 = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                logits = backend.execute(new Batch(List.of(new Batch.Entry(0, new int[]{100 + i}, 4 + i)))).logits()[0];
            }
            long t5 = System.nanoTime();
            for (float v : logits) assertTrue(Float.isFinite(v));
            System.out.printf("default qwen3-tiny: generate %d ms, export %d ms, load %d ms, decode %.2f ms/token%n",
                    (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (t3 - t2) / 1_000_000, (t5 - t4) / 1e6 / steps);
        }
    }
}
