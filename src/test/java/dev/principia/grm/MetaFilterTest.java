package dev.principia.grm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class MetaFilterTest {

    @Test
    void keepsTheTopKMetaScores() {
        boolean[] kept = MetaFilter.keepTop(new float[] {0.1f, 2.0f, -1f, 1.5f, 0.3f}, 2, 9);
        assertArrayEquals(new boolean[] {false, true, false, true, false}, kept);
    }

    @Test
    void invalidSamplesAreNeverKept() {
        boolean[] kept = MetaFilter.keepTop(new float[] {Float.NaN, 0.5f, Float.NaN}, 2, 1);
        assertArrayEquals(new boolean[] {false, true, false}, kept);
    }

    @Test
    void tiesInMetaScoreAreBrokenBySeed() {
        float[] scores = {1f, 1f, 1f, 1f, 1f, 1f};
        boolean[] a = MetaFilter.keepTop(scores, 3, 42);
        assertArrayEquals(a, MetaFilter.keepTop(scores, 3, 42), "same seed, same choice");
        int count = 0;
        for (boolean b : a) count += b ? 1 : 0;
        assertEquals(3, count);
        List<String> choices = new ArrayList<>();
        for (long seed = 0; seed < 20; seed++) choices.add(java.util.Arrays.toString(MetaFilter.keepTop(scores, 3, seed)));
        assertTrue(choices.stream().distinct().count() > 1, "different seeds pick different tied samples");
    }

    @Test
    void votingOverKeptSamplesOnly() {
        List<int[]> samples = List.of(new int[] {9, 1}, new int[] {1, 9}, new int[] {2, 8});
        boolean[] kept = MetaFilter.keepTop(new float[] {3f, -2f, -1f}, 1, 5);
        List<int[]> counted = new ArrayList<>();
        for (int i = 0; i < samples.size(); i++) if (kept[i]) counted.add(samples.get(i));
        Vote vote = Vote.tally(counted, 2, 5);
        assertEquals(0, vote.bestIndex(), "only the trusted sample counts, though the others outvote it");
        assertEquals(1, vote.numCounted());
        assertFalse(kept[1]);
    }
}
