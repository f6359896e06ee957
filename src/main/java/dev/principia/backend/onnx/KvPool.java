package dev.principia.backend.onnx;

import dev.principia.backend.BackendException;

import java.nio.ByteBuffer;
import java.util.BitSet;

/**
 * Fixed-size KV blocks in direct memory, off the Java heap. A block holds {@link #BLOCK_POSITIONS}
 * positions of one sequence for every layer, laid out {@code [numLayers][K, V][numKvHeads][BLOCK_POSITIONS][headDim]}
 * in the graph's KV element type (raw bytes: the pool never converts), so that one head's run of up to 16
 * positions is contiguous (the unit copied to and from ORT's {@code [B, kvHeads, T, headDim]} staging) and a
 * whole block is one contiguous copy when a slot is forked. Blocks lie in segments of at most
 * {@code maxSegmentBytes} ({@link KvPoolLayout}); segments are allocated up front ({@code eager}) or when their
 * first block is taken. Free blocks are taken lowest id first, so a lazy pool grows segment by segment.
 */
final class KvPool {
    static final int BLOCK_POSITIONS = 16;
    private final KvPoolLayout layout;
    private final int numKvHeads, headDim, elementBytes;
    private final ByteBuffer[] segments;
    private final BitSet free;
    private int numFree;

    KvPool(int numLayers, int numKvHeads, int headDim, int elementBytes, long poolBytes, long maxSegmentBytes, boolean eager) {
        this.numKvHeads = numKvHeads;
        this.headDim = headDim;
        this.elementBytes = elementBytes;
        this.layout = KvPoolLayout.of(poolBytes, blockBytes(numLayers, numKvHeads, headDim, elementBytes), maxSegmentBytes);
        this.segments = new ByteBuffer[layout.numSegments()];
        this.free = new BitSet(layout.numBlocks());
        free.set(0, layout.numBlocks());
        this.numFree = layout.numBlocks();
        if (eager) for (int i = 0; i < segments.length; i++) allocateSegment(i);
    }

    /** Bytes of one block: {@code numLayers * 2 * numKvHeads * BLOCK_POSITIONS * headDim * elementBytes}. */
    static long blockBytes(int numLayers, int numKvHeads, int headDim, int elementBytes) {
        return 2L * numLayers * numKvHeads * BLOCK_POSITIONS * headDim * elementBytes;
    }

    static int blocksFor(int positions) {
        return (positions + BLOCK_POSITIONS - 1) / BLOCK_POSITIONS;
    }

    KvPoolLayout layout() {
        return layout;
    }

    int numFreeBlocks() {
        return numFree;
    }

    /** Bytes of direct memory the pool's segments hold now. */
    long allocatedBytes() {
        long n = 0;
        for (int i = 0; i < segments.length; i++) if (segments[i] != null) n += layout.segmentBytes(i);
        return n;
    }

    /** Takes a free block (lowest id first); callers check {@link #numFreeBlocks()} first. */
    int allocate() {
        int block = free.nextSetBit(0);
        if (block < 0) throw new BackendException("KV pool exhausted: all " + layout.numBlocks() + " blocks are in use");
        int seg = layout.segmentOf(block);
        if (segments[seg] == null) allocateSegment(seg);
        free.clear(block);
        numFree--;
        return block;
    }

    void free(int block) {
        if (free.get(block)) throw new IllegalStateException("block " + block + " freed twice");
        free.set(block);
        numFree++;
    }

    /** Copies every byte of block {@code src} into block {@code dst}. */
    void copyBlock(int src, int dst) {
        segment(dst).put(layout.offsetOf(dst), segment(src), layout.offsetOf(src), (int) layout.blockBytes());
    }

    /** Appends positions {@code [from, from + n)} (within one block) of one head to {@code dst} at its position. */
    void read(int block, int layer, boolean key, int head, int from, int n, ByteBuffer dst) {
        int len = n * headDim * elementBytes;
        dst.put(dst.position(), segment(block), offset(block, layer, key, head, from), len);
        dst.position(dst.position() + len);
    }

    /** Stores {@code n} positions of one head from {@code src} (at its position) into {@code [from, from + n)} of a block. */
    void write(int block, int layer, boolean key, int head, int from, int n, ByteBuffer src) {
        int len = n * headDim * elementBytes;
        segment(block).put(offset(block, layer, key, head, from), src, src.position(), len);
        src.position(src.position() + len);
    }

    private int offset(int block, int layer, boolean key, int head, int position) {
        int run = ((layer * 2 + (key ? 0 : 1)) * numKvHeads + head) * BLOCK_POSITIONS + position;
        return layout.offsetOf(block) + run * headDim * elementBytes;
    }

    private ByteBuffer segment(int block) {
        return segments[layout.segmentOf(block)];
    }

    private void allocateSegment(int i) {
        segments[i] = DirectMemory.allocate(layout.segmentBytes(i), "KV segment " + (i + 1) + " of " + segments.length
                + " (pool " + layout.totalBytes() + " bytes, " + allocatedBytes() + " allocated so far)");
    }
}
