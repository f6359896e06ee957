package dev.principia.model.onnx;

import dev.principia.model.DType;
import dev.principia.model.ModelConfig;
import dev.principia.model.ReferenceDecoder;
import dev.principia.model.TestModels;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@link OnnxExporter.Attention#PORTABLE} decoder in ONNX Runtime against the float64 reference, each family
 * with its quirks on, fp32 and fp16 (bounds as {@link ArchitectureParityTest}). Three rows of different lengths
 * share one [rows, kvHeads, C, d] buffer per layer and K/V, bound as past and present of every call: each prompt
 * runs B = 1 on its row's slice (row 0 then gets a 4-token chunk on its past), then one call runs a 3-token chunk
 * of every row (B = 3, S = 3, different w_b), then 5 decode steps of all rows in one call each. Rows end at 18,
 * 17 and 11 tokens, well past Gemma2's sliding window of 4. Buffers start filled with a finite sentinel, which
 * must never leak into the logits.
 */
class PortableGraphParityTest {
    static final int[][] PROMPTS = {{5, 17, 300, 42, 7, 511}, {0, 99, 256, 3, 128, 64, 1, 2, 450}, {31, 8, 200}};
    static final int[] CHUNK = {77, 12, 400, 6};
    static final int[][] BATCH_CHUNK = {{21, 22, 23}, {140, 141, 142}, {500, 0, 7}};
    static final int[][] DECODE = {{9, 10, 11}, {300, 301, 302}, {4, 44, 444}, {60, 61, 62}, {250, 251, 252}};
    static final int CAPACITY = 24;
    static final float SENTINEL = 3.25f;
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} {2}")
    @MethodSource("dev.principia.model.onnx.ArchitectureParityTest#families")
    void portableGraphMatchesReference(String family, ModelConfig config, DType dtype) throws Exception {
        Path onnx = export(config, dtype);
        List<List<Integer>> tokens = new ArrayList<>();
        List<float[][]> got = new ArrayList<>(); // per row: logits by position
        for (int r = 0; r < PROMPTS.length; r++) {
            tokens.add(new ArrayList<>());
            got.add(new float[CAPACITY][]);
        }
        // worst relative error of: 0 B = 1 prompts and chunk, 1 the batch chunk, 2 decode steps
        int[][] kindOf = new int[PROMPTS.length][CAPACITY];
        try (var run = new OrtPortableRun(onnx, config, dtype, PROMPTS.length, CAPACITY, SENTINEL)) {
            for (int r = 0; r < PROMPTS.length; r++) record(r, run.prompt(r, PROMPTS[r]), PROMPTS[r], tokens, got, kindOf, 0);
            record(0, run.prompt(0, CHUNK), CHUNK, tokens, got, kindOf, 0);
            float[][] batch = run.batch(BATCH_CHUNK, false);
            int s = BATCH_CHUNK[0].length;
            for (int r = 0; r < PROMPTS.length; r++) {
                record(r, java.util.Arrays.copyOfRange(batch, r * s, (r + 1) * s), BATCH_CHUNK[r], tokens, got, kindOf, 1);
            }
            for (int[] step : DECODE) {
                float[][] logits = run.batch(new int[][]{{step[0]}, {step[1]}, {step[2]}}, false);
                for (int r = 0; r < PROMPTS.length; r++) record(r, new float[][]{logits[r]}, new int[]{step[r]}, tokens, got, kindOf, 2);
            }
        }
        double[] worst = new double[3];
        var reference = new ReferenceDecoder(dir);
        for (int r = 0; r < PROMPTS.length; r++) {
            double[][] ref = reference.forward(tokens.get(r).stream().mapToInt(Integer::intValue).toArray());
            for (int p = 0; p < ref.length; p++) {
                worst[kindOf[r][p]] = Math.max(worst[kindOf[r][p]], ReferenceDecoder.relativeError(got.get(r)[p], ref[p]));
            }
        }
        double bound = ArchitectureParityTest.bound(dtype);
        System.out.printf("portable parity %s %s: prompts %.2e, batch chunk %.2e, decode %.2e%n", family, dtype, worst[0], worst[1], worst[2]);
        assertTrue(worst[0] <= bound, family + " " + dtype + " prompts: " + worst[0]);
        assertTrue(worst[1] <= bound, family + " " + dtype + " batch chunk: " + worst[1]);
        assertTrue(worst[2] <= bound, family + " " + dtype + " decode: " + worst[2]);
        if (config.slidingWindow() > 0) {
            // the window is live: without it the reference's last logits of row 0 lie beyond the bound from what ran
            List<Integer> row = tokens.get(0);
            double[][] unwindowed = new ReferenceDecoder(dir, TestModels.edit(config, o -> o.putNull("sliding_window")))
                    .forward(row.stream().mapToInt(Integer::intValue).toArray());
            double moved = ReferenceDecoder.relativeError(got.get(0)[row.size() - 1], unwindowed[row.size() - 1]);
            assertTrue(moved > bound, "sliding window not exercised: " + moved);
        }
    }

    /**
     * The in-place contract: after B = 1 prompts on the shared buffers, each row's positions [0, L_r) hold keys
     * and values and the rest still holds the sentinel, bit for bit; then a call with present in separate
     * buffers returns present equal to past bit for bit except at positions [w_b, w_b + S) of each row.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16"})
    void presentIsPastWithOnlyTheNewPositionsReplaced(DType dtype) throws Exception {
        ModelConfig config = TestModels.gemma2Quirks();
        Path onnx = export(config, dtype);
        try (var run = new OrtPortableRun(onnx, config, dtype, PROMPTS.length, CAPACITY, SENTINEL)) {
            for (int r = 0; r < PROMPTS.length; r++) run.prompt(r, PROMPTS[r]);
            int sentinelBits = dtype == DType.F16 ? DType.floatToHalf(SENTINEL) : Float.floatToRawIntBits(SENTINEL);
            forEachElement(config, run, (l, kv, r, p, index) -> {
                int bits = run.bits(run.cache[l][kv], index);
                if (p < run.lengths[r]) {
                    assertNotEquals(sentinelBits, bits, "layer " + l + " row " + r + " position " + p + " was not written");
                } else {
                    assertEquals(sentinelBits, bits, "layer " + l + " row " + r + " position " + p + " was touched");
                }
            });
            ByteBuffer[][] past = new ByteBuffer[run.cache.length][2];
            for (int l = 0; l < past.length; l++) {
                for (int kv = 0; kv < 2; kv++) past[l][kv] = ByteBuffer.allocate(run.cache[l][kv].capacity()).order(java.nio.ByteOrder.nativeOrder()).put(run.cache[l][kv].duplicate().clear());
            }
            int[] w = run.lengths.clone();
            int s = BATCH_CHUNK[0].length;
            run.batch(BATCH_CHUNK, true);
            forEachElement(config, run, (l, kv, r, p, index) -> {
                int before = run.bits(past[l][kv], index), after = run.bits(run.lastPresent[l][kv], index);
                if (p >= w[r] && p < w[r] + s) {
                    assertNotEquals(before, after, "layer " + l + " row " + r + " position " + p + " was not written");
                } else {
                    assertEquals(before, after, "layer " + l + " row " + r + " position " + p + " differs from past");
                }
            });
        }
    }

    private interface ElementCheck {
        void check(int layer, int kv, int row, int position, int index);
    }

    /** Calls {@code check} for every element of every cache buffer, with its flat index. */
    private static void forEachElement(ModelConfig c, OrtPortableRun run, ElementCheck check) {
        int d = c.headDim(), kvHeads = c.numKeyValueHeads();
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            for (int kv = 0; kv < 2; kv++) {
                for (int r = 0; r < PROMPTS.length; r++) {
                    for (int h = 0; h < kvHeads; h++) {
                        for (int p = 0; p < CAPACITY; p++) {
                            for (int i = 0; i < d; i++) check.check(l, kv, r, p, ((r * kvHeads + h) * CAPACITY + p) * d + i);
                        }
                    }
                }
            }
        }
    }

    private Path export(ModelConfig config, DType dtype) throws Exception {
        TestModels.generate(config, 21, dir);
        Path onnx = dir.resolve("portable.onnx");
        OnnxExporter.exportDecoder(dir, onnx, OnnxExporter.Options.defaults().withDtype(dtype).withAttention(OnnxExporter.Attention.PORTABLE));
        return onnx;
    }

    private static void record(int r, float[][] logits, int[] newTokens, List<List<Integer>> tokens, List<float[][]> got, int[][] kindOf, int kind) {
        assertEquals(newTokens.length, logits.length);
        for (int i = 0; i < newTokens.length; i++) {
            int p = tokens.get(r).size();
            tokens.get(r).add(newTokens[i]);
            got.get(r)[p] = logits[i];
            kindOf[r][p] = kind;
        }
    }
}
