package dev.principia.backend.onnx;

/**
 * Where the blocks of a KV pool lie: {@code numBlocks} blocks of {@code blockBytes} each, packed
 * {@code blocksPerSegment} to a segment (the last segment may hold fewer), so that no segment — one
 * direct buffer — is larger than the segment limit it was built with, however large the pool. Pure
 * arithmetic in {@code long}; allocates nothing.
 *
 * @param blockBytes       bytes of one block
 * @param numBlocks        blocks in the pool
 * @param blocksPerSegment blocks in every segment but possibly the last
 */
record KvPoolLayout(long blockBytes, int numBlocks, int blocksPerSegment) {
    KvPoolLayout {
        if (blockBytes <= 0) throw new IllegalArgumentException("blockBytes must be > 0, got " + blockBytes);
        if (numBlocks <= 0) throw new IllegalArgumentException("numBlocks must be > 0, got " + numBlocks);
        if (blocksPerSegment <= 0 || blocksPerSegment > numBlocks) {
            throw new IllegalArgumentException("blocksPerSegment must be in [1, " + numBlocks + "], got " + blocksPerSegment);
        }
        if (blockBytes * blocksPerSegment > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("a segment of " + blocksPerSegment + " blocks of " + blockBytes + " bytes exceeds one buffer's limit");
        }
    }

    /**
     * The layout of {@code poolBytes} (rounded down to whole blocks) in segments of at most {@code maxSegmentBytes}.
     *
     * @throws IllegalArgumentException when the pool holds no block, a block is larger than a segment, or the
     *                                  pool has more than {@code Integer.MAX_VALUE} blocks
     */
    static KvPoolLayout of(long poolBytes, long blockBytes, long maxSegmentBytes) {
        if (blockBytes <= 0) throw new IllegalArgumentException("blockBytes must be > 0, got " + blockBytes);
        if (blockBytes > maxSegmentBytes) {
            throw new IllegalArgumentException("one KV block of " + blockBytes + " bytes exceeds the segment limit of " + maxSegmentBytes + " bytes");
        }
        long blocks = poolBytes / blockBytes;
        if (blocks < 1) throw new IllegalArgumentException("kvCacheBytes " + poolBytes + " holds no KV block of " + blockBytes + " bytes");
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException("kvCacheBytes " + poolBytes + " holds more than 2^31 blocks");
        return new KvPoolLayout(blockBytes, (int) blocks, (int) Math.min(blocks, maxSegmentBytes / blockBytes));
    }

    int numSegments() {
        return (numBlocks + blocksPerSegment - 1) / blocksPerSegment;
    }

    /** Bytes of segment {@code i}. */
    long segmentBytes(int i) {
        if (i < 0 || i >= numSegments()) throw new IndexOutOfBoundsException("segment " + i + " of " + numSegments());
        int blocks = Math.min(blocksPerSegment, numBlocks - i * blocksPerSegment);
        return blocks * blockBytes;
    }

    int segmentOf(int block) {
        return block / blocksPerSegment;
    }

    /** Byte offset of {@code block} inside its segment; below {@code segmentBytes(segmentOf(block))}. */
    int offsetOf(int block) {
        return (int) ((block % blocksPerSegment) * blockBytes);
    }

    long totalBytes() {
        return numBlocks * blockBytes;
    }
}
