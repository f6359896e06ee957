package dev.principia.backend.fixedkv;

import java.util.ArrayList;
import java.util.List;

/**
 * Where a fixed-capacity KV cache keeps each slot's keys and values: per layer one key and one value buffer
 * {@code [maxSlots, numKvHeads, capacity, headDim]} of {@code elementBytes} elements, slot-major, so that the
 * rows of consecutive slots {@code [s, s + B)} are themselves a {@code [B, numKvHeads, capacity, headDim]}
 * tensor starting at {@link #slotOffset(int) slotOffset(s)} — the {@code past}/{@code present} of one call of
 * the portable graph ({@code OnnxExporter.Attention.PORTABLE}), bound in place. Cache index = absolute position.
 *
 * <p>A buffer may be split into segments of {@link #slotsPerSegment} whole slots (a Java direct buffer holds at
 * most 2 GiB; a device allocation needs no split); a call's slots never cross a segment.
 */
public record FixedKvLayout(int numLayers, int numKvHeads, int headDim, int capacity, int maxSlots, int elementBytes,
                            int slotsPerSegment) {
    public FixedKvLayout {
        if (numLayers <= 0 || numKvHeads <= 0 || headDim <= 0 || capacity <= 0 || maxSlots <= 0) {
            throw new IllegalArgumentException("layout dimensions must be positive: layers " + numLayers + ", kv heads " + numKvHeads
                    + ", head dim " + headDim + ", capacity " + capacity + ", slots " + maxSlots);
        }
        if (elementBytes != 2 && elementBytes != 4) throw new IllegalArgumentException("elementBytes must be 2 or 4, got " + elementBytes);
        if (slotsPerSegment <= 0 || slotsPerSegment > maxSlots) {
            throw new IllegalArgumentException("slotsPerSegment must be in [1, " + maxSlots + "], got " + slotsPerSegment);
        }
    }

    /** One segment per buffer. */
    public FixedKvLayout(int numLayers, int numKvHeads, int headDim, int capacity, int maxSlots, int elementBytes) {
        this(numLayers, numKvHeads, headDim, capacity, maxSlots, elementBytes, maxSlots);
    }

    /** The same layout with segments of at most {@code maxSegmentBytes} (at least one slot each). */
    public FixedKvLayout withMaxSegmentBytes(long maxSegmentBytes) {
        if (slotBytes() > maxSegmentBytes) {
            throw new IllegalArgumentException("one slot needs " + slotBytes() + " bytes per layer and K/V (" + numKvHeads + " kv heads x "
                    + capacity + " positions x " + headDim + " x " + elementBytes + " B), above the segment limit " + maxSegmentBytes
                    + "; lower the longest sequence");
        }
        return new FixedKvLayout(numLayers, numKvHeads, headDim, capacity, maxSlots, elementBytes,
                (int) Math.min(maxSlots, maxSegmentBytes / slotBytes()));
    }

    /**
     * Slots a cache of {@code cacheBytes} holds when each owns {@code capacity} positions of {@code bytesPerToken} (keys and
     * values of every layer): at most {@code maxSlots}; {@code cacheBytes == 0} means {@code maxSlots}.
     *
     * @throws IllegalArgumentException when {@code cacheBytes} cannot hold one slot, naming the bytes one needs
     */
    public static int slotsFitting(long cacheBytes, long bytesPerToken, int capacity, int maxSlots) {
        if (cacheBytes < 0) throw new IllegalArgumentException("cacheBytes must be >= 0 (0 = every slot), got " + cacheBytes);
        if (cacheBytes == 0) return maxSlots;
        long perSlot = bytesPerToken * capacity;
        long fit = cacheBytes / perSlot;
        if (fit < 1) {
            throw new IllegalArgumentException("a KV cache of " + cacheBytes + " bytes cannot hold one slot: each slot owns " + capacity
                    + " positions, " + perSlot + " bytes; raise the KV cache bytes or lower the longest sequence");
        }
        return (int) Math.min(maxSlots, fit);
    }

    /** Bytes of one slot in one layer's key (or value) buffer: {@code numKvHeads * capacity * headDim * elementBytes}. */
    public long slotBytes() {
        return (long) numKvHeads * capacity * headDim * elementBytes;
    }

    /** Bytes of one layer's key (or value) buffer across all slots. */
    public long bufferBytes() {
        return slotBytes() * maxSlots;
    }

    /** Bytes of the whole cache: keys and values of every layer. */
    public long totalBytes() {
        return bufferBytes() * 2L * numLayers;
    }

    /** Bytes one position occupies across all layers, keys and values. */
    public long bytesPerToken() {
        return 2L * numLayers * numKvHeads * headDim * elementBytes;
    }

    /** Positions all slots hold together: each slot holds {@code capacity}, used or not. */
    public long capacityTokens() {
        return (long) maxSlots * capacity;
    }

    public int numSegments() {
        return (maxSlots + slotsPerSegment - 1) / slotsPerSegment;
    }

    public int segmentOf(int slot) {
        checkSlot(slot);
        return slot / slotsPerSegment;
    }

    /** Slots in segment {@code segment} (the last may be short). */
    public int slotsInSegment(int segment) {
        if (segment < 0 || segment >= numSegments()) throw new IllegalArgumentException("segment " + segment + " of " + numSegments());
        return Math.min(slotsPerSegment, maxSlots - segment * slotsPerSegment);
    }

    /** Byte offset of slot {@code slot}'s row within its segment of a layer's key (or value) buffer. */
    public long slotOffset(int slot) {
        checkSlot(slot);
        return (long) (slot % slotsPerSegment) * slotBytes();
    }

    /** Byte offset of (slot, head, position, 0) within the slot's segment. */
    public long offset(int slot, int head, int position) {
        if (head < 0 || head >= numKvHeads) throw new IllegalArgumentException("head " + head + " of " + numKvHeads);
        if (position < 0 || position >= capacity) throw new IllegalArgumentException("position " + position + " outside capacity " + capacity);
        return slotOffset(slot) + ((long) head * capacity + position) * headDim * elementBytes;
    }

    /** One contiguous copy within a layer's key (or value) buffer: segments and byte offsets within them. */
    public record Copy(int srcSegment, long srcOffset, int dstSegment, long dstOffset, long bytes) {
    }

    /**
     * The copies (per head: positions {@code [0, numTokens)} are contiguous) that make {@code dstSlot} hold the first
     * {@code numTokens} positions of {@code srcSlot}, applied alike to every layer's key and value buffer.
     */
    public List<Copy> slotCopies(int srcSlot, int dstSlot, int numTokens) {
        if (numTokens < 0 || numTokens > capacity) throw new IllegalArgumentException("numTokens " + numTokens + " outside [0, " + capacity + "]");
        if (srcSlot == dstSlot) throw new IllegalArgumentException("cannot copy slot " + srcSlot + " onto itself");
        List<Copy> copies = new ArrayList<>(numKvHeads);
        if (numTokens == 0) return copies;
        long bytes = (long) numTokens * headDim * elementBytes;
        for (int h = 0; h < numKvHeads; h++) {
            copies.add(new Copy(segmentOf(srcSlot), offset(srcSlot, h, 0), segmentOf(dstSlot), offset(dstSlot, h, 0), bytes));
        }
        return copies;
    }

    private void checkSlot(int slot) {
        if (slot < 0 || slot >= maxSlots) throw new IllegalArgumentException("slot " + slot + " outside [0, " + maxSlots + ")");
    }
}
