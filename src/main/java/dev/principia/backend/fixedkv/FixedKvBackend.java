package dev.principia.backend.fixedkv;

import dev.principia.backend.Backend;
import dev.principia.backend.BackendException;
import dev.principia.backend.BackendInfo;
import dev.principia.backend.Batch;
import dev.principia.backend.BatchResult;

import java.util.Arrays;
import java.util.List;

/**
 * A {@link Backend} over a fixed-capacity KV cache updated in place: every slot owns {@code capacity} positions in
 * the {@link FixedKvLayout}, a step is planned into {@link Run}s ({@link RunPlanner}) and each run is executed by
 * the {@link FixedKvDevice} with the cache bound as both past and present, so no step copies any past. Truncation is
 * free (positions past a slot's length are never visible); {@link #copyKv} copies the used positions of each head
 * (a device-to-device copy on a GPU). The engine above cannot tell this from any other backend.
 *
 * <p>Validation happens before anything changes: a slot out of range, a token id outside the vocabulary, an entry
 * starting past its slot's length, or positions beyond the capacity are {@link IllegalArgumentException}s (engine bugs), as in the ONNX Runtime backend.
 * If the device fails, the lengths of the batch's slots become 0 (their KV is undefined) and a
 * {@link BackendException} says which run failed.
 */
public final class FixedKvBackend implements Backend {
    private final FixedKvDevice device;
    private final FixedKvLayout layout;
    private final RunPlanner planner;
    private final BackendInfo info;
    private final int[] lengths;

    public FixedKvBackend(FixedKvDevice device, FixedKvLayout layout, RunPlanner.Limits limits) {
        this.device = device;
        this.layout = layout;
        this.planner = new RunPlanner(layout, limits);
        this.lengths = new int[layout.maxSlots()];
        this.info = new BackendInfo(device.name(), device.vocabSize(), layout.numLayers(), layout.numKvHeads(), layout.headDim(),
                layout.capacity(), layout.maxSlots(), device.kvElementType(), layout.totalBytes(), layout.bytesPerToken(),
                layout.capacityTokens());
    }

    @Override
    public BackendInfo info() {
        return info;
    }

    public FixedKvLayout layout() {
        return layout;
    }

    public RunPlanner.Limits limits() {
        return planner.limits();
    }

    @Override
    public BatchResult execute(Batch batch) {
        for (Batch.Entry e : batch.entries()) check(e);
        List<Run> runs = planner.plan(batch);
        float[][] logits = new float[batch.entries().size()][];
        for (Run run : runs) {
            float[][] out;
            try {
                out = device.execute(run);
            } catch (RuntimeException e) {
                for (Batch.Entry entry : batch.entries()) lengths[entry.slot()] = 0;
                throw e instanceof BackendException be ? be : new BackendException(device.name() + " call failed (slots " + run.firstSlot()
                        + ".." + (run.firstSlot() + run.rows() - 1) + ", " + run.tokensPerRow() + " tokens each): " + e.getMessage(), e);
            }
            if (out.length != run.rows()) {
                throw new BackendException(device.name() + " returned " + out.length + " logit rows for a run of " + run.rows());
            }
            for (int r = 0; r < run.rows(); r++) {
                if (run.lastChunk()[r]) logits[run.entryIndex()[r]] = out[r];
            }
        }
        for (Batch.Entry e : batch.entries()) lengths[e.slot()] = e.startPosition() + e.tokenIds().length;
        return new BatchResult(logits);
    }

    private void check(Batch.Entry e) {
        checkSlot(e.slot());
        int have = lengths[e.slot()];
        if (e.startPosition() > have) {
            throw new IllegalArgumentException("slot " + e.slot() + " holds " + have + " positions, entry starts at " + e.startPosition());
        }
        for (int t : e.tokenIds()) {
            if (t < 0 || t >= info.vocabSize()) {
                throw new IllegalArgumentException("slot " + e.slot() + ": token id " + t + " outside the vocabulary [0, " + info.vocabSize() + ")");
            }
        }
        long end = (long) e.startPosition() + e.tokenIds().length;
        if (end > layout.capacity()) {
            throw new IllegalArgumentException("slot " + e.slot() + ": positions up to " + end + " exceed the cache capacity " + layout.capacity());
        }
    }

    @Override
    public void copyKv(int srcSlot, int dstSlot, int numTokens) {
        checkSlot(srcSlot);
        checkSlot(dstSlot);
        if (numTokens > lengths[srcSlot]) {
            throw new IllegalArgumentException("slot " + srcSlot + " holds " + lengths[srcSlot] + " positions, asked to copy " + numTokens);
        }
        device.copy(layout.slotCopies(srcSlot, dstSlot, numTokens));
        lengths[dstSlot] = numTokens;
    }

    @Override
    public void freeKv(int slot) {
        checkSlot(slot);
        lengths[slot] = 0;
    }

    @Override
    public int kvLength(int slot) {
        checkSlot(slot);
        return lengths[slot];
    }

    /** Slot lengths, for tests and diagnostics. */
    int[] lengths() {
        return Arrays.copyOf(lengths, lengths.length);
    }

    private void checkSlot(int slot) {
        if (slot < 0 || slot >= lengths.length) throw new IllegalArgumentException("slot " + slot + " outside [0, " + lengths.length + ")");
    }

    @Override
    public void close() {
        device.close();
    }
}
