package dev.principia.model.onnx;

import dev.principia.model.DType;
import dev.principia.model.ModelConfig;
import dev.principia.model.TestModels;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@link OnnxExporter.Attention#GQA} decoder against the plain one (the reference) in fp32, for each
 * family with its quirks on: three rows of different lengths (one prompt of 6 then a 4-token chunk on its
 * past, one of 9, one of 3), each prompt run B = 1 on its row of one shared cache buffer, then 5 decode
 * steps of all rows in one call, right-aligned, the cache bound as both past and present. The plain
 * graph runs each row alone. Relative error = max|gqa - plain| / max|plain| over one position's logits.
 */
class GqaGraphParityTest {
    static final double BOUND = 1e-4;
    static final int[][] PROMPTS = {{5, 17, 300, 42, 7, 511}, {0, 99, 256, 3, 128, 64, 1, 2, 450}, {31, 8, 200}};
    static final int[] CHUNK = {77, 12, 400, 6};
    static final int[][] DECODE = {{9, 10, 11}, {300, 301, 302}, {4, 44, 444}, {60, 61, 62}, {250, 251, 252}};
    static final int CAPACITY = 24;
    static final float SENTINEL = 12345f;
    @TempDir
    Path dir;
    private OrtDecoderRun[] plainRuns;

    static Stream<Arguments> families() {
        return Stream.of(
                Arguments.of("llama", TestModels.llamaQuirks()),
                Arguments.of("qwen2", TestModels.qwen2Quirks()),
                Arguments.of("qwen3", TestModels.qwen3Quirks()),
                Arguments.of("gemma2", TestModels.gemma2Quirks()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("families")
    void gqaGraphMatchesPlainGraph(String family, ModelConfig config) throws Exception {
        Path[] onnx = export(config);
        double[] worst = new double[2];
        try (var gqa = new OrtGqaRun(onnx[1], config, PROMPTS.length, CAPACITY, SENTINEL)) {
            prompts(onnx[0], config, gqa, worst);
            decode(gqa, false, DECODE.length, worst);
        }
        System.out.printf("gqa parity %s: prompts %.2e, decode %.2e%n", family, worst[0], worst[1]);
        assertTrue(worst[0] <= BOUND, family + " prompts: " + worst[0]);
        assertTrue(worst[1] <= BOUND, family + " decode: " + worst[1]);
    }

    /**
     * ONNX Runtime's Java API shares the buffer: past and present tensors over the same direct buffer make the
     * kernel write the new position only (indices past each row's length keep the sentinel); over separate
     * buffers it copies the past into a zeroed present (those indices come back 0). Logits are right either way.
     */
    @Test
    void pastAndPresentOverOneDirectBufferAreUpdatedInPlace() throws Exception {
        ModelConfig config = TestModels.llamaQuirks();
        Path[] onnx = export(config);
        double[] worst = new double[2];
        try (var gqa = new OrtGqaRun(onnx[1], config, PROMPTS.length, CAPACITY, SENTINEL)) {
            prompts(onnx[0], config, gqa, worst);
            decode(gqa, false, 3, worst);
            for (int r = 0; r < PROMPTS.length; r++) {
                int len = gqa.lengths[r];
                for (int l = 0; l < config.numHiddenLayers(); l++) {
                    for (int kv = 0; kv < 2; kv++) {
                        for (int h = 0; h < config.numKeyValueHeads(); h++) {
                            for (int p = 0; p < CAPACITY; p++) {
                                float got = gqa.at(l, kv, r, h, p);
                                if (p < len) {
                                    assertNotEquals(SENTINEL, got, "row " + r + " position " + p + " was not written");
                                } else {
                                    assertEquals(SENTINEL, got, "row " + r + " position " + p + " was touched");
                                }
                            }
                        }
                    }
                }
            }
            decode(gqa, true, 1, worst);
            assertEquals(0f, gqa.at(0, 0, 0, 0, gqa.lengths[0]), "a separate present is zeroed past the row's length");
        }
        assertTrue(worst[0] <= BOUND && worst[1] <= BOUND, Arrays.toString(worst));
    }

    @Test
    void gqaNeedsF32AndRotaryHeadDim() {
        assertThrows(IllegalArgumentException.class,
                () -> OnnxExporter.Options.defaults().withDtype(DType.F16).withAttention(OnnxExporter.Attention.GQA));
        var e = assertThrows(IllegalArgumentException.class, () -> {
            TestModels.generate(TestModels.edit(TestModels.llamaQuirks(), o -> o.put("head_dim", 8)
                    .put("hidden_size", 32)), 21, dir);
            OnnxExporter.exportDecoder(dir, dir.resolve("g.onnx"), OnnxExporter.Options.defaults().withAttention(OnnxExporter.Attention.GQA));
        });
        assertTrue(e.getMessage().contains("multiple of 16"), e.getMessage());
    }

    private Path[] export(ModelConfig config) throws Exception {
        TestModels.generate(config, 21, dir);
        Path plain = dir.resolve("plain.onnx"), gqa = dir.resolve("gqa.onnx");
        OnnxExporter.exportDecoder(dir, plain, OnnxExporter.Options.defaults());
        OnnxExporter.exportDecoder(dir, gqa, OnnxExporter.Options.defaults().withAttention(OnnxExporter.Attention.GQA));
        return new Path[]{plain, gqa};
    }

    /** Runs the prompts (and row 0's chunk) through both graphs, each plain row alone; checks every position's logits. */
    private void prompts(Path plainOnnx, ModelConfig config, OrtGqaRun gqa, double[] worst) throws Exception {
        plainRuns = new OrtDecoderRun[PROMPTS.length];
        for (int r = 0; r < PROMPTS.length; r++) {
            plainRuns[r] = new OrtDecoderRun(plainOnnx, config, DType.F32);
            compare(plainRuns[r].step(PROMPTS[r]), gqa.prompt(r, PROMPTS[r]), worst, 0);
        }
        compare(plainRuns[0].step(CHUNK), gqa.prompt(0, CHUNK), worst, 0);
    }

    /** {@code steps} decode calls of all rows at once (GQA) against one call per row (plain). */
    private void decode(OrtGqaRun gqa, boolean separatePresent, int steps, double[] worst) throws Exception {
        for (int step = 0; step < steps; step++) {
            int[] tokens = DECODE[step % DECODE.length];
            float[][] got = gqa.decode(tokens, separatePresent);
            for (int r = 0; r < PROMPTS.length; r++) compare(plainRuns[r].step(new int[]{tokens[r]}), new float[][]{got[r]}, worst, 1);
        }
    }

    @AfterEach
    void closePlainRuns() throws Exception {
        if (plainRuns == null) return;
        for (OrtDecoderRun run : plainRuns) {
            if (run != null) run.close();
        }
    }

    private static void compare(float[][] plain, float[][] gqa, double[] worst, int which) {
        assertEquals(plain.length, gqa.length);
        for (int i = 0; i < plain.length; i++) {
            double maxRef = 0, maxDiff = 0;
            for (int j = 0; j < plain[i].length; j++) {
                maxRef = Math.max(maxRef, Math.abs(plain[i][j]));
                maxDiff = Math.max(maxDiff, Math.abs(plain[i][j] - gqa[i][j]));
            }
            worst[which] = Math.max(worst[which], maxDiff / maxRef);
        }
    }
}
