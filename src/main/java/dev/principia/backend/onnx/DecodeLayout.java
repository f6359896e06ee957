package dev.principia.backend.onnx;

import dev.principia.backend.Batch;

import java.util.List;

/**
 * What the backend's decode buffers hold after a decode call: the {@code present} of entries
 * {@code slots[i]} (in batch order), each as it stood at {@code generations[i]}, which is the next
 * call's {@code past} when the same slots, in the same order and untouched since, each decode their
 * next position. Then no past is re-packed: {@code present} of one step is fed back as {@code past}.
 */
record DecodeLayout(int[] slotIds, KvSlot[] slots, long[] generations) {

    /** The layout after a decode call over {@code slots} (already advanced). */
    static DecodeLayout of(List<Batch.Entry> group, KvSlot[] slots) {
        int[] ids = new int[group.size()];
        long[] gens = new long[group.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = group.get(i).slot();
            gens[i] = slots[i].generation();
        }
        return new DecodeLayout(ids, slots.clone(), gens);
    }

    /**
     * Whether the buffers hold the pasts of this decode group: same slot ids in the same order, the same
     * slot objects unchanged since, and every entry starting right after its slot's last position.
     */
    boolean holds(List<Batch.Entry> group, KvSlot[] current) {
        if (group.size() != slotIds.length) return false;
        for (int i = 0; i < slotIds.length; i++) {
            Batch.Entry e = group.get(i);
            if (e.slot() != slotIds[i] || current[i] != slots[i] || slots[i].generation() != generations[i]
                    || e.startPosition() != slots[i].length()) {
                return false;
            }
        }
        return true;
    }
}
