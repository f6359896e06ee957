package dev.principia.grm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PermutationsTest {

    private static int[] createScores(int n) {
        int[] scores = new int[n];
        for (int i = 0; i < n; i++) scores[i] = 1 + (i * 7) % 10;
        return scores;
    }

    /** What the GRM sees: scoresInOriginalOrder shown in the given order. */
    private static int[] createPresented(int[] scoresInOriginalOrder, int[] order) {
        int[] presented = new int[order.length];
        for (int j = 0; j < order.length; j++) presented[j] = scoresInOriginalOrder[order[j]];
        return presented;
    }

    @Test
    void identity() {
        assertArrayEquals(new int[] {0, 1, 2}, Permutations.identity(3));
        assertArrayEquals(new int[0], Permutations.identity(0));
    }

    @Test
    void shuffleIsAPermutationAndReproducible() {
        for (int n = 0; n <= 9; n++) {
            for (long seed = 0; seed < 50; seed++) {
                int[] order = Permutations.shuffle(n, seed);
                assertTrue(Permutations.isPermutation(order));
                assertEquals(n, order.length);
                assertArrayEquals(order, Permutations.shuffle(n, seed));
            }
        }
    }

    @Test
    void shuffleReachesEveryOrderOfThree() {
        Set<List<Integer>> seen = new HashSet<>();
        for (long seed = 0; seed < 200; seed++) {
            int[] o = Permutations.shuffle(3, seed);
            seen.add(List.of(o[0], o[1], o[2]));
        }
        assertEquals(6, seen.size());
    }

    @Test
    void unpermuteRoundTrips() {
        for (int n = 1; n <= 8; n++) {
            int[] original = createScores(n);
            for (long seed = 0; seed < 20; seed++) {
                int[] order = Permutations.shuffle(n, SampleSeeds.derive(seed, n));
                assertArrayEquals(original, Permutations.unpermute(createPresented(original, order), order));
            }
        }
    }

    @Test
    void unpermuteExample() {
        int[] order = {2, 0, 1};
        assertArrayEquals(new int[] {5, 9, 8}, Permutations.unpermute(new int[] {8, 5, 9}, order));
        assertEquals(List.of("c", "a", "b"), Permutations.present(List.of("a", "b", "c"), order));
    }

    @Test
    void rejectsBadOrders() {
        assertThrows(IllegalArgumentException.class, () -> Permutations.unpermute(new int[] {1, 2}, new int[] {0}));
        assertThrows(IllegalArgumentException.class, () -> Permutations.unpermute(new int[] {1, 2}, new int[] {1, 1}));
        assertThrows(IllegalArgumentException.class, () -> Permutations.unpermute(new int[] {1, 2}, new int[] {0, 2}));
        assertThrows(IllegalArgumentException.class, () -> Permutations.shuffle(-1, 0));
        assertFalse(Permutations.isPermutation(null));
    }

    @Test
    void sampleSeedsAreReproducibleAndDistinct() {
        Set<Long> seeds = new HashSet<>();
        for (long request : new long[] {0, 1, 42, -1, Long.MIN_VALUE}) {
            for (int i = 0; i < 64; i++) {
                assertEquals(SampleSeeds.derive(request, i), SampleSeeds.derive(request, i));
                seeds.add(SampleSeeds.derive(request, i));
            }
            seeds.add(SampleSeeds.tieBreak(request));
        }
        assertEquals(5 * 65, seeds.size());
        assertNotEquals(SampleSeeds.derive(1, 0), SampleSeeds.derive(2, 0));
        assertThrows(IllegalArgumentException.class, () -> SampleSeeds.derive(1, -1));
    }

    @Test
    void derivedSeedsGiveVariedPermutations() {
        Set<List<Integer>> seen = new HashSet<>();
        for (int i = 0; i < 64; i++) {
            int[] o = Permutations.shuffle(4, SampleSeeds.derive(7, i));
            seen.add(List.of(o[0], o[1], o[2], o[3]));
        }
        assertTrue(seen.size() >= 15, "only " + seen.size() + " of 24 orders in 64 samples");
    }
}
