package dev.principia.engine;

import java.util.List;

/**
 * What one step does: KV copies to make (in order, before the step), and the
 * sequences to feed with how many of their uncomputed tokens.
 */
record SchedulerOutput(List<Fork> forks, List<Scheduled> scheduled) {
    SchedulerOutput {
        forks = List.copyOf(forks);
        scheduled = List.copyOf(scheduled);
    }

    /** Copy the first {@code numTokens} positions of {@code srcSlot} into {@code dstSlot}. */
    record Fork(int srcSlot, int dstSlot, int numTokens) {
    }

    /** Feed {@code numTokens} tokens of {@code sequence} starting at its {@code numComputedTokens}. */
    record Scheduled(Sequence sequence, int numTokens) {
    }

    int numTokens() {
        int n = 0;
        for (Scheduled s : scheduled) n += s.numTokens();
        return n;
    }
}
