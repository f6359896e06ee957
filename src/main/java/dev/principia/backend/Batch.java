package dev.principia.backend;

import java.util.List;

/** The work of one engine step: one entry per scheduled sequence, each in its own KV slot. */
public record Batch(List<Entry> entries) {
    public Batch {
        entries = List.copyOf(entries);
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("a batch needs at least one entry");
        }
        var seen = new java.util.HashSet<Integer>();
        for (Entry e : entries) {
            if (!seen.add(e.slot())) {
                throw new IllegalArgumentException("slot " + e.slot() + " appears twice in one batch");
            }
        }
    }

    /** Total number of tokens fed in this step. */
    public int numTokens() {
        int n = 0;
        for (Entry e : entries) n += e.tokenIds().length;
        return n;
    }

    /**
     * One sequence's slice of a step.
     *
     * @param slot          KV slot holding this sequence's past
     * @param tokenIds      tokens to feed, at least one
     * @param startPosition absolute position of {@code tokenIds[0]}; the slot's past covers {@code [0, startPosition)}
     */
    public record Entry(int slot, int[] tokenIds, int startPosition) {
        public Entry {
            if (slot < 0) throw new IllegalArgumentException("slot must be >= 0, got " + slot);
            if (tokenIds == null || tokenIds.length == 0) throw new IllegalArgumentException("an entry needs at least one token");
            if (startPosition < 0) throw new IllegalArgumentException("startPosition must be >= 0, got " + startPosition);
        }
    }
}
