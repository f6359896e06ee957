package dev.principia.backend.onnx;

import dev.principia.backend.Batch;
import dev.principia.model.DType;
import dev.principia.model.TestModels;
import dev.principia.model.TinyModel;
import dev.principia.model.onnx.OnnxExporter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An fp16 export runs with an fp16 KV cache: three prompts decoded greedily together give the tokens each gives
 * alone, and every step's logits stay within 2e-2 (max|a - b| / max|b|, the exporter's fp16 parity bound) of the
 * fp32 graph fed the same tokens.
 */
class OnnxBackendFp16Test {
    private static final TinyModel.Spec SPEC = TestModels.qwen3();
    private static final int STEPS = 12;
    private static final int[][] PROMPTS = {prompt(1, 5), prompt(2, 19), prompt(3, 11)};
    @TempDir
    Path dir;

    private static int[] prompt(int seed, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = (seed * 131 + i * 71 + 7) % SPEC.vocabSize();
        return t;
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    private OnnxBackend open(Path onnx) {
        return new OnnxBackend(onnx, SPEC.toConfig(), new OnnxBackend.Options(1, PROMPTS.length, 64));
    }

    @Test
    void fp16DecodesGreedilyLikeItsOwnOneAtATimeRunAndCloseToFp32() throws Exception {
        TinyModel.generate(SPEC, 17, dir);
        Path f32 = dir.resolve("model.onnx"), f16 = dir.resolve("model-f16.onnx");
        OnnxExporter.exportDecoder(dir, f32);
        OnnxExporter.exportDecoder(dir, f16, new OnnxExporter.Options(false, false, DType.F16));
        int n = PROMPTS.length;
        int[][] batched = new int[n][STEPS];
        float[][][] batchedLogits = new float[n][STEPS][];
        try (OnnxBackend b = open(f16)) {
            assertEquals("float16", b.info().kvElementType());
            assertEquals(2L * SPEC.numLayers() * SPEC.numKvHeads() * SPEC.headDim() * 2, b.info().kvBytesPerToken());
            for (int s = 0; s < n; s++) {
                batchedLogits[s][0] = b.execute(new Batch(List.of(new Batch.Entry(s, PROMPTS[s], 0)))).logits()[0];
                batched[s][0] = argmax(batchedLogits[s][0]);
            }
            for (int k = 1; k < STEPS; k++) {
                var entries = new ArrayList<Batch.Entry>();
                for (int s = 0; s < n; s++) entries.add(new Batch.Entry(s, new int[]{batched[s][k - 1]}, PROMPTS[s].length + k - 1));
                float[][] logits = b.execute(new Batch(entries)).logits();
                for (int s = 0; s < n; s++) {
                    batchedLogits[s][k] = logits[s];
                    batched[s][k] = argmax(logits[s]);
                }
            }
        }
        try (OnnxBackend alone = open(f16)) {
            for (int s = 0; s < n; s++) {
                int[] tokens = new int[STEPS];
                tokens[0] = argmax(alone.execute(new Batch(List.of(new Batch.Entry(0, PROMPTS[s], 0)))).logits()[0]);
                for (int k = 1; k < STEPS; k++) {
                    float[] l = alone.execute(new Batch(List.of(new Batch.Entry(0, new int[]{tokens[k - 1]}, PROMPTS[s].length + k - 1)))).logits()[0];
                    tokens[k] = argmax(l);
                }
                assertArrayEquals(tokens, batched[s], "prompt " + s);
                alone.freeKv(0);
            }
        }
        double worst = 0;
        try (OnnxBackend fp32 = open(f32)) {
            for (int s = 0; s < n; s++) {
                float[] l = fp32.execute(new Batch(List.of(new Batch.Entry(s, PROMPTS[s], 0)))).logits()[0];
                worst = Math.max(worst, OnnxBackendTest.relDiff(batchedLogits[s][0], l));
                for (int k = 1; k < STEPS; k++) {
                    l = fp32.execute(new Batch(List.of(new Batch.Entry(s, new int[]{batched[s][k - 1]}, PROMPTS[s].length + k - 1)))).logits()[0];
                    worst = Math.max(worst, OnnxBackendTest.relDiff(batchedLogits[s][k], l));
                }
            }
        }
        System.out.printf("fp16 vs fp32 backend logits: max relative difference %.2e over %d steps%n", worst, n * STEPS);
        assertTrue(worst <= 2e-2, "fp16 vs fp32: " + worst);
        assertTrue(Arrays.stream(batched).flatMapToInt(Arrays::stream).distinct().count() > 1, "greedy tokens must vary");
    }
}
