package dev.principia.backend.onnx;

import dev.principia.backend.BackendException;
import dev.principia.backend.Batch;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * The backend's KV store: slots ({@link KvSlot} block tables) over one {@link KvPool}, and the copies between
 * them and ONNX Runtime's per-call staging ({@link KvBuffers}). Knows nothing of sessions or graphs.
 *
 * <p>Sizing: an explicit {@code kvCacheBytes} is allocated up front in segments of at most 1 GiB, so a too-small
 * direct memory limit fails at start-up. Without one ({@code 0}), the pool is what every slot needs at
 * {@code maxPositions}, allocated lazily in 64 MiB segments (the earlier heap cache's grow-on-demand).
 *
 * <p>Capacity in tokens ({@link #capacityTokens()}): the engine charges each slot its exact positions and the
 * pool rounds each slot up to whole blocks, so the guarantee is {@code numBlocks * 16 - maxSlots * 15} tokens
 * in total (every slot may waste up to 15 rows), or {@code maxSlots * maxPositions} when the pool holds every
 * slot at full length. An engine that keeps its tokens within it never exhausts the pool; one that does not
 * gets a {@link BackendException} before anything is written.
 */
final class PagedKvCache {
    static final long EAGER_SEGMENT_BYTES = 1L << 30, LAZY_SEGMENT_BYTES = 64L << 20;
    private static final byte[] ZEROS = new byte[16384];
    private final int numLayers, numKvHeads, headDim, elementBytes;
    private final KvPool pool;
    private final KvSlot[] slots;
    private final long capacityTokens;

    /**
     * @param kvCacheBytes    pool size, rounded down to whole blocks; 0 derives it (lazily allocated)
     * @param maxSegmentBytes segment limit; 0 picks 1 GiB (explicit pool) or 64 MiB (derived pool)
     * @throws IllegalArgumentException when the pool cannot hold a token per slot
     * @throws BackendException         when direct memory refuses an explicit pool
     */
    PagedKvCache(int numLayers, int numKvHeads, int headDim, int elementBytes, int maxSlots, int maxPositions,
                 long kvCacheBytes, long maxSegmentBytes) {
        if (kvCacheBytes < 0) throw new IllegalArgumentException("kvCacheBytes must be >= 0, got " + kvCacheBytes);
        this.numLayers = numLayers;
        this.numKvHeads = numKvHeads;
        this.headDim = headDim;
        this.elementBytes = elementBytes;
        long blockBytes = KvPool.blockBytes(numLayers, numKvHeads, headDim, elementBytes);
        boolean derived = kvCacheBytes == 0;
        long fullBlocks = (long) maxSlots * KvPool.blocksFor(maxPositions);
        long poolBytes = derived ? fullBlocks * blockBytes : kvCacheBytes;
        long segment = maxSegmentBytes > 0 ? maxSegmentBytes : derived ? Math.max(LAZY_SEGMENT_BYTES, blockBytes) : EAGER_SEGMENT_BYTES;
        long numBlocks = poolBytes / blockBytes;
        long tokens = numBlocks >= fullBlocks ? (long) maxSlots * maxPositions
                : numBlocks * KvPool.BLOCK_POSITIONS - (long) maxSlots * (KvPool.BLOCK_POSITIONS - 1);
        if (tokens < maxSlots) {
            long minBytes = maxSlots * blockBytes;
            throw new IllegalArgumentException("kvCacheBytes " + poolBytes + " holds " + numBlocks + " blocks of " + blockBytes
                    + " bytes; " + maxSlots + " slots need at least " + minBytes + " bytes");
        }
        this.capacityTokens = tokens;
        this.pool = new KvPool(numLayers, numKvHeads, headDim, elementBytes, poolBytes, segment, !derived);
        this.slots = new KvSlot[maxSlots];
    }

    long kvCacheBytes() {
        return pool.layout().totalBytes();
    }

    long bytesPerToken() {
        return 2L * numLayers * numKvHeads * headDim * elementBytes;
    }

    long capacityTokens() {
        return capacityTokens;
    }

    KvPool pool() {
        return pool;
    }

    int numSlots() {
        return slots.length;
    }

    KvSlot slot(int id) {
        checkSlot(id);
        if (slots[id] == null) slots[id] = new KvSlot(pool);
        return slots[id];
    }

    int length(int id) {
        checkSlot(id);
        return slots[id] == null ? 0 : slots[id].length();
    }

    /**
     * Gives each entry's slot the blocks for {@code startPosition + tokenIds.length} positions (slots already
     * truncated to their entries' starts).
     *
     * @throws BackendException before taking any block when the pool has too few free blocks
     */
    void reserve(List<Batch.Entry> entries) {
        long missing = 0;
        for (Batch.Entry e : entries) missing += slot(e.slot()).blocksMissing(e.startPosition() + e.tokenIds().length);
        if (missing > pool.numFreeBlocks()) {
            throw new BackendException("KV pool exhausted: the batch needs " + missing + " more blocks of " + KvPool.BLOCK_POSITIONS
                    + " positions (" + missing * pool.layout().blockBytes() + " bytes), " + pool.numFreeBlocks() + " of "
                    + pool.layout().numBlocks() + " are free (kvCacheBytes " + kvCacheBytes() + "); keep the engine's KV tokens within "
                    + capacityTokens + " (BackendInfo.kvCacheTokens) or raise kvCacheBytes");
        }
        for (Batch.Entry e : entries) slot(e.slot()).ensureCapacity(e.startPosition() + e.tokenIds().length);
    }

    /** Makes {@code dst} hold a copy of {@code [0, n)} of {@code src} (a truncation when they are one slot). */
    void copy(int src, int dst, int n) {
        if (src == dst) {
            slot(src).truncate(n);
            return;
        }
        KvSlot from = slot(src);
        int reusable = slots[dst] == null ? 0 : slots[dst].numBlocks();
        int missing = KvPool.blocksFor(n);
        if (missing > pool.numFreeBlocks() + reusable) {
            throw new BackendException("KV pool exhausted: copying " + n + " positions needs " + missing + " blocks, "
                    + (pool.numFreeBlocks() + reusable) + " are free (kvCacheBytes " + kvCacheBytes() + ")");
        }
        free(dst);
        slots[dst] = from.copy(n);
    }

    void free(int id) {
        checkSlot(id);
        if (slots[id] != null) slots[id].release();
        slots[id] = null;
    }

    /**
     * Packs the slots' pasts into every buffer as {@code [B, kvHeads, past, headDim]}: entry i's positions
     * {@code [0, lengths[i])} sit at {@code [past - lengths[i], past)}; the left padding is 0 (finite, so that
     * masked value rows weigh in as 0).
     */
    void gather(KvSlot[] group, int[] lengths, int past, KvBuffers dst) {
        int b = group.length;
        long rowBytes = (long) headDim * elementBytes;
        for (int l = 0; l < numLayers; l++) {
            for (int kv = 0; kv < 2; kv++) {
                boolean key = kv == 0;
                ByteBuffer buf = dst.view(l, key, (long) b * numKvHeads * past * rowBytes);
                for (int i = 0; i < b; i++) {
                    for (int h = 0; h < numKvHeads; h++) {
                        buf.position((int) ((long) (i * numKvHeads + h) * past * rowBytes));
                        for (long pad = (past - lengths[i]) * rowBytes; pad > 0; pad -= ZEROS.length) buf.put(ZEROS, 0, (int) Math.min(pad, ZEROS.length));
                        if (lengths[i] > 0) group[i].readHead(l, key, h, lengths[i], buf);
                    }
                }
            }
        }
    }

    /** Copies each entry's S new positions from {@code present} [B, kvHeads, past + S, headDim] into its slot and advances it. */
    void scatter(KvBuffers present, List<Batch.Entry> entries, KvSlot[] group, int past, int s) {
        int b = group.length, total = past + s;
        long rowBytes = (long) headDim * elementBytes;
        for (int l = 0; l < numLayers; l++) {
            for (int kv = 0; kv < 2; kv++) {
                boolean key = kv == 0;
                ByteBuffer buf = present.view(l, key, (long) b * numKvHeads * total * rowBytes);
                for (int i = 0; i < b; i++) {
                    for (int h = 0; h < numKvHeads; h++) {
                        buf.position((int) (((long) (i * numKvHeads + h) * total + past) * rowBytes));
                        group[i].writeHead(l, key, h, entries.get(i).startPosition(), s, buf);
                    }
                }
            }
        }
        for (int i = 0; i < b; i++) group[i].setLength(entries.get(i).startPosition() + s);
    }

    /**
     * Packs the slots' pasts into every buffer as {@code [B, kvHeads, capacity, headDim]}, right-aligned for
     * GroupQueryAttention: entry i's positions {@code [0, lengths[i])} sit at {@code [0, lengths[i])}; indices past
     * them are left as they are (the kernel reads only a row's own positions).
     */
    void gatherRightAligned(KvSlot[] group, int[] lengths, int capacity, KvBuffers dst) {
        int b = group.length;
        long rowBytes = (long) headDim * elementBytes;
        for (int l = 0; l < numLayers; l++) {
            for (int kv = 0; kv < 2; kv++) {
                ByteBuffer buf = dst.view(l, kv == 0, (long) b * numKvHeads * capacity * rowBytes);
                for (int i = 0; i < b; i++) {
                    for (int h = 0; h < numKvHeads; h++) {
                        buf.position((int) ((long) (i * numKvHeads + h) * capacity * rowBytes));
                        if (lengths[i] > 0) group[i].readHead(l, kv == 0, h, lengths[i], buf);
                    }
                }
            }
        }
    }

    /**
     * Copies each entry's S new positions from a right-aligned {@code [B, kvHeads, capacity, headDim]} buffer
     * (indices {@code [startPosition, startPosition + S)} of its row) into its slot and advances it.
     */
    void scatterRightAligned(KvBuffers present, List<Batch.Entry> entries, KvSlot[] group, int capacity, int s) {
        int b = group.length;
        long rowBytes = (long) headDim * elementBytes;
        for (int l = 0; l < numLayers; l++) {
            for (int kv = 0; kv < 2; kv++) {
                ByteBuffer buf = present.view(l, kv == 0, (long) b * numKvHeads * capacity * rowBytes);
                for (int i = 0; i < b; i++) {
                    int start = entries.get(i).startPosition();
                    for (int h = 0; h < numKvHeads; h++) {
                        buf.position((int) (((long) (i * numKvHeads + h) * capacity + start) * rowBytes));
                        group[i].writeHead(l, kv == 0, h, start, s, buf);
                    }
                }
            }
        }
        for (int i = 0; i < b; i++) group[i].setLength(entries.get(i).startPosition() + s);
    }

    private void checkSlot(int id) {
        if (id < 0 || id >= slots.length) throw new IllegalArgumentException("slot " + id + " outside [0, " + slots.length + ")");
    }
}
