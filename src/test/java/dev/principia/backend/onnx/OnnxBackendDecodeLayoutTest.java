package dev.principia.backend.onnx;

import dev.principia.backend.Batch;
import dev.principia.model.TestModels;
import dev.principia.model.TinyModel;
import dev.principia.model.onnx.OnnxExporter;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The decode fast path (a decode call takes the previous decode call's {@code present} as its past when
 * the group continues it) against the slow one: each sequence recomputed from scratch in one prefill
 * call of a separate backend. Run on both exports: logits for every position, and the serving export's
 * last position only. Logits are compared by max|a - b| / max|b|; bound 1e-5.
 */
class OnnxBackendDecodeLayoutTest {
    private static final TinyModel.Spec SPEC = TestModels.qwen3();
    @TempDir
    Path dir;

    private OnnxBackend[] create(boolean lastPositionOnly) throws Exception {
        TinyModel.generate(SPEC, 5, dir);
        Path onnx = dir.resolve("model.onnx");
        OnnxExporter.exportDecoder(dir, onnx, new OnnxExporter.Options(false, lastPositionOnly));
        var options = new OnnxBackend.Options(1, 8, 128);
        return new OnnxBackend[]{new OnnxBackend(onnx, SPEC.toConfig(), options), new OnnxBackend(onnx, SPEC.toConfig(), options)};
    }

    /** Tokens of the sequences under test, one growing list per slot. */
    private final List<List<Integer>> seqs = new ArrayList<>();

    private float[][] decode(OnnxBackend b, int[] slotIds, int step) {
        var entries = new ArrayList<Batch.Entry>();
        for (int s : slotIds) {
            int t = (s * 53 + step * 29 + 11) % SPEC.vocabSize();
            entries.add(new Batch.Entry(s, new int[]{t}, seqs.get(s).size()));
            seqs.get(s).add(t);
        }
        return b.execute(new Batch(entries)).logits();
    }

    private void prefill(OnnxBackend b, int slot, int n, int seed) {
        while (seqs.size() <= slot) seqs.add(new ArrayList<>());
        seqs.get(slot).clear();
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = (seed * 97 + i * 13 + 1) % SPEC.vocabSize();
            seqs.get(slot).add(t[i]);
        }
        b.execute(new Batch(List.of(new Batch.Entry(slot, t, 0))));
    }

    /** Slow path: the whole sequence of {@code slot} in one prefill call on a scratch slot. */
    private float[] recomputed(OnnxBackend ref, int slot) {
        int[] t = seqs.get(slot).stream().mapToInt(Integer::intValue).toArray();
        ref.freeKv(7);
        return ref.execute(new Batch(List.of(new Batch.Entry(7, t, 0)))).logits()[0];
    }

    private void assertRecomputed(OnnxBackend ref, int[] slotIds, float[][] logits, String what) {
        for (int i = 0; i < slotIds.length; i++) {
            double d = relDiff(logits[i], recomputed(ref, slotIds[i]));
            assertTrue(d <= 1e-5, what + ", slot " + slotIds[i] + ": " + d);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void consecutiveBatchedDecodesEqualRecomputation(boolean lastPositionOnly) throws Exception {
        OnnxBackend[] b = create(lastPositionOnly);
        try (OnnxBackend fast = b[0]; OnnxBackend ref = b[1]) {
            int[] slotIds = {0, 1, 2, 3};
            int[] lengths = {3, 9, 1, 14};
            for (int s : slotIds) prefill(fast, s, lengths[s], s);
            for (int step = 0; step < 20; step++) { // crosses KvSlot's first capacity doubling and the buffers' growth
                assertRecomputed(ref, slotIds, decode(fast, slotIds, step), "step " + step);
            }
            for (int s : slotIds) assertEquals(seqs.get(s).size(), fast.kvLength(s));
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void changesBetweenDecodesAreSeen(boolean lastPositionOnly) throws Exception {
        OnnxBackend[] b = create(lastPositionOnly);
        try (OnnxBackend fast = b[0]; OnnxBackend ref = b[1]) {
            int[] slotIds = {0, 1, 2};
            for (int s : slotIds) prefill(fast, s, 4 + s, s);
            int step = 0;
            decode(fast, slotIds, step++);
            decode(fast, slotIds, step++);

            // slot 1 refilled with other tokens to the very length the next decode expects
            int len1 = seqs.get(1).size();
            fast.execute(new Batch(List.of(new Batch.Entry(1, new int[]{1, 2}, 0))));
            prefill(fast, 1, len1, 40);
            assertRecomputed(ref, slotIds, decode(fast, slotIds, step++), "after refill");

            // a fork into a slot of the group, to the length it had
            int len0 = seqs.get(0).size();
            fast.copyKv(2, 0, len0);
            seqs.set(0, new ArrayList<>(seqs.get(2).subList(0, len0)));
            assertRecomputed(ref, slotIds, decode(fast, slotIds, step++), "after fork");

            // freed and refilled
            len0 = seqs.get(0).size();
            fast.freeKv(0);
            prefill(fast, 0, len0, 41);
            assertRecomputed(ref, slotIds, decode(fast, slotIds, step++), "after free");

            // same slots, other order; then a subset; then the first order again
            int[] reordered = {2, 0, 1};
            assertRecomputed(ref, reordered, decode(fast, reordered, step++), "reordered");
            int[] subset = {2, 1};
            assertRecomputed(ref, subset, decode(fast, subset, step++), "subset");
            assertRecomputed(ref, slotIds, decode(fast, slotIds, step++), "whole group again");

            // a mixed batch: slot 0 prefills a chunk while the others decode
            int[] rest = {1, 2};
            var entries = new ArrayList<Batch.Entry>();
            entries.add(new Batch.Entry(0, new int[]{5, 6}, seqs.get(0).size()));
            seqs.get(0).addAll(List.of(5, 6));
            for (int s : rest) {
                entries.add(new Batch.Entry(s, new int[]{9}, seqs.get(s).size()));
                seqs.get(s).add(9);
            }
            float[][] mixed = fast.execute(new Batch(entries)).logits();
            assertRecomputed(ref, new int[]{0, 1, 2}, mixed, "mixed batch");
            assertRecomputed(ref, rest, decode(fast, rest, step++), "after mixed batch");
        }
    }

    private static double relDiff(float[] a, float[] b) {
        assertEquals(b.length, a.length);
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < a.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
            maxRef = Math.max(maxRef, Math.abs(b[i]));
        }
        return maxDiff / maxRef;
    }
}
