package dev.principia.engine;

import java.util.ArrayDeque;

/**
 * Accounts the KV pool: a fixed number of slots and a fixed number of tokens across them. The
 * backend stores the data; this class decides whether it fits. A slot is charged for the positions
 * it holds; growth beyond the pool fails and the scheduler preempts.
 */
final class KvCacheManager {
    private final int capacityTokens;
    private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
    private final int[] slotTokens;
    private int usedTokens;

    KvCacheManager(int numSlots, int capacityTokens) {
        this.capacityTokens = capacityTokens;
        this.slotTokens = new int[numSlots];
        for (int i = 0; i < numSlots; i++) freeSlots.add(i);
    }

    boolean hasFreeSlot() {
        return !freeSlots.isEmpty();
    }

    /** Takes a free slot charged with {@code numTokens}, or returns -1 when slots or tokens are short. */
    int allocate(int numTokens) {
        if (freeSlots.isEmpty() || usedTokens + numTokens > capacityTokens) return -1;
        int slot = freeSlots.poll();
        slotTokens[slot] = numTokens;
        usedTokens += numTokens;
        return slot;
    }

    /** Charges a slot for {@code numTokens} in all; returns false (and changes nothing) when the pool is short. */
    boolean grow(int slot, int numTokens) {
        int delta = numTokens - slotTokens[slot];
        if (delta <= 0) return true;
        if (usedTokens + delta > capacityTokens) return false;
        slotTokens[slot] = numTokens;
        usedTokens += delta;
        return true;
    }

    void free(int slot) {
        usedTokens -= slotTokens[slot];
        slotTokens[slot] = 0;
        freeSlots.add(slot);
    }

    int usedTokens() {
        return usedTokens;
    }

    int capacityTokens() {
        return capacityTokens;
    }

    int numFreeSlots() {
        return freeSlots.size();
    }
}
