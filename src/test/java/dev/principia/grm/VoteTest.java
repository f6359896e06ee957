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

    @Test
    void weightedSumsEachSampleTimesItsWeightAndMeansOverTheTotalWeight() {
        Vote v = Vote.weighted(createSamples(new int[] {2, 9}, new int[] {8, 3}, new int[] {9, 2}), new double[] {0.25, 1, 0}, 2, 1);
        assertArrayEquals(new double[] {8.5, 5.25}, v.rewards(), 1e-12, "the third sample weighs 0 and is not counted");
        assertArrayEquals(new double[] {8.5 / 1.25, 5.25 / 1.25}, v.meanScores(), 1e-12);
        assertEquals(0, v.bestIndex());
        assertEquals(2, v.numCounted());
        assertThrows(IllegalArgumentException.class, () -> Vote.weighted(createSamples(new int[] {1}), new double[] {0}, 1, 1),
                "nothing weighs more than 0");
        assertThrows(IllegalArgumentException.class, () -> Vote.weighted(createSamples(new int[] {1}), new double[] {1.5}, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Vote.weighted(createSamples(new int[] {1}), new double[] {Double.NaN}, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Vote.weighted(createSamples(new int[] {1}), new double[] {1, 1}, 1, 1));
    }

    @Test
    void weightedEqualsTheSlowReferenceOnRandomSamplesAndWeights() {
        java.util.Random rnd = new java.util.Random(9);
        for (int t = 0; t < 500; t++) {
            int n = 1 + rnd.nextInt(4), k = 1 + rnd.nextInt(8);
            List<int[]> samples = new java.util.ArrayList<>();
            double[] weights = new double[k];
            for (int s = 0; s < k; s++) {
                samples.add(rnd.ints(n, 1, 11).toArray());
                weights[s] = switch (rnd.nextInt(3)) {
                    case 0 -> 0;
                    case 1 -> 1;
                    default -> rnd.nextDouble();
                };
            }
            weights[rnd.nextInt(k)] = 1;
            // reference: one response at a time, summing over the samples that weigh anything
            double[] rewards = new double[n], means = new double[n];
            int counted = 0;
            double total = 0;
            for (int s = 0; s < k; s++) if (weights[s] > 0) {
                counted++;
                total += weights[s];
            }
            for (int i = 0; i < n; i++) {
                for (int s = 0; s < k; s++) if (weights[s] > 0) rewards[i] += weights[s] * samples.get(s)[i];
                means[i] = rewards[i] / total;
            }
            Vote v = Vote.weighted(samples, weights, n, t);
            Vote expected = Vote.ranked(rewards, means, counted, t);
            assertArrayEquals(expected.rewards(), v.rewards(), 1e-9, "trial " + t);
            assertArrayEquals(expected.meanScores(), v.meanScores(), 1e-9, "trial " + t);
            assertEquals(counted, v.numCounted(), "trial " + t);
            if (isAllOnesOrZeros(weights)) assertEquals(expected, v, "unit weights: the plain vote, ties broken alike; trial " + t);
        }
    }

    private static boolean isAllOnesOrZeros(double[] weights) {
        for (double w : weights) if (w != 0 && w != 1) return false;
        return true;
    }
}
