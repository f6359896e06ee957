package dev.principia.engine;

/**
 * Where a waiting sequence gets its first {@code numTokens} positions: copied from {@code source}, or
 * computed when null (see the prefix forking in {@link Scheduler}).
 */
record ForkSource(Sequence source, int numTokens) {
    static final ForkSource WAIT = new ForkSource(null, -1);
    static final ForkSource NONE = new ForkSource(null, 0);

    /**
     * The running sibling to fork from (the one offering the most computed shared positions), NONE to
     * compute from position 0, or WAIT while an earlier unfinished sibling shares more than that and
     * has yet to compute it. Earlier siblings are ahead in the queue and never wait on later ones, so
     * waits cannot cycle; a sibling that finishes or is preempted simply stops being a source.
     */
    static ForkSource of(Sequence seq) {
        int limit = seq.numTokens() - 1; // it computes its last position itself: its own logits
        ForkSource best = NONE;
        for (Sequence other : seq.request.sequences) {
            if (other == seq || other.status != SequenceStatus.RUNNING) continue;
            int have = Math.min(Math.min(seq.sharedPrompt[other.index], limit), other.numComputedTokens);
            if (have > best.numTokens()) best = new ForkSource(other, have);
        }
        for (Sequence other : seq.request.sequences) {
            if (other.index >= seq.index) break;
            if (!other.status.isFinished() && Math.min(seq.sharedPrompt[other.index], limit) > best.numTokens()) return WAIT;
        }
        return best;
    }
}
