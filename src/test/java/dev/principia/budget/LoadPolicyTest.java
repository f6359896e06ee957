package dev.principia.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class LoadPolicyTest {
    private final LoadPolicy policy = new LoadPolicy(500, 64);

    private static int k(int samples) {
        return samples;
    }

    private static LoadSnapshot load(double estimatedWaitMillis, int inFlightSamples) {
        return new LoadSnapshot(estimatedWaitMillis, inFlightSamples);
    }

    @Test
    void noDegradationUnderTarget() {
        Allocation a = policy.allocate(k(8), 2, 0, load(100, 10));
        assertEquals(8, a.samples());
        assertFalse(a.degraded());
    }

    @Test
    void degradesUnderLoadButNeverBelowMinSamples() {
        Allocation a = policy.allocate(k(8), 2, 0, load(2000, 0));
        assertTrue(a.degraded());
        assertEquals(2, a.samples(), "8 * 500/2000 = 2");
        assertTrue(a.reason().contains("2000 ms"), a.reason());
        assertEquals(3, policy.allocate(k(8), 3, 0, load(100_000, 0)).samples(), "floored at min_samples");
    }

    @Test
    void requestsWithoutMinSamplesKeepTheirK() {
        assertEquals(8, policy.allocate(k(8), 0, 0, load(100_000, 0)).samples());
        assertEquals(8, policy.allocate(k(8), 8, 0, load(100_000, 0)).samples());
    }

    @Test
    void inFlightCapDegrades() {
        Allocation a = policy.allocate(k(8), 1, 0, load(0, 60));
        assertTrue(a.degraded());
        assertEquals(4, a.samples(), "room for 4 of 8");
        assertTrue(a.reason().contains("in flight"), a.reason());
    }

    @Test
    void higherPriorityDegradesLast() {
        int low = policy.allocate(k(16), 1, -1, load(2000, 0)).samples();
        int normal = policy.allocate(k(16), 1, 0, load(2000, 0)).samples();
        int high = policy.allocate(k(16), 1, 3, load(2000, 0)).samples();
        assertTrue(low < normal && normal < high, low + " < " + normal + " < " + high);
    }

    @Test
    void extremePrioritiesStayWellDefined() {
        assertTrue(policy.allocate(16, 1, BudgetPolicy.MAX_PRIORITY, load(2000, 0)).samples() <= 16);
        assertTrue(policy.allocate(16, 1, BudgetPolicy.MIN_PRIORITY, load(2000, 0)).samples() >= 1);
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> policy.allocate(16, 1, Integer.MIN_VALUE, load(2000, 0)));
    }

    @Test
    void neverBelowMinSamplesOnRandomLoads() {
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < 10_000; i++) {
            int kk = 1 + r.nextInt(32);
            int min = r.nextInt(kk + 1);
            Allocation a = new LoadPolicy(r.nextInt(2000), r.nextInt(100)).allocate(k(kk), min, r.nextInt(-5, 6),
                    load(r.nextDouble() * 100_000, r.nextInt(200)));
            assertTrue(a.samples() <= kk && a.samples() >= Math.max(1, min == 0 ? kk : min), a + " k=" + kk + " min=" + min);
            assertEquals(a.samples() < kk, a.degraded());
        }
    }
}
