package dev.principia.grm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class VoteTest {

    private static List<int[]> createSamples(int[]... samples) {
        return List.of(samples);
    }

    @Test
    void sumsMeansAndRanks() {
        Vote v = Vote.tally(createSamples(new int[] {7, 3, 5}, new int[] {9, 4, 5}), 3, 1);
        assertArrayEquals(new double[] {16, 7, 10}, v.rewards());
        assertArrayEquals(new double[] {8, 3.5, 5}, v.meanScores());
        assertArrayEquals(new int[] {1, 3, 2}, v.ranks());
        assertEquals(0, v.bestIndex());
        assertEquals(2, v.numCounted());
        assertEquals(3, v.numResponses());
    }

    @Test
    void singleResponse() {
        Vote v = Vote.tally(createSamples(new int[] {6}, new int[] {8}), 1, 0);
        assertArrayEquals(new double[] {14}, v.rewards());
        assertArrayEquals(new int[] {1}, v.ranks());
        assertEquals(0, v.bestIndex());
    }

    @Test
    void tieBreakIsReproducibleFromTheSeed() {
        List<int[]> tied = createSamples(new int[] {5, 9, 9, 9, 2});
        for (long seed = 0; seed < 30; seed++) {
            assertEquals(Vote.tally(tied, 5, seed), Vote.tally(tied, 5, seed));
        }
    }

    @Test
    void tieBreakVariesAcrossSeedsAndOnlyAmongTheTied() {
        List<int[]> tied = createSamples(new int[] {5, 9, 9, 9, 2});
        Set<Integer> bests = new HashSet<>();
        for (long seed = 0; seed < 60; seed++) {
            Vote v = Vote.tally(tied, 5, seed);
            bests.add(v.bestIndex());
            assertEquals(4, v.ranks()[0]);
            assertEquals(5, v.ranks()[4]);
            assertTrue(v.ranks()[v.bestIndex()] == 1);
        }
        assertEquals(Set.of(1, 2, 3), bests);
    }

    @Test
    void ranksAreAPermutationEvenWhenAllTie() {
        Vote v = Vote.tally(createSamples(new int[] {4, 4, 4, 4}), 4, 99);
        int[] sorted = v.ranks().clone();
        java.util.Arrays.sort(sorted);
        assertArrayEquals(new int[] {1, 2, 3, 4}, sorted);
    }

    @Test
    void zeroCountedSamplesIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Vote.tally(List.of(), 2, 0));
        assertEquals("no valid samples to vote over", e.getMessage());
    }

    @Test
    void rejectsWrongLengths() {
        assertThrows(IllegalArgumentException.class, () -> Vote.tally(createSamples(new int[] {1, 2, 3}), 2, 0));
        assertThrows(IllegalArgumentException.class, () -> Vote.tally(createSamples(new int[] {1}), 0, 0));
        assertThrows(IllegalArgumentException.class,
                () -> new Vote(new double[] {1, 2}, new double[] {1, 2}, new int[] {1, 1}, 0, 1));
        assertThrows(IllegalArgumentException.class,
                () -> new Vote(new double[] {1, 2}, new double[] {1, 2}, new int[] {2, 1}, 0, 1));
    }

    @Test
    void isCorrectNeedsTheTrueBestStrictlyHighest() {
        assertTrue(Vote.isCorrect(new int[] {3, 8, 5}, 1));
        assertFalse(Vote.isCorrect(new int[] {8, 8, 5}, 1));
        assertFalse(Vote.isCorrect(new int[] {9, 8, 5}, 1));
        assertTrue(Vote.isCorrect(new int[] {4}, 0));
        assertThrows(IllegalArgumentException.class, () -> Vote.isCorrect(new int[] {4}, 1));
    }
}
