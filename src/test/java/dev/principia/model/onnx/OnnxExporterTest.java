package dev.principia.model.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.principia.model.DType;
import dev.principia.model.ModelConfig;
import dev.principia.model.ReferenceDecoder;
import dev.principia.model.Safetensors;
import dev.principia.model.SafetensorsWriter;
import dev.principia.model.TestModels;
import dev.principia.model.TinyModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The exported graph run directly in ONNX Runtime against the float64 reference, every position of a
 * prompt. Relative error = max|ort - ref| / max|ref| over one position's logits.
 */
class OnnxExporterTest {
    private static final int[] PROMPT = {5, 17, 300, 42, 7, 511, 0, 99, 256, 3, 128};
    @TempDir
    Path dir;

    @Test
    void llamaPrefillMatchesReference() throws Exception {
        assertPrefillMatchesReference(TestModels.llama());
    }

    @Test
    void qwen2PrefillMatchesReference() throws Exception {
        assertPrefillMatchesReference(TestModels.qwen2());
    }

    @Test
    void qwen3PrefillMatchesReference() throws Exception {
        assertPrefillMatchesReference(TestModels.qwen3());
    }

    private void assertPrefillMatchesReference(TinyModel.Spec spec) throws Exception {
        Path onnx = TestModels.exported(spec, 42, dir);
        double[][] ref = new ReferenceDecoder(dir).forward(PROMPT);
        float[][] got = runPrompt(onnx, spec.toConfig(), PROMPT, allOnes(PROMPT.length));
        double worst = 0;
        for (int t = 0; t < PROMPT.length; t++) worst = Math.max(worst, ReferenceDecoder.relativeError(got[t], ref[t]));
        System.out.printf("%s prefill: max relative error %.2e over %d positions%n", spec.modelType(), worst, PROMPT.length);
        assertTrue(worst <= 1e-4, spec.modelType() + ": relative error " + worst);
    }

    @Test
    void bf16CheckpointExportsAndMatchesReference() throws Exception {
        TinyModel.Spec spec = TestModels.llama();
        Path f32 = dir.resolve("f32");
        TinyModel.generate(spec, 8, f32);
        Path bf16 = dir.resolve("bf16");
        Files.createDirectories(bf16);
        Files.copy(f32.resolve(ModelConfig.FILE_NAME), bf16.resolve(ModelConfig.FILE_NAME));
        try (Safetensors st = Safetensors.open(f32)) {
            var w = new SafetensorsWriter();
            for (String name : st.names()) w.add(name, DType.BF16, st.tensor(name).shape(), st.tensor(name));
            w.write(bf16.resolve(Safetensors.SINGLE_FILE));
        }
        Path onnx = bf16.resolve("model.onnx");
        OnnxExporter.exportDecoder(bf16, onnx);
        double[][] ref = new ReferenceDecoder(bf16).forward(PROMPT);
        float[][] got = runPrompt(onnx, spec.toConfig(), PROMPT, allOnes(PROMPT.length));
        assertTrue(ReferenceDecoder.relativeError(got[PROMPT.length - 1], ref[PROMPT.length - 1]) <= 1e-4);
    }

    @Test
    void missingTensorIsNamed() throws Exception {
        TinyModel.generate(TestModels.qwen2(), 1, dir);
        String qwen3 = TestModels.qwen2().toConfig().toJson().replace("Qwen2", "Qwen3").replace("qwen2", "qwen3");
        Files.writeString(dir.resolve(ModelConfig.FILE_NAME), qwen3);
        var e = assertThrows(IllegalArgumentException.class, () -> OnnxExporter.exportDecoder(dir, dir.resolve("m.onnx")));
        assertTrue(e.getMessage().contains("model.layers.0.self_attn.q_norm.weight"), e.getMessage());
    }

    @Test
    void fullyMaskedRowGivesFiniteLogits() throws Exception {
        Path onnx = TestModels.exported(TestModels.qwen3(), 1, dir);
        float[][] got = runPrompt(onnx, TestModels.qwen3().toConfig(), new int[]{4, 5, 6}, new long[3]);
        for (float[] row : got) {
            for (float v : row) assertTrue(Float.isFinite(v), "non-finite logit " + v);
        }
    }

