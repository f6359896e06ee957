package dev.principia.backend.onnx;

import java.nio.ByteBuffer;
import java.util.Arrays;

import static dev.principia.backend.onnx.KvPool.BLOCK_POSITIONS;

/**
 * One sequence's KV cache: a block table into a {@link KvPool}. Position p lies in block
 * {@code blocks[p / 16]} at row {@code p % 16}; positions {@code [0, length)} are valid. Growing takes blocks
 * from the pool and never moves what is there. {@code generation} counts changes of length, so that a copy of
 * the contents elsewhere can tell whether it is still current.
 */
final class KvSlot {
    private final KvPool pool;
    private int[] blocks = new int[4];
    private int numBlocks, length;
    private long generation;

    KvSlot(KvPool pool) {
        this.pool = pool;
    }

    int length() {
        return length;
    }

    long generation() {
        return generation;
    }

    int numBlocks() {
        return numBlocks;
    }

    /** Blocks still to take from the pool before this slot can hold {@code positions}. */
    int blocksMissing(int positions) {
        return Math.max(0, KvPool.blocksFor(positions) - numBlocks);
    }

    void setLength(int newLength) {
        if (newLength > numBlocks * BLOCK_POSITIONS) {
            throw new IllegalStateException("length " + newLength + " exceeds " + numBlocks + " blocks");
        }
        length = newLength;
        generation++;
    }

    /** Keeps positions {@code [0, newLength)} (no-op when it holds no more) and returns the blocks beyond to the pool. */
    void truncate(int newLength) {
        if (newLength < length) {
            length = newLength;
            generation++;
        }
        int keep = KvPool.blocksFor(length);
        while (numBlocks > keep) pool.free(blocks[--numBlocks]);
    }

    /** Takes blocks until {@code positions} fit; callers check the pool's free blocks first. */
    void ensureCapacity(int positions) {
        int needed = KvPool.blocksFor(positions);
        if (needed > blocks.length) blocks = Arrays.copyOf(blocks, Math.max(needed, 2 * blocks.length));
        while (numBlocks < needed) blocks[numBlocks++] = pool.allocate();
    }

    /** Appends positions {@code [0, len)} of head h to {@code dst} at its position. */
    void readHead(int layer, boolean key, int h, int len, ByteBuffer dst) {
        for (int p = 0; p < len; p += BLOCK_POSITIONS) {
            pool.read(blocks[p / BLOCK_POSITIONS], layer, key, h, 0, Math.min(BLOCK_POSITIONS, len - p), dst);
        }
    }

    /** Reads {@code n} positions for head h from {@code src} into positions {@code [start, start + n)}; capacity must be there. */
    void writeHead(int layer, boolean key, int h, int start, int n, ByteBuffer src) {
        for (int p = start, end = start + n; p < end; ) {
            int row = p % BLOCK_POSITIONS, run = Math.min(BLOCK_POSITIONS - row, end - p);
            pool.write(blocks[p / BLOCK_POSITIONS], layer, key, h, row, run, src);
            p += run;
        }
    }

    /** A new slot holding positions {@code [0, n)} of this one, block by block; callers check the pool's free blocks first. */
    KvSlot copy(int n) {
        KvSlot c = new KvSlot(pool);
        c.ensureCapacity(n);
        for (int b = 0; b < c.numBlocks; b++) pool.copyBlock(blocks[b], c.blocks[b]);
        c.length = n;
        return c;
    }

    /** Returns every block to the pool; the slot then holds nothing. */
    void release() {
        length = 0;
        generation++;
        while (numBlocks > 0) pool.free(blocks[--numBlocks]);
    }
}
