package dev.principia.backend.fixedkv;

import dev.principia.backend.BackendException;
import dev.principia.backend.Batch;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The backend's own bookkeeping (lengths, validation, where logits go, what a failed call leaves) over a recording
 * device (vocabulary 16) that answers each row with its last (slot, position, token) instead of logits; the real devices are tested in their packages.
 */
class FixedKvBackendTest {
    static final FixedKvLayout LAYOUT = new FixedKvLayout(2, 2, 4, 32, 8, 4);

    /** Logits row = {slot, last position, last token}; fails the call whose index is {@code failAt}. */
    static final class RecordingDevice implements FixedKvDevice {
        final List<Run> runs = new ArrayList<>();
        final List<List<FixedKvLayout.Copy>> copies = new ArrayList<>();
        int failAt = -1;
        boolean closed;

        @Override
        public String name() {
            return "recording";
        }

        @Override
        public int vocabSize() {
            return 16;
        }

        @Override
        public String kvElementType() {
            return "float32";
        }

        @Override
        public float[][] execute(Run run) {
            if (runs.size() == failAt) throw new IllegalStateException("device lost");
            runs.add(run);
            float[][] out = new float[run.rows()][];
            for (int r = 0; r < run.rows(); r++) {
                int last = (r + 1) * run.tokensPerRow() - 1;
                out[r] = new float[]{run.firstSlot() + r, run.positionIds()[last], run.inputIds()[last]};
            }
            return out;
        }

        @Override
        public void copy(List<FixedKvLayout.Copy> c) {
            copies.add(c);
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    @Test
    void logitsFollowBatchOrderAndChunkedEntriesAnswerWithTheirLastChunk() {
        var device = new RecordingDevice();
        var backend = new FixedKvBackend(device, LAYOUT, new RunPlanner.Limits(4, 4));
        var result = backend.execute(new Batch(List.of(new Batch.Entry(5, new int[]{1, 2, 3, 4, 5, 6}, 0), new Batch.Entry(2, new int[]{9}, 0))));
        assertArrayEquals(new float[]{5, 5, 6}, result.logits()[0]);
        assertArrayEquals(new float[]{2, 0, 9}, result.logits()[1]);
        assertEquals(6, backend.kvLength(5));
        assertEquals(1, backend.kvLength(2));
        assertEquals("recording", backend.info().name());
        assertEquals(LAYOUT.capacityTokens(), backend.info().kvCacheTokens());
        assertEquals(LAYOUT.totalBytes(), backend.info().kvCacheBytes());
    }

    @Test
    void invalidEntriesAreRefusedBeforeAnythingRuns() {
        var device = new RecordingDevice();
        var backend = new FixedKvBackend(device, LAYOUT, new RunPlanner.Limits(4, 64));
        backend.execute(new Batch(List.of(new Batch.Entry(0, new int[]{1, 2, 3}, 0))));
        int runs = device.runs.size();
        assertThrows(IllegalArgumentException.class, () -> backend.execute(new Batch(List.of(new Batch.Entry(0, new int[]{1}, 3),
                new Batch.Entry(1, new int[]{1}, 1)))), "slot 1 is empty: cannot start at 1");
        assertThrows(IllegalArgumentException.class, () -> backend.execute(new Batch(List.of(new Batch.Entry(0, new int[30], 3)))),
                "33 positions exceed capacity 32");
        assertThrows(IllegalArgumentException.class, () -> backend.execute(new Batch(List.of(new Batch.Entry(8, new int[]{1}, 0)))));
        assertThrows(IllegalArgumentException.class, () -> backend.execute(new Batch(List.of(new Batch.Entry(1, new int[]{16}, 0)))),
                "vocabulary of 16");
        assertThrows(IllegalArgumentException.class, () -> backend.execute(new Batch(List.of(new Batch.Entry(1, new int[]{-1}, 0)))));
        assertEquals(runs, device.runs.size());
        assertEquals(3, backend.kvLength(0));
        // truncation is a shorter start: free
        backend.execute(new Batch(List.of(new Batch.Entry(0, new int[]{7}, 1))));
        assertEquals(2, backend.kvLength(0));
    }

    @Test
    void aFailedCallLeavesTheBatchSlotsEmptyAndOthersAlone() {
        var device = new RecordingDevice();
        var backend = new FixedKvBackend(device, LAYOUT, new RunPlanner.Limits(4, 64));
        backend.execute(new Batch(List.of(new Batch.Entry(0, new int[]{1, 2}, 0), new Batch.Entry(3, new int[]{1, 2, 3}, 0))));
        device.failAt = device.runs.size();
        var e = assertThrows(BackendException.class, () -> backend.execute(new Batch(List.of(new Batch.Entry(0, new int[]{4}, 2)))));
        assertTrue(e.getMessage().contains("slots 0..0") && e.getMessage().contains("device lost"), e.getMessage());
        assertEquals(0, backend.kvLength(0));
        assertEquals(3, backend.kvLength(3));
    }

    @Test
    void copyKvCopiesUsedPositionsAndSetsTheLength() {
        var device = new RecordingDevice();
        var backend = new FixedKvBackend(device, LAYOUT, new RunPlanner.Limits(4, 64));
        backend.execute(new Batch(List.of(new Batch.Entry(1, new int[]{1, 2, 3, 4}, 0))));
        backend.copyKv(1, 6, 3);
        assertEquals(3, backend.kvLength(6));
        assertEquals(LAYOUT.slotCopies(1, 6, 3), device.copies.get(0));
        assertThrows(IllegalArgumentException.class, () -> backend.copyKv(1, 2, 5));
        backend.freeKv(1);
        assertEquals(0, backend.kvLength(1));
        backend.close();
        assertTrue(device.closed);
    }
}
