package dev.principia.backend.fixedkv;

import dev.principia.backend.Batch;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Splits an engine {@link Batch} into {@link Run}s the portable graph can execute in place: a run's rows are
 * consecutive slots of one segment (their KV rows are one contiguous {@code [B, kvHeads, C, headDim]} tensor) fed
 * the same number of tokens (no padding: a padded row would write its padding into the cache).
 *
 * <p>An entry longer than {@link Limits#maxTokens} is fed in chunks, in order: chunk k of every entry runs in
 * round k, and rounds run one after another, so a chunk always finds the previous one's KV. Within a round, entries
 * are taken in slot order and a run grows while the next entry is the next slot, in the same segment, with the same
 * chunk length, and the run stays within {@link Limits#maxRows} rows and {@link Limits#maxTokens} tokens.
 */
public final class RunPlanner {

    /**
     * What one call may hold, e.g. a TensorRT engine's optimization-profile maxima.
     *
     * @param maxRows   B of one call
     * @param maxTokens B * S of one call (so also the longest chunk)
     */
    public record Limits(int maxRows, int maxTokens) {
        public Limits {
            if (maxRows <= 0 || maxTokens <= 0) throw new IllegalArgumentException("limits must be positive: rows " + maxRows + ", tokens " + maxTokens);
        }
    }

    private final FixedKvLayout layout;
    private final Limits limits;

    public RunPlanner(FixedKvLayout layout, Limits limits) {
        this.layout = layout;
        this.limits = limits;
    }

    public Limits limits() {
        return limits;
    }

    /** The runs of {@code batch}, in execution order. Entries are assumed valid (slot in range, positions within capacity). */
    public List<Run> plan(Batch batch) {
        List<Batch.Entry> entries = batch.entries();
        int rounds = 0;
        for (Batch.Entry e : entries) rounds = Math.max(rounds, chunks(e.tokenIds().length));
        List<Integer> bySlot = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) bySlot.add(i);
        bySlot.sort(Comparator.comparingInt(i -> entries.get(i).slot()));
        List<Run> runs = new ArrayList<>();
        for (int k = 0; k < rounds; k++) {
            List<Integer> group = new ArrayList<>();
            int groupLen = 0;
            for (int i : bySlot) {
                Batch.Entry e = entries.get(i);
                int len = chunkLength(e, k);
                if (len == 0) continue;
                if (!group.isEmpty()) {
                    Batch.Entry prev = entries.get(group.get(group.size() - 1));
                    boolean joins = e.slot() == prev.slot() + 1 && layout.segmentOf(e.slot()) == layout.segmentOf(prev.slot())
                            && len == groupLen && group.size() < limits.maxRows() && (long) (group.size() + 1) * len <= limits.maxTokens();
                    if (!joins) {
                        runs.add(run(entries, group, k, groupLen));
                        group = new ArrayList<>();
                    }
                }
                group.add(i);
                groupLen = len;
            }
            if (!group.isEmpty()) runs.add(run(entries, group, k, groupLen));
        }
        return runs;
    }

    private int chunks(int tokens) {
        return (tokens + limits.maxTokens() - 1) / limits.maxTokens();
    }

    /** Tokens of entry e's chunk k (0 when it has fewer chunks). */
    private int chunkLength(Batch.Entry e, int k) {
        int n = e.tokenIds().length, from = k * limits.maxTokens();
        return from >= n ? 0 : Math.min(limits.maxTokens(), n - from);
    }

    private Run run(List<Batch.Entry> entries, List<Integer> group, int k, int s) {
        int b = group.size();
        long[] ids = new long[b * s], pos = new long[b * s];
        int[] entryIndex = new int[b];
        boolean[] last = new boolean[b];
        for (int r = 0; r < b; r++) {
            Batch.Entry e = entries.get(group.get(r));
            int from = k * limits.maxTokens();
            for (int j = 0; j < s; j++) {
                ids[r * s + j] = e.tokenIds()[from + j];
                pos[r * s + j] = e.startPosition() + from + j;
            }
            entryIndex[r] = group.get(r);
            last[r] = from + s == e.tokenIds().length;
        }
        return new Run(entries.get(group.get(0)).slot(), b, s, ids, pos, entryIndex, last);
    }
}
