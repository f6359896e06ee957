package dev.principia.backend.fixedkv;

import dev.principia.backend.Batch;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RunPlannerTest {
    static final FixedKvLayout LAYOUT = new FixedKvLayout(2, 2, 4, 64, 16, 2);

    static Batch.Entry entry(int slot, int start, int... tokens) {
        return new Batch.Entry(slot, tokens, start);
    }

    @Test
    void consecutiveSlotsWithEqualLengthsShareOneRun() {
        var planner = new RunPlanner(LAYOUT, new RunPlanner.Limits(8, 64));
        // entries out of slot order: slots 3, 1, 2 decode; slot 5 decodes too but 4 is missing
        List<Run> runs = planner.plan(new Batch(List.of(entry(3, 10, 7), entry(1, 4, 8), entry(2, 9, 9), entry(5, 2, 6))));
        assertEquals(2, runs.size());
        Run first = runs.get(0);
        assertEquals(1, first.firstSlot());
        assertEquals(3, first.rows());
        assertArrayEquals(new long[]{8, 9, 7}, first.inputIds());
        assertArrayEquals(new long[]{4, 9, 10}, first.positionIds());
        assertArrayEquals(new int[]{1, 2, 0}, first.entryIndex());
        assertEquals(9, first.writePosition(1));
        assertEquals(5, runs.get(1).firstSlot());
    }

    @Test
    void differentLengthsSplitRuns() {
        var planner = new RunPlanner(LAYOUT, new RunPlanner.Limits(8, 64));
        List<Run> runs = planner.plan(new Batch(List.of(entry(0, 0, 1, 2, 3), entry(1, 5, 4), entry(2, 0, 5, 6, 7))));
        assertEquals(3, runs.size());
        assertEquals(List.of(3, 1, 3), runs.stream().map(Run::tokensPerRow).toList());
        assertArrayEquals(new long[]{0, 1, 2}, runs.get(0).positionIds());
    }

    @Test
    void longEntriesRunInChunksInOrder() {
        var planner = new RunPlanner(LAYOUT, new RunPlanner.Limits(8, 4));
        int[] prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        List<Run> runs = planner.plan(new Batch(List.of(entry(4, 2, prompt), entry(6, 3, 42))));
        // round 0: slot 4's first 4 tokens, slot 6's one token (different lengths: two runs); then 4 and 2 tokens of slot 4
        assertEquals(4, runs.size());
        assertArrayEquals(new long[]{2, 3, 4, 5}, runs.get(0).positionIds());
        assertTrue(!runs.get(0).lastChunk()[0]);
        assertTrue(runs.get(1).lastChunk()[0]);
        assertArrayEquals(new long[]{5, 6, 7, 8}, runs.get(2).inputIds());
        assertArrayEquals(new long[]{10, 11}, runs.get(3).positionIds());
        assertTrue(runs.get(3).lastChunk()[0]);
    }

    @Test
    void rowAndTokenLimitsAndSegmentsBoundRuns() {
        var segmented = LAYOUT.withMaxSegmentBytes(LAYOUT.slotBytes() * 3);
        assertEquals(3, segmented.slotsPerSegment());
        var planner = new RunPlanner(segmented, new RunPlanner.Limits(2, 64));
        List<Batch.Entry> decode = new ArrayList<>();
        for (int s = 0; s < 7; s++) decode.add(entry(s, 1, s));
        List<Run> runs = planner.plan(new Batch(decode));
        // segments {0,1,2} {3,4,5} {6}, at most 2 rows: [0,1] [2] [3,4] [5] [6]
        assertEquals(List.of(0, 2, 3, 5, 6), runs.stream().map(Run::firstSlot).toList());
        var byTokens = new RunPlanner(LAYOUT, new RunPlanner.Limits(8, 6));
        List<Run> prefill = byTokens.plan(new Batch(List.of(entry(0, 0, 1, 2), entry(1, 0, 3, 4), entry(2, 0, 5, 6), entry(3, 0, 7, 8))));
        assertEquals(List.of(3, 1), prefill.stream().map(Run::rows).toList());
    }

    /** Against a slow reference: feeding every token alone, in order, covers the same (slot, position, token) triples. */
    @Test
    void randomBatchesCoverEveryTokenOnceAtItsPosition() {
        Random rnd = new Random(7);
        for (int trial = 0; trial < 300; trial++) {
            var planner = new RunPlanner(LAYOUT.withMaxSegmentBytes(LAYOUT.slotBytes() * (1 + rnd.nextInt(16))),
                    new RunPlanner.Limits(1 + rnd.nextInt(6), 1 + rnd.nextInt(12)));
            List<Integer> slots = new ArrayList<>();
            for (int s = 0; s < 16; s++) slots.add(s);
            java.util.Collections.shuffle(slots, rnd);
            List<Batch.Entry> entries = new ArrayList<>();
            Map<Integer, int[]> expected = new HashMap<>();
            for (int i = 0; i < 1 + rnd.nextInt(10); i++) {
                int[] tokens = rnd.ints(1 + rnd.nextInt(rnd.nextBoolean() ? 2 : 20), 0, 1000).toArray();
                int start = rnd.nextInt(20);
                entries.add(entry(slots.get(i), start, tokens));
                expected.put(slots.get(i), tokens);
            }
            Map<Integer, List<Integer>> fed = new HashMap<>();
            Map<Integer, Integer> next = new HashMap<>();
            for (Run run : planner.plan(new Batch(entries))) {
                assertTrue(run.rows() <= planner.limits().maxRows() && run.numTokens() <= planner.limits().maxTokens());
                for (int r = 0; r < run.rows(); r++) {
                    int slot = run.firstSlot() + r;
                    Batch.Entry e = entries.get(run.entryIndex()[r]);
                    assertEquals(e.slot(), slot);
                    int expectedPos = next.getOrDefault(slot, e.startPosition());
                    for (int j = 0; j < run.tokensPerRow(); j++) {
                        assertEquals(expectedPos + j, run.positionIds()[r * run.tokensPerRow() + j], "positions continue in order");
                        fed.computeIfAbsent(slot, k -> new ArrayList<>()).add((int) run.inputIds()[r * run.tokensPerRow() + j]);
                    }
                    next.put(slot, expectedPos + run.tokensPerRow());
                    assertEquals(next.get(slot) == e.startPosition() + e.tokenIds().length, run.lastChunk()[r]);
                }
            }
            for (var ex : expected.entrySet()) {
                assertArrayEquals(ex.getValue(), fed.get(ex.getKey()).stream().mapToInt(Integer::intValue).toArray(), Arrays.toString(ex.getValue()));
            }
        }
    }
}
