package dev.principia.backend.onnx;

import dev.principia.backend.BackendException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The KV pool's segment arithmetic (pure, at real sizes), its real allocation in small segments, and its direct memory error. */
class KvPoolTest {
    private static final long GIB = 1L << 30;

    /** Every block lies inside one segment, blocks do not overlap, no segment passes the limit, and they add up. */
    private static void assertSound(KvPoolLayout layout, long maxSegmentBytes) {
        long sum = 0;
        for (int i = 0; i < layout.numSegments(); i++) {
            assertTrue(layout.segmentBytes(i) <= maxSegmentBytes, "segment " + i + ": " + layout.segmentBytes(i));
            assertTrue(layout.segmentBytes(i) <= Integer.MAX_VALUE - 8);
            sum += layout.segmentBytes(i);
        }
        assertEquals(layout.totalBytes(), sum);
        for (int b = 0; b < layout.numBlocks(); b++) {
            int seg = layout.segmentOf(b);
            assertEquals((long) (b - seg * layout.blocksPerSegment()) * layout.blockBytes(), layout.offsetOf(b));
            assertTrue(layout.offsetOf(b) + layout.blockBytes() <= layout.segmentBytes(seg), "block " + b);
        }
    }

    @Test
    void gemma2At27BInFp16With40GiBSplitsIntoSegmentsOfAtMost1GiB() {
        long blockBytes = KvPool.blockBytes(46, 16, 128, 2);
        assertEquals(6_029_312, blockBytes);
        KvPoolLayout layout = KvPoolLayout.of(40 * GIB, blockBytes, PagedKvCache.EAGER_SEGMENT_BYTES);
        assertEquals(40 * GIB / blockBytes, layout.numBlocks());
        assertEquals(GIB / blockBytes, layout.blocksPerSegment());
        assertEquals(41, layout.numSegments());
        assertEquals(3 * blockBytes, layout.segmentBytes(40));
        assertTrue(layout.totalBytes() > 2 * GIB && layout.totalBytes() <= 40 * GIB);
        assertSound(layout, GIB);
    }

    @Test
    void tinyLlamaShapeWith3GiBHasAShortLastSegment() {
        long blockBytes = KvPool.blockBytes(22, 4, 64, 4);
        KvPoolLayout layout = KvPoolLayout.of(3 * GIB, blockBytes, GIB);
        assertEquals(4, layout.numSegments());
        assertEquals(blockBytes * (layout.numBlocks() - 3L * layout.blocksPerSegment()), layout.segmentBytes(3));
        assertSound(layout, GIB);
    }

    @Test
    void rejectsPoolsWithoutABlockAndBlocksLargerThanASegment() {
        assertThrows(IllegalArgumentException.class, () -> KvPoolLayout.of(1000, 1001, GIB));
        assertThrows(IllegalArgumentException.class, () -> KvPoolLayout.of(4 * GIB, 2 * GIB, GIB));
        assertThrows(IllegalArgumentException.class, () -> new KvPoolLayout(GIB, 4, 4));
    }

    /** Three real segments of two blocks (the last of one): a pattern written through every block reads back. */
    @Test
    void allocatesThreeSmallSegmentsAndKeepsEveryBlockApart() {
        int layers = 2, heads = 2, headDim = 8, elem = 4;
        long blockBytes = KvPool.blockBytes(layers, heads, headDim, elem);
        KvPool pool = new KvPool(layers, heads, headDim, elem, 5 * blockBytes, 2 * blockBytes, true);
        assertEquals(3, pool.layout().numSegments());
        assertEquals(5 * blockBytes, pool.allocatedBytes());
        int[] blocks = new int[5];
        for (int i = 0; i < 5; i++) blocks[i] = pool.allocate();
        assertEquals(0, pool.numFreeBlocks());
        assertThrows(BackendException.class, pool::allocate);
        int run = KvPool.BLOCK_POSITIONS * headDim * elem;
        for (int b : blocks) {
            for (int l = 0; l < layers; l++) {
                for (int kv = 0; kv < 2; kv++) {
                    for (int h = 0; h < heads; h++) pool.write(b, l, kv == 0, h, 0, KvPool.BLOCK_POSITIONS, pattern(b, l, kv, h, run));
                }
            }
        }
        pool.copyBlock(blocks[4], blocks[0]);
        for (int b : blocks) {
            int src = b == blocks[0] ? blocks[4] : b;
            for (int l = 0; l < layers; l++) {
                for (int kv = 0; kv < 2; kv++) {
                    for (int h = 0; h < heads; h++) {
                        ByteBuffer got = ByteBuffer.allocate(run).order(ByteOrder.nativeOrder());
                        pool.read(b, l, kv == 0, h, 0, KvPool.BLOCK_POSITIONS, got);
                        assertEquals(pattern(src, l, kv, h, run).rewind(), got.rewind(), "block " + b + " layer " + l + " head " + h);
                    }
                }
            }
        }
        pool.free(blocks[2]);
        assertEquals(blocks[2], pool.allocate());
    }

    private static ByteBuffer pattern(int b, int l, int kv, int h, int bytes) {
        ByteBuffer p = ByteBuffer.allocate(bytes).order(ByteOrder.nativeOrder());
        for (int i = 0; i < bytes; i++) p.put((byte) (b * 31 + l * 7 + kv * 3 + h + i));
        return p.flip();
    }

    /** Under {@code -XX:MaxDirectMemorySize=4m}, an eager 8 MiB pool fails naming the bytes and the flag. */
    @Test
    void tooLittleDirectMemoryNamesTheFlag() throws Exception {
        String out = runProbe("-XX:MaxDirectMemorySize=4m");
        assertTrue(out.contains("BackendException"), out);
        assertTrue(out.contains("-XX:MaxDirectMemorySize"), out);
        assertTrue(out.contains("cannot allocate " + (1 << 20) + " bytes"), out);
    }

    private static String runProbe(String flag) throws IOException, InterruptedException {
        String cp = classes(KvPool.class) + java.io.File.pathSeparator + classes(KvPoolTest.class);
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "-Xmx64m", flag, "-cp", cp, DirectMemoryProbe.class.getName())
                .redirectErrorStream(true).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "probe did not finish");
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    private static String classes(Class<?> c) throws IOException {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new IOException(e);
        }
    }
}