    @Test
    void externalDataAndLastPositionOnlyGiveTheSameLogits() throws Exception {
        TinyModel.Spec spec = TestModels.qwen2();
        Path inline = TestModels.exported(spec, 9, dir);
        Path ext = dir.resolve("ext.onnx");
        OnnxExporter.exportDecoder(dir, ext, new OnnxExporter.Options(true, true));
        assertTrue(Files.size(ext.resolveSibling("ext.onnx.data")) > Files.size(ext));
        float[][] a = runPrompt(inline, spec.toConfig(), PROMPT, allOnes(PROMPT.length));
        float[][] b = runPrompt(ext, spec.toConfig(), PROMPT, allOnes(PROMPT.length));
        assertEquals(1, b.length);
        assertArrayEquals(a[PROMPT.length - 1], b[0], 1e-6f);
    }

    @Test
    void progressFollowsTheWrittenDataInlineAndExternal() throws Exception {
        TinyModel.generate(TestModels.qwen2(), 9, dir);
        for (boolean external : new boolean[]{false, true}) {
            Path onnx = dir.resolve(external ? "ext.onnx" : "inline.onnx");
            Path written = external ? onnx.resolveSibling("ext.onnx.data") : onnx;
            java.util.List<Long> sizesSeen = new java.util.ArrayList<>();
            java.util.List<Long> reported = new java.util.ArrayList<>();
            OnnxExporter.exportDecoder(dir, onnx, new OnnxExporter.Options(external, true).withWeights(dev.principia.model.WeightPrecision.INT8),
                    (name, done, total) -> {
                        reported.add(done);
                        try {
                            sizesSeen.add(Files.exists(written) ? Files.size(written) : -1L);
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    });
            assertTrue(sizesSeen.get(0) >= 0, (external ? "external" : "inline") + ": progress came before any data was written");
            assertEquals(reported.get(reported.size() - 1), reported.stream().mapToLong(Long::longValue).max().getAsLong());
            for (int i = 1; i < reported.size(); i++) assertTrue(reported.get(i) > reported.get(i - 1), "bytes done only grow");
        }
    }

    @Test
    void exportIsDeterministic() throws Exception {
        Path a = TestModels.exported(TestModels.llama(), 3, dir.resolve("a"));
        Path b = TestModels.exported(TestModels.llama(), 3, dir.resolve("b"));
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
    }

    private static long[] allOnes(int n) {
        long[] m = new long[n];
        java.util.Arrays.fill(m, 1);
        return m;
    }

    /** Logits [positions][vocab] for a B = 1 prompt with an empty past. */
    static float[][] runPrompt(Path onnx, ModelConfig c, int[] tokens, long[] mask) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        int n = tokens.length;
        long[] ids = new long[n], pos = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = tokens[i];
            pos[i] = i;
        }
        Map<String, OnnxTensor> in = new HashMap<>();
        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions())) {
            in.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[]{1, n}));
            in.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[]{1, n}));
            in.put("position_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(pos), new long[]{1, n}));
            long[] empty = {1, c.numKeyValueHeads(), 0, c.headDim()};
            for (int l = 0; l < c.numHiddenLayers(); l++) {
                in.put(OnnxExporter.pastKey(l), OnnxTensor.createTensor(env, FloatBuffer.allocate(0), empty));
                in.put(OnnxExporter.pastValue(l), OnnxTensor.createTensor(env, FloatBuffer.allocate(0), empty));
            }
            try (OrtSession.Result r = s.run(in)) {
                OnnxTensor logits = (OnnxTensor) r.get("logits").orElseThrow();
                int positions = (int) logits.getInfo().getShape()[1];
                FloatBuffer fb = logits.getFloatBuffer();
                float[][] out = new float[positions][c.vocabSize()];
                for (float[] row : out) fb.get(row);
                return out;
            }
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }
}
