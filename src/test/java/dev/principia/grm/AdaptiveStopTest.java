package dev.principia.grm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class AdaptiveStopTest {

    /** Full voting's best response vs the response adaptive voting settles on, over random score streams. */
    @Test
    void adaptiveStopAlwaysEqualsFullVoting() {
        SplittableRandom random = new SplittableRandom(2504_02495L);
        int cases = 20_000;
        int stoppedEarly = 0;
        long saved = 0;
        for (int c = 0; c < cases; c++) {
            int n = 1 + random.nextInt(6);
            int k = 1 + random.nextInt(32);
            int min = 1;
            int max = random.nextInt(4) == 0 ? 3 : 10;
            long seed = random.nextLong();
            double invalidRate = random.nextDouble() * 0.5;
            // skewed streams make early stops happen: one response tends to score high
            int favourite = random.nextInt(n);
            List<int[]> samples = new ArrayList<>();
            for (int s = 0; s < k; s++) {
                if (random.nextDouble() < invalidRate) {
                    samples.add(null);
                    continue;
                }
                int[] scores = new int[n];
                for (int i = 0; i < n; i++) {
                    int lo = i == favourite ? Math.max(min, max - 2) : min;
                    scores[i] = lo + random.nextInt(max - lo + 1);
                }
                samples.add(scores);
            }
            List<int[]> valid = samples.stream().filter(s -> s != null).toList();
            if (valid.isEmpty()) continue;
            int full = Vote.tally(valid, n, seed).bestIndex();

            AdaptiveStop stop = new AdaptiveStop(n, min, max, seed);
            double[] sums = new double[n];
            int numValid = 0;
            int done = 0;
            int wave = 1 + random.nextInt(4);
            List<int[]> seen = new ArrayList<>();
            while (done < k) {
                for (int w = 0; w < wave && done < k; w++, done++) {
                    int[] s = samples.get(done);
                    if (s == null) continue;
                    numValid++;
                    seen.add(s);
                    for (int i = 0; i < n; i++) sums[i] += s[i];
                }
                if (stop.isDecided(sums, numValid, k - done)) break;
            }
            if (numValid == 0) continue; // all seen invalid and the rest too: nothing to compare
            int adaptive = stop.leader(sums);
            assertEquals(full, adaptive, "case " + c + ": n=" + n + " k=" + k + " stopped after " + done);
            assertEquals(Vote.tally(seen, n, seed).bestIndex(), adaptive, "leader() agrees with Vote's ordering");
            if (done < k) {
                stoppedEarly++;
                saved += k - done;
            }
        }
        assertTrue(stoppedEarly > cases / 10, "the property was exercised by early stops: " + stoppedEarly + ", saved " + saved);
    }

    @Test
    void clearWinnerStopsTieDoesNot() {
        AdaptiveStop stop = new AdaptiveStop(2, 1, 10, 7);
        assertTrue(stop.isDecided(new double[] {60, 6}, 6, 2), "54 ahead, 2 samples can move at most 18");
        assertFalse(stop.isDecided(new double[] {20, 6}, 2, 2), "14 ahead, 2 samples can move 18");
        assertFalse(stop.isDecided(new double[] {0, 0}, 0, 0), "no valid sample, nothing decided");
        assertTrue(stop.isDecided(new double[] {5}, 1, 30), "one response is always decided");
    }
}
