package dev.principia.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** The sampler against a slow float64 reference drawing from the same random stream. */
class SamplerTest {

    /** Softmax at temperature t over every finite logit, then the inverse CDF at u: the textbook draw. */
    static int reference(float[] logits, float t, double u) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) max = Math.max(max, l);
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            p[i] = logits[i] == Float.NEGATIVE_INFINITY ? 0 : Math.exp((logits[i] - max) / t);
            sum += p[i];
        }
        double r = u * sum;
        for (int i = 0; i < logits.length; i++) {
            r -= p[i];
            if (r < 0 && p[i] > 0) return i;
        }
        throw new AssertionError("no token drawn");
    }

    @Test
    void fullDrawEqualsTheReference() {
        SplittableRandom gen = new SplittableRandom(1);
        for (int trial = 0; trial < 300; trial++) {
            float[] logits = new float[1 + gen.nextInt(5000)];
            for (int i = 0; i < logits.length; i++) logits[i] = (float) (gen.nextGaussian() * (1 + trial % 7));
            if (logits.length > 3) logits[gen.nextInt(logits.length)] = Float.NEGATIVE_INFINITY;
            float t = 0.2f + gen.nextFloat() * 1.5f;
            long seed = gen.nextLong();
            float max = logits[Sampler.argmax(logits)];
            int fast = Sampler.sampleFull(logits, max, 1.0 / t, new SplittableRandom(seed));
            int slow = reference(logits, t, new SplittableRandom(seed).nextDouble());
            assertEquals(slow, fast, "trial " + trial);
        }
    }

    /** The rejection sampler against the exact softmax: every token's frequency within 5 binomial sigmas. */
    @Test
    void rejectionSamplerMatchesTheSoftmax() {
        SplittableRandom gen = new SplittableRandom(4);
        for (int trial = 0; trial < 6; trial++) {
            int n = 150 + gen.nextInt(300);
            float[] logits = new float[n];
            double spread = new double[] {0.3, 1, 3, 8, 1, 2}[trial];
            for (int i = 0; i < n; i++) logits[i] = (float) (gen.nextGaussian() * spread);
            for (int i = 0; i < n; i += 7) logits[i] = Float.NEGATIVE_INFINITY;
            float t = trial % 2 == 0 ? 0.5f : 1.0f;
            double[] p = new double[n];
            double max = logits[Sampler.argmax(logits)];
            double z = 0;
            for (int i = 0; i < n; i++) z += p[i] = logits[i] == Float.NEGATIVE_INFINITY ? 0 : Math.exp((logits[i] - max) / t);
            int draws = 300_000;
            int[] counts = new int[n];
            SplittableRandom random = new SplittableRandom(trial);
            SamplingParams params = new SamplingParams(t, 0, 1f, 0, 1, null);
            for (int d = 0; d < draws; d++) counts[Sampler.sample(logits, params, random)]++;
            double tv = 0;
            for (int i = 0; i < n; i++) {
                double pi = p[i] / z;
                double sigma = Math.sqrt(draws * pi * (1 - pi)) + 1;
                assertTrue(Math.abs(counts[i] - draws * pi) <= 5 * sigma, "trial " + trial + " token " + i + ": " + counts[i] + " vs " + draws * pi);
                tv += Math.abs(counts[i] / (double) draws - pi) / 2;
            }
            assertTrue(tv < 0.02, "total variation " + tv);
        }
    }

    @Test
    void samplingReplaysFromTheSeed() {
        float[] logits = new float[151936];
        SplittableRandom gen = new SplittableRandom(8);
        for (int i = 0; i < logits.length; i++) logits[i] = (float) gen.nextGaussian();
        SamplingParams p = new SamplingParams(0.5f, 0, 1f, 0, 1, null);
        SplittableRandom a = new SplittableRandom(77);
        SplittableRandom b = new SplittableRandom(77);
        for (int i = 0; i < 50; i++) assertEquals(Sampler.sample(logits, p, a), Sampler.sample(logits, p, b));
    }

    @Test
    void frequenciesFollowTheSoftmax() {
        float[] logits = {0f, 1f, 2f, Float.NEGATIVE_INFINITY};
        SamplingParams p = new SamplingParams(1f, 0, 1f, 0, 1, null);
        SplittableRandom random = new SplittableRandom(9);
        int[] counts = new int[4];
        int n = 200_000;
        for (int i = 0; i < n; i++) counts[Sampler.sample(logits, p, random)]++;
        double z = 1 + Math.E + Math.E * Math.E;
        assertEquals(0, counts[3], "masked tokens are never drawn");
        assertEquals(1 / z, counts[0] / (double) n, 0.005);
        assertEquals(Math.E / z, counts[1] / (double) n, 0.005);
        assertEquals(Math.E * Math.E / z, counts[2] / (double) n, 0.005);
    }

    @Test
    void topKAndTopPCutTheTail() {
        float[] logits = {5f, 4f, 3f, -10f, 0f};
        SplittableRandom random = new SplittableRandom(2);
        for (int i = 0; i < 2000; i++) {
            int k2 = Sampler.sample(logits, new SamplingParams(1f, 2, 1f, 0, 1, null), random);
            assertTrue(k2 == 0 || k2 == 1, "top-2 keeps tokens 0 and 1, got " + k2);
            int p = Sampler.sample(logits, new SamplingParams(1f, 0, 0.5f, 0, 1, null), random);
            assertEquals(0, p, "token 0 alone holds more than half the mass");
        }
    }

    @Test
    void greedyIsArgmaxAndAllMaskedIsMinusOne() {
        assertEquals(2, Sampler.sample(new float[] {1f, 3f, 7f}, SamplingParams.greedy(1), new SplittableRandom(0)));
        float[] masked = {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY};
        assertEquals(-1, Sampler.sample(masked, new SamplingParams(0.5f, 0, 1f, 0, 1, null), new SplittableRandom(0)));
        assertNotEquals(-1, Sampler.sample(new float[] {0f}, new SamplingParams(0.5f, 0, 1f, 0, 1, null), new SplittableRandom(0)));
    }
}
