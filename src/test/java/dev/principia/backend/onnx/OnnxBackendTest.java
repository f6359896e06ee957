package dev.principia.backend.onnx;

import dev.principia.backend.Batch;
import dev.principia.backend.BatchResult;
import dev.principia.model.ReferenceDecoder;
import dev.principia.model.TestModels;
import dev.principia.model.TinyModel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The backend's KV handling: batched decode vs one-at-a-time, forks, frees and truncation. Logits are
 * compared by max|a - b| / max|b| over one entry's logits.
 */
class OnnxBackendTest {
    private static final TinyModel.Spec SPEC = TestModels.qwen3();
    @TempDir
    Path dir;
    private Path onnx;
    private OnnxBackend backend;

    @BeforeEach
    void setUp() throws Exception {
        onnx = TestModels.exported(SPEC, 11, dir);
        backend = create();
    }

    @AfterEach
    void tearDown() {
        backend.close();
    }

    private OnnxBackend create() {
        return new OnnxBackend(onnx, SPEC.toConfig(), new OnnxBackend.Options(1, 8, 128));
    }

    static int[] tokens(int seed, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = (seed * 131 + i * 71 + 7) % SPEC.vocabSize();
        return t;
    }

    static float[] step(OnnxBackend b, int slot, int[] ids, int start) {
        return b.execute(new Batch(List.of(new Batch.Entry(slot, ids, start)))).logits()[0];
    }

    static double relDiff(float[] a, float[] b) {
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < a.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
            maxRef = Math.max(maxRef, Math.abs(b[i]));
        }
        return maxDiff / maxRef;
    }

    @Test
    void batchedDecodeOfDifferentPastLengthsEqualsEachAlone() {
        int[] lengths = {3, 9, 1, 14};
        var entries = new ArrayList<Batch.Entry>();
        for (int s = 0; s < lengths.length; s++) {
            step(backend, s, tokens(s, lengths[s]), 0);
            entries.add(new Batch.Entry(s, new int[]{100 + s}, lengths[s]));
        }
        BatchResult batched = backend.execute(new Batch(entries));
        try (OnnxBackend alone = create()) {
            for (int s = 0; s < lengths.length; s++) {
                step(alone, 0, tokens(s, lengths[s]), 0);
                float[] expected = step(alone, 0, new int[]{100 + s}, lengths[s]);
                assertTrue(relDiff(batched.logits()[s], expected) <= 1e-5, "slot " + s + ": " + relDiff(batched.logits()[s], expected));
                assertEquals(lengths[s] + 1, backend.kvLength(s));
                alone.freeKv(0);
            }
        }
    }

    @Test
    void mixedBatchKeepsEntryOrder() {
        step(backend, 0, tokens(1, 5), 0);
        BatchResult r = backend.execute(new Batch(List.of(
                new Batch.Entry(1, tokens(2, 6), 0), new Batch.Entry(0, new int[]{9}, 5))));
        try (OnnxBackend alone = create()) {
            assertTrue(relDiff(r.logits()[0], step(alone, 1, tokens(2, 6), 0)) <= 1e-5);
            step(alone, 0, tokens(1, 5), 0);
            assertTrue(relDiff(r.logits()[1], step(alone, 0, new int[]{9}, 5)) <= 1e-5);
        }
    }

    @Test
    void forkedSlotContinuesLikeAFreshRun() {
        int[] prompt = tokens(3, 10);
        step(backend, 0, prompt, 0);
        backend.copyKv(0, 1, 6);
        assertEquals(6, backend.kvLength(1));
        assertEquals(10, backend.kvLength(0));
        int[] tail = {40, 41, 42};
        float[] forked = step(backend, 1, tail, 6);
        int[] full = concat(Arrays.copyOf(prompt, 6), tail);
        float[] fresh = step(backend, 2, full, 0);
        assertTrue(relDiff(forked, fresh) <= 1e-5, "fork: " + relDiff(forked, fresh));
        float[] origNext = step(backend, 0, new int[]{7}, 10);
        float[] origFresh = step(backend, 3, concat(prompt, new int[]{7}), 0);
        assertTrue(relDiff(origNext, origFresh) <= 1e-5, "source slot changed by the fork");
    }

    @Test
    void truncatesWhenStartPositionIsBelowKvLength() {
        int[] prompt = tokens(4, 12);
        step(backend, 0, prompt, 0);
        int[] redo = {8, 9};
        float[] truncated = step(backend, 0, redo, 5);
        assertEquals(7, backend.kvLength(0));
        float[] fresh = step(backend, 1, concat(Arrays.copyOf(prompt, 5), redo), 0);
        assertTrue(relDiff(truncated, fresh) <= 1e-5);
    }

    @Test
    void freeKvResetsLength() {
        step(backend, 2, tokens(5, 4), 0);
        assertEquals(4, backend.kvLength(2));
        backend.freeKv(2);
        assertEquals(0, backend.kvLength(2));
        assertEquals(0, backend.kvLength(7));
    }

    @Test
    void rejectsGapsAndOutOfRangeInput() {
        step(backend, 0, tokens(6, 3), 0);
        assertThrows(IllegalArgumentException.class, () -> step(backend, 0, new int[]{1}, 4));
        assertThrows(IllegalArgumentException.class, () -> step(backend, 8, new int[]{1}, 0));
        assertThrows(IllegalArgumentException.class, () -> step(backend, 1, new int[]{SPEC.vocabSize()}, 0));
        assertThrows(IllegalArgumentException.class, () -> step(backend, 1, new int[]{1, 2}, 127));
        assertThrows(IllegalArgumentException.class, () -> backend.copyKv(0, 1, 4));
    }

    @Test
    void spinningThreadsComputeTheSameLogits() {
        int[] prompt = tokens(8, 6);
        float[] sleeping = step(backend, 0, prompt, 0);
        try (OnnxBackend spinning = new OnnxBackend(onnx, SPEC.toConfig(), new OnnxBackend.Options(2, 8, 128, true))) {
            assertTrue(relDiff(step(spinning, 0, prompt, 0), sleeping) <= 1e-5);
        }
        assertEquals(false, new OnnxBackend.Options(1, 8, 128).allowSpinning());
    }

    @Test
    void infoDescribesTheModel() {
        var info = backend.info();
        assertEquals("onnxruntime-cpu", info.name());
        assertEquals(SPEC.vocabSize(), info.vocabSize());
        assertEquals(SPEC.numKvHeads(), info.numKvHeads());
        assertEquals(SPEC.headDim(), info.headDim());
        assertEquals(8, info.maxSlots());
        assertEquals(128, info.maxPositions());
    }

    @Test
    void growsKvBeyondInitialCapacity() throws Exception {
        int[] prompt = tokens(7, 40);
        step(backend, 0, Arrays.copyOf(prompt, 10), 0);
        float[] last = null;
        for (int i = 10; i < 40; i++) last = step(backend, 0, new int[]{prompt[i]}, i);
        double[] ref = new ReferenceDecoder(dir).forward(prompt)[39];
        assertTrue(ReferenceDecoder.relativeError(last, ref) <= 1e-4);
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
