package dev.principia.backend.fixedkv;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class FixedKvLayoutTest {

    @Test
    void offsetsAreSlotMajorThenHeadThenPosition() {
        var l = new FixedKvLayout(3, 4, 8, 100, 10, 2);
        assertEquals(4L * 100 * 8 * 2, l.slotBytes());
        assertEquals(l.slotBytes() * 10, l.bufferBytes());
        assertEquals(l.bufferBytes() * 2 * 3, l.totalBytes());
        assertEquals(2L * 3 * 4 * 8 * 2, l.bytesPerToken());
        assertEquals(1000, l.capacityTokens());
        assertEquals(3 * l.slotBytes() + (2L * 100 + 7) * 8 * 2, l.offset(3, 2, 7));
        assertThrows(IllegalArgumentException.class, () -> l.offset(10, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> l.offset(0, 4, 0));
        assertThrows(IllegalArgumentException.class, () -> l.offset(0, 0, 100));
    }

    /** A 27B-shape cache (46 layers, 16 kv heads x 128, 8 Ki positions, fp16, 64 slots) in 1 GiB segments, without allocating. */
    @Test
    void segmentsHoldWholeSlots() {
        var l = new FixedKvLayout(46, 16, 128, 8192, 64, 2).withMaxSegmentBytes(1L << 30);
        assertEquals(32L << 20, l.slotBytes());
        assertEquals(32, l.slotsPerSegment());
        assertEquals(2, l.numSegments());
        assertEquals(1, l.segmentOf(40));
        assertEquals(8 * l.slotBytes(), l.slotOffset(40));
        var odd = new FixedKvLayout(1, 1, 4, 4, 7, 4).withMaxSegmentBytes(3 * 64 + 10);
        assertEquals(3, odd.numSegments());
        assertEquals(1, odd.slotsInSegment(2));
        assertThrows(IllegalArgumentException.class, () -> odd.withMaxSegmentBytes(63));
    }

    @Test
    void slotCopiesCoverUsedPositionsOfEachHead() {
        var l = new FixedKvLayout(2, 3, 4, 16, 5, 4).withMaxSegmentBytes(2 * 3 * 16 * 4 * 4);
        var copies = l.slotCopies(1, 4, 5);
        assertEquals(3, copies.size());
        var c = copies.get(2);
        assertEquals(0, c.srcSegment());
        assertEquals(2, c.dstSegment());
        assertEquals(l.offset(1, 2, 0), c.srcOffset());
        assertEquals(l.offset(4, 2, 0), c.dstOffset());
        assertEquals(5L * 4 * 4, c.bytes());
        assertEquals(0, l.slotCopies(1, 2, 0).size());
        assertThrows(IllegalArgumentException.class, () -> l.slotCopies(1, 1, 3));
        assertThrows(IllegalArgumentException.class, () -> l.slotCopies(1, 2, 17));
    }

    @Test
    void cacheBytesCapTheSlots() {
        // 1 KiB per position, 100 positions per slot: 100 KiB per slot
        assertEquals(8, FixedKvLayout.slotsFitting(0, 1024, 100, 8), "0 = every slot");
        assertEquals(3, FixedKvLayout.slotsFitting(3 * 102_400 + 5, 1024, 100, 8));
        assertEquals(8, FixedKvLayout.slotsFitting(1L << 40, 1024, 100, 8));
        var e = assertThrows(IllegalArgumentException.class, () -> FixedKvLayout.slotsFitting(102_399, 1024, 100, 8));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("102400 bytes"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> FixedKvLayout.slotsFitting(-1, 1024, 100, 8));
    }
}
