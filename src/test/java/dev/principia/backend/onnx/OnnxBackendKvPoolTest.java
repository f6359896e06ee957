package dev.principia.backend.onnx;

import dev.principia.backend.BackendException;
import dev.principia.backend.BackendInfo;
import dev.principia.backend.Batch;
import dev.principia.model.ReferenceDecoder;
import dev.principia.model.TestModels;
import dev.principia.model.TinyModel;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static dev.principia.backend.onnx.OnnxBackendTest.concat;
import static dev.principia.backend.onnx.OnnxBackendTest.step;
import static dev.principia.backend.onnx.OnnxBackendTest.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The paged KV pool behind the backend: blocks spread over several real segments give the same logits as a
 * pool in one segment; forks, frees, truncation and reuse return blocks; an exhausted pool fails the call with
 * a clear error before anything is written; {@link BackendInfo} reports bytes and tokens that fit.
 */
class OnnxBackendKvPoolTest {
    private static final TinyModel.Spec SPEC = TestModels.qwen3();
    /** 2 layers x K/V x 2 kv heads x 16 positions x headDim 32 x 4 bytes. */
    private static final long BLOCK = KvPool.blockBytes(SPEC.numLayers(), SPEC.numKvHeads(), SPEC.headDim(), 4);
    @TempDir
    Path dir;
    private Path onnx;

    @BeforeEach
    void setUp() throws Exception {
        onnx = TestModels.exported(SPEC, 13, dir);
    }

    private OnnxBackend create(int slots, long kvCacheBytes, long maxSegmentBytes) {
        return new OnnxBackend(onnx, SPEC.toConfig(), new OnnxBackend.Options(1, slots, 128, false, kvCacheBytes), maxSegmentBytes);
    }

    /** Prefill 40, fork 37 of them, then 8 batched decode steps of both; returns every step's logits. */
    private static float[][][] forkAndDecode(OnnxBackend b) {
        float[][][] out = new float[9][][];
        out[0] = new float[][]{step(b, 0, tokens(1, 40), 0)};
        b.copyKv(0, 1, 37);
        for (int k = 0; k < 8; k++) {
            out[k + 1] = b.execute(new Batch(List.of(new Batch.Entry(0, new int[]{10 + k}, 40 + k),
                    new Batch.Entry(1, new int[]{20 + k}, 37 + k)))).logits();
        }
        return out;
    }

    @Test
    void blocksInThreeSegmentsGiveTheSameLogitsAsOneSegment() throws Exception {
        float[][][] spread, single;
        try (OnnxBackend b = create(2, 6 * BLOCK, 2 * BLOCK)) {
            assertEquals(3, b.kvCache().pool().layout().numSegments());
            assertEquals(6 * BLOCK, b.kvCache().pool().allocatedBytes());
            spread = forkAndDecode(b);
            assertEquals(0, b.kvCache().pool().numFreeBlocks());
        }
        try (OnnxBackend b = create(2, 0, 0)) {
            assertEquals(1, b.kvCache().pool().layout().numSegments());
            single = forkAndDecode(b);
        }
        for (int k = 0; k < spread.length; k++) {
            for (int i = 0; i < spread[k].length; i++) assertArrayEquals(single[k][i], spread[k][i], "step " + k + " entry " + i);
        }
        int[] forked = Arrays.copyOf(tokens(1, 40), 37 + 8);
        for (int k = 0; k < 8; k++) forked[37 + k] = 20 + k;
        double[] ref = new ReferenceDecoder(dir).forward(forked)[37 + 7];
        assertTrue(ReferenceDecoder.relativeError(spread[8][1], ref) <= 1e-4, "forked slot vs float64 reference");
    }

    @Test
    void truncateForkAndFreeReturnBlocksAndAFreedSlotIsReusedCleanly() {
        try (OnnxBackend b = create(2, 8 * BLOCK, 0); OnnxBackend fresh = create(2, 0, 0)) {
            KvPool pool = b.kvCache().pool();
            step(b, 0, tokens(2, 40), 0);
            assertEquals(8 - 3, pool.numFreeBlocks());
            float[] truncated = step(b, 0, new int[]{5, 6}, 20);
            assertEquals(22, b.kvLength(0));
            assertEquals(8 - 2, pool.numFreeBlocks());
            float[] expected = step(fresh, 0, concat(Arrays.copyOf(tokens(2, 40), 20), new int[]{5, 6}), 0);
            assertTrue(OnnxBackendTest.relDiff(truncated, expected) <= 1e-5, "truncated: " + OnnxBackendTest.relDiff(truncated, expected));
            b.copyKv(0, 1, 22);
            assertEquals(8 - 4, pool.numFreeBlocks());
            b.copyKv(1, 1, 10);
            assertEquals(10, b.kvLength(1));
            assertEquals(8 - 3, pool.numFreeBlocks());
            b.freeKv(0);
            assertEquals(8 - 1, pool.numFreeBlocks());
            float[] reused = step(b, 0, tokens(3, 33), 0);
            assertArrayEquals(step(fresh, 1, tokens(3, 33), 0), reused);
            b.freeKv(0);
            b.freeKv(1);
            assertEquals(8, pool.numFreeBlocks());
        }
    }

    @Test
    void exhaustedPoolFailsTheCallClearlyAndChangesNothing() {
        try (OnnxBackend b = create(2, 3 * BLOCK, 0); OnnxBackend fresh = create(2, 0, 0)) {
            assertEquals(3 * 16 - 2 * 15, b.info().kvCacheTokens());
            step(b, 0, tokens(4, 16), 0);
            step(b, 1, tokens(5, 17), 0);
            var e = assertThrows(BackendException.class, () -> step(b, 0, new int[]{9}, 16));
            assertTrue(e.getMessage().startsWith("KV pool exhausted: the batch needs 1 more blocks"), e.getMessage());
            assertTrue(e.getMessage().contains("kvCacheTokens"), e.getMessage());
            assertThrows(BackendException.class, () -> b.copyKv(1, 0, 17));
            assertEquals(16, b.kvLength(0));
            assertEquals(17, b.kvLength(1));
            b.freeKv(1);
            float[] next = step(b, 0, new int[]{9}, 16);
            step(fresh, 0, tokens(4, 16), 0);
            assertArrayEquals(step(fresh, 0, new int[]{9}, 16), next);
        }
    }

    @Test
    void infoReportsKvBytesAndTokensThatFit() {
        try (OnnxBackend b = create(2, 10 * BLOCK + 100, 0)) {
            BackendInfo info = b.info();
            assertEquals("float32", info.kvElementType());
            assertEquals(10 * BLOCK, info.kvCacheBytes());
            assertEquals(2L * SPEC.numLayers() * SPEC.numKvHeads() * SPEC.headDim() * 4, info.kvBytesPerToken());
            assertEquals(10 * 16 - 2 * 15, info.kvCacheTokens());
        }
        try (OnnxBackend b = create(8, 0, 0)) {
            assertEquals(8 * 128, b.info().kvCacheTokens());
            assertEquals(8 * 8 * BLOCK, b.info().kvCacheBytes());
            assertEquals(0, b.kvCache().pool().allocatedBytes(), "a derived pool is allocated as used");
        }
        var e = assertThrows(IllegalArgumentException.class, () -> create(4, 3 * BLOCK, 0));
        assertTrue(e.getMessage().contains("4 slots need at least " + 4 * BLOCK + " bytes"), e.getMessage());
    }
}
