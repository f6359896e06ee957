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

    @Test
    void keepAtLeastKeepsEveryScoreAtOrAboveTheThresholdHoweverMany() {
        float[] scores = {0.1f, 2.0f, -1f, Float.NaN, 1.5f, 0.3f};
        assertArrayEquals(new boolean[] {true, true, false, false, true, true}, MetaFilter.keepAtLeast(scores, 0.1f), "equal is kept");
        assertArrayEquals(new boolean[] {false, true, false, false, false, false}, MetaFilter.keepAtLeast(scores, 2.0f));
        assertArrayEquals(new boolean[] {true, true, true, false, true, true}, MetaFilter.keepAtLeast(scores, 5f),
                "none trusted: every valid sample is voted, never an invalid one");
        assertArrayEquals(new boolean[] {false, false}, MetaFilter.keepAtLeast(new float[] {Float.NaN, Float.NaN}, 0f));
    }

    @Test
    void keepAtLeastEqualsTheSlowReferenceOnRandomScores() {
        java.util.Random rnd = new java.util.Random(3);
        for (int t = 0; t < 2000; t++) {
            float[] scores = new float[1 + rnd.nextInt(12)];
            for (int i = 0; i < scores.length; i++) scores[i] = rnd.nextInt(5) == 0 ? Float.NaN : (float) rnd.nextGaussian() * 3;
            float min = (float) rnd.nextGaussian() * 3;
            boolean[] kept = MetaFilter.keepAtLeast(scores, min);
            // reference: sort the valid scores; the threshold cuts them, or keeps all when it cuts every one
            List<Float> valid = new ArrayList<>();
            for (float f : scores) if (!Float.isNaN(f)) valid.add(f);
            valid.sort(null);
            boolean anyAbove = !valid.isEmpty() && valid.get(valid.size() - 1) >= min;
            for (int i = 0; i < scores.length; i++) {
                boolean expected = !Float.isNaN(scores[i]) && (!anyAbove || scores[i] >= min);
                assertEquals(expected, kept[i], "trial " + t + " sample " + i);
            }
        }
    }

    @Test
    void keepAtLeastRefusesANonFiniteThreshold() {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> MetaFilter.keepAtLeast(new float[] {1f}, Float.NaN));
    }

    @Test
    void weighGivesTheMostTrustedOneAndTheRestExpOfTheirDistanceBelowIt() {
        float[] scores = {30f, -32f, Float.NaN, 24f, 30f, 28f};
        double[] w = MetaFilter.weigh(scores, 2f);
        assertEquals(1.0, w[0], 0.0, "the highest weighs exactly 1");
        assertEquals(1.0, w[4], 0.0, "every sample at the highest does");
        assertEquals(0.0, w[2], 0.0, "an invalid sample weighs nothing");
        assertEquals(Math.exp(-31), w[1], 1e-25, "flagged, 62 logits below: all but dropped");
        assertEquals(Math.exp(-3), w[3], 1e-15);
        assertEquals(Math.exp(-1), w[5], 1e-15);
        double[] softer = MetaFilter.weigh(scores, 20f);
        assertEquals(Math.exp(-0.3), softer[3], 1e-15, "a higher temperature spreads the vote");
        assertArrayEquals(new double[] {1, 1}, MetaFilter.weigh(new float[] {-31f, -31f}, 2f), 0.0,
                "all flagged alike: plain voting among them");
        assertArrayEquals(new double[] {0, 0}, MetaFilter.weigh(new float[] {Float.NaN, Float.NaN}, 2f), 0.0);
    }

    @Test
    void weighEqualsTheSlowReferenceSoftmaxOnRandomScores() {
        java.util.Random rnd = new java.util.Random(5);
        for (int t = 0; t < 2000; t++) {
            float[] scores = new float[1 + rnd.nextInt(12)];
            for (int i = 0; i < scores.length; i++) scores[i] = rnd.nextInt(5) == 0 ? Float.NaN : (float) rnd.nextGaussian() * 20;
            float temperature = (float) (1 + rnd.nextDouble() * 10);
            double[] w = MetaFilter.weigh(scores, temperature);
            // reference: the softmax over the valid samples' scores, divided by its largest entry; shifted by their
            // mean, not their maximum, so that it does not compute what weigh does (only ratios matter)
            double z = 0, top = 0, mean = 0;
            int numValid = 0;
            for (float f : scores) if (!Float.isNaN(f)) {
                mean += f;
                numValid++;
            }
            mean /= Math.max(1, numValid);
            double[] soft = new double[scores.length];
            for (int i = 0; i < scores.length; i++) {
                if (Float.isNaN(scores[i])) continue;
                soft[i] = Math.exp((scores[i] - mean) / temperature);
                z += soft[i];
            }
            for (int i = 0; i < scores.length; i++) if (z > 0) top = Math.max(top, soft[i] / z);
            for (int i = 0; i < scores.length; i++) {
                double expected = Float.isNaN(scores[i]) || z == 0 ? 0 : soft[i] / z / top;
                assertEquals(expected, w[i], 1e-9 * Math.max(1, expected), "trial " + t + " sample " + i);
            }
        }
    }

    @Test
    void weighRefusesATemperatureThatIsNotFiniteAndPositive() {
        for (float t : new float[] {0f, -1f, Float.NaN, Float.POSITIVE_INFINITY}) {
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> MetaFilter.weigh(new float[] {1f}, t), "t = " + t);
        }
    }
}
