package dev.principia.backend.onnx;

import dev.principia.backend.Batch;
import dev.principia.backend.fixedkv.FixedKvLayout;
import dev.principia.backend.fixedkv.RunPlanner;
import dev.principia.model.DType;
import dev.principia.model.ModelConfig;
import dev.principia.model.TestModels;
import dev.principia.model.onnx.OnnxExporter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The portable graph on ONNX Runtime through {@link dev.principia.backend.fixedkv.FixedKvBackend} against
 * {@link OnnxBackend} on the plain graph of the same weights ({@link PortableTwin}): random interleavings of prompts,
 * chunks, batched decodes, forks, truncations and frees, every call's logits within {@value #FP32_BOUND}
 * ({@code max|portable - plain| / max|plain|}) in fp32 and {@value #FP16_BOUND} in fp16 (both graphs fp16; the
 * exporter's fp16 parity bound). Run limits are small (3 rows, 8 tokens) so that chunking and split runs happen.
 */
class OrtFixedKvDeviceTest {
    static final double FP32_BOUND = 1e-4;
    static final double FP16_BOUND = 2e-2;
    static final RunPlanner.Limits SMALL = new RunPlanner.Limits(3, 8);
    @TempDir
    Path dir;

    private void walk(ModelConfig config, DType dtype, long maxSegmentBytes, double bound, long seed) throws Exception {
        try (var twin = PortableTwin.open(config, dtype, dir, 6, 48, SMALL, maxSegmentBytes, bound)) {
            twin.randomWalk(seed, 150);
            System.out.printf("portable %s %s, %d segment(s): %d calls, worst %.2e (abs %.2e)%n", config.modelType(), dtype,
                    twin.device.layout().numSegments(), twin.calls, twin.worst, twin.worstAbs);
            assertTrue(twin.calls > 100, "the walk made " + twin.calls + " calls");
        }
    }

    /** Sliding window 4, softcaps, query_pre_attn_scalar != head_dim, 3 layers. */
    @Test
    void gemma2MatchesThePlainGraphThroughRandomChanges() throws Exception {
        walk(TestModels.gemma2Quirks(), DType.F32, OrtFixedKvDevice.MAX_SEGMENT_BYTES, FP32_BOUND, 1);
    }

    @Test
    void qwen3MatchesThePlainGraphThroughRandomChanges() throws Exception {
        walk(TestModels.qwen3Quirks(), DType.F32, OrtFixedKvDevice.MAX_SEGMENT_BYTES, FP32_BOUND, 2);
    }

    @Test
    void llamaAndQwen2MatchThePlainGraphThroughRandomChanges() throws Exception {
        walk(TestModels.llamaQuirks(), DType.F32, OrtFixedKvDevice.MAX_SEGMENT_BYTES, FP32_BOUND, 3);
        walk(TestModels.qwen2Quirks(), DType.F32, OrtFixedKvDevice.MAX_SEGMENT_BYTES, FP32_BOUND, 4);
    }

    /** Segments of 2 slots (the last short): runs never cross a segment and forks copy between segments. */
    @Test
    void smallSegmentsMatchThePlainGraph() throws Exception {
        ModelConfig c = TestModels.gemma2Quirks();
        long slotBytes = (long) c.numKeyValueHeads() * 48 * c.headDim() * Float.BYTES;
        walk(c, DType.F32, 2 * slotBytes + 100, FP32_BOUND, 5);
    }

    @Test
    void fp16MatchesThePlainFp16Graph() throws Exception {
        walk(TestModels.qwen3Quirks(), DType.F16, OrtFixedKvDevice.MAX_SEGMENT_BYTES, FP16_BOUND, 6);
    }

    /** A call's present is its past's memory: a prompt writes exactly its positions of its slot in every layer, nothing else. */
    @Test
    void callsWriteTheirPositionsInPlaceAndNothingElse() throws Exception {
        try (var twin = PortableTwin.open(TestModels.llamaQuirks(), DType.F32, dir, 4, 32, SMALL, OrtFixedKvDevice.MAX_SEGMENT_BYTES, FP32_BOUND)) {
            FixedKvLayout l = twin.device.layout();
            twin.both(List.of(new Batch.Entry(1, new int[]{5, 6, 7, 8, 9}, 0), new Batch.Entry(2, new int[]{10, 11, 12, 13, 14}, 0)), "prompts");
            for (int layer = 0; layer < l.numLayers(); layer++) {
                for (int kv = 0; kv < 2; kv++) {
                    ByteBuffer seg = twin.device.segment(layer, kv, 0);
                    for (int slot = 0; slot < 4; slot++) {
                        for (int h = 0; h < l.numKvHeads(); h++) {
                            for (int p = 0; p < l.capacity(); p++) {
                                boolean written = (slot == 1 || slot == 2) && p < 5;
                                assertEquals(written, !zero(seg, l.offset(slot, h, p), l.headDim() * 4),
                                        "layer " + layer + " kv " + kv + " slot " + slot + " head " + h + " position " + p);
                            }
                        }
                    }
                }
            }
            twin.both(List.of(new Batch.Entry(1, new int[]{3}, 5), new Batch.Entry(2, new int[]{4}, 5)), "decode on the prompts");
        }
    }

    private static boolean zero(ByteBuffer b, long offset, int bytes) {
        for (int i = 0; i < bytes; i++) if (b.get((int) offset + i) != 0) return false;
        return true;
    }

    /** Out-of-range slots, gaps and positions past the capacity are refused before any run writes anything. */
    @Test
    void capacityErrorsChangeNothing() throws Exception {
        try (var twin = PortableTwin.open(TestModels.qwen3Quirks(), DType.F32, dir, 3, 16, SMALL, OrtFixedKvDevice.MAX_SEGMENT_BYTES, FP32_BOUND)) {
            twin.both(List.of(new Batch.Entry(0, new int[]{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0)), "prompt");
            byte[] before = snapshot(twin.device);
            var valid = new Batch.Entry(1, new int[]{1, 2, 3}, 0);
            List<Runnable> refused = List.of(
                    () -> twin.portable.execute(new Batch(List.of(valid, new Batch.Entry(0, new int[7], 10)))), // 17 > 16
                    () -> twin.portable.execute(new Batch(List.of(valid, new Batch.Entry(3, new int[]{1}, 0)))), // no slot 3
                    () -> twin.portable.execute(new Batch(List.of(valid, new Batch.Entry(0, new int[]{1}, 11)))), // gap
                    () -> twin.portable.copyKv(0, 1, 11),
                    () -> twin.portable.copyKv(0, 3, 2));
            for (Runnable r : refused) assertThrows(IllegalArgumentException.class, r::run);
            assertEquals(10, twin.portable.kvLength(0));
            assertEquals(0, twin.portable.kvLength(1));
            assertTrue(java.util.Arrays.equals(before, snapshot(twin.device)), "a refused call changed the cache");
            twin.both(List.of(new Batch.Entry(0, new int[]{5, 6}, 10)), "continuing after the refusals");
        }
    }

    private static byte[] snapshot(OrtFixedKvDevice d) {
        FixedKvLayout l = d.layout();
        var out = new java.io.ByteArrayOutputStream();
        for (int layer = 0; layer < l.numLayers(); layer++) {
            for (int kv = 0; kv < 2; kv++) {
                for (int s = 0; s < l.numSegments(); s++) {
                    ByteBuffer seg = d.segment(layer, kv, s).clear();
                    byte[] b = new byte[seg.remaining()];
                    seg.get(b);
                    out.writeBytes(b);
                }
            }
        }
        return out.toByteArray();
    }

    /** kvCacheBytes bounds the slots (each owns maxPositions positions); below one slot the error names what one needs. */
    @Test
    void kvCacheBytesBoundTheSlots() throws Exception {
        ModelConfig c = TestModels.qwen3Quirks();
        TestModels.generate(c, 9, dir);
        Path onnx = dir.resolve("portable.onnx");
        OnnxExporter.exportDecoder(dir, onnx, new OnnxExporter.Options(false, true).withAttention(OnnxExporter.Attention.PORTABLE));
        long perSlot = 2L * c.numHiddenLayers() * c.numKeyValueHeads() * c.headDim() * Float.BYTES * 40;
        try (var b = OrtFixedKvDevice.open(onnx, c, new OnnxBackend.Options(1, 8, 40, false, perSlot * 5 / 2), SMALL)) {
            assertEquals(2, b.info().maxSlots());
            assertEquals("onnxruntime-cpu", b.info().name());
            assertEquals("float32", b.info().kvElementType());
            assertEquals(80, b.info().kvCacheTokens());
            assertEquals(2 * perSlot, b.info().kvCacheBytes());
        }
        var e = assertThrows(IllegalArgumentException.class,
                () -> OrtFixedKvDevice.open(onnx, c, new OnnxBackend.Options(1, 8, 40, false, perSlot - 1), SMALL));
        assertTrue(e.getMessage().contains(perSlot + " bytes"), e.getMessage());
        var plain = dir.resolve("plain.onnx");
        OnnxExporter.exportDecoder(dir, plain, new OnnxExporter.Options(false, true));
        var notPortable = assertThrows(IllegalArgumentException.class, () -> OrtFixedKvDevice.open(plain, c, new OnnxBackend.Options(1, 2, 40), SMALL));
        assertTrue(notPortable.getMessage().contains("not a portable decoder"), notPortable.getMessage());
    }

    /** Long prompts in chunks of at most maxTokens and decodes of many rows split by maxRows give the same logits. */
    @Test
    void limitsSplitLongPromptsAndWideDecodes() throws Exception {
        try (var twin = PortableTwin.open(TestModels.gemma2Quirks(), DType.F32, dir, 6, 64, new RunPlanner.Limits(2, 5),
                OrtFixedKvDevice.MAX_SEGMENT_BYTES, FP32_BOUND)) {
            List<Batch.Entry> prompts = new ArrayList<>();
            for (int s = 0; s < 6; s++) prompts.add(new Batch.Entry(s, java.util.stream.IntStream.range(0, 7 + 5 * s).map(i -> (i * 31 + 7) % 512).toArray(), 0));
            twin.both(prompts, "six prompts of 7..32 tokens");
            for (int step = 0; step < 20; step++) {
                List<Batch.Entry> decode = new ArrayList<>();
                for (int s = 0; s < 6; s++) decode.add(new Batch.Entry(s, new int[]{(step * 17 + s) % 512}, twin.seqs.get(s).size()));
                twin.both(decode, "decode step " + step);
            }
        }
    }
}
