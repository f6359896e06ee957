package dev.principia.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BudgetPolicyTest {
    private final BudgetPolicy policy = new BudgetPolicy(1, 32, 256, 2048, 0.5f, new LoadPolicy(0, 0), false);

    private static RequestedBudget budget(int samples, Float temperature, Integer maxNew, long seed) {
        return new RequestedBudget(samples, 0, 0, temperature, maxNew, seed, false, 0);
    }

    @Test
    void defaultsFollowThePaper() {
        ResolvedBudget one = resolve(policy, budget(0, null, null, 7), 20);
        assertEquals(1, one.samples());
        assertEquals(0f, one.temperature(), "k = 1 is greedy");
        assertEquals(256, one.maxNewTokens());
        assertEquals(7, one.seed());
        ResolvedBudget eight = resolve(policy, budget(8, null, null, 7), 20);
        assertEquals(0.5f, eight.temperature(), "k > 1 samples at 0.5");
        assertEquals(0.2f, resolve(policy, budget(8, 0.2f, null, 7), 20).temperature());
    }

    @Test
    void temperatureFollowsTheAllocatedK() {
        BudgetPolicy loaded = new BudgetPolicy(1, 32, 256, 2048, 0.5f, new LoadPolicy(100, 0), false);
        RequestedBudget asked = new RequestedBudget(8, 1, 0, null, null, 7, false, 0);
        ResolvedBudget r = loaded.resolve(asked, new BudgetContext(2, 20, 0, 0, Long.MAX_VALUE), new LoadSnapshot(100_000, 0));
        assertEquals(8, r.samplesAsked());
        assertEquals(1, r.samples(), "lowered to min_samples under heavy load");
        assertTrue(r.degraded());
        assertEquals(0f, r.temperature(), "a request lowered to k = 1 is greedy");
        ResolvedBudget explicit = loaded.resolve(new RequestedBudget(8, 1, 0, 0.7f, null, 7, false, 0),
                new BudgetContext(2, 20, 0, 0, Long.MAX_VALUE), new LoadSnapshot(100_000, 0));
        assertEquals(0.7f, explicit.temperature(), "an explicit temperature is kept");
    }

    @Test
    void deadlineCountsFromArrivalAndTheTighterOneWins() {
        RequestedBudget withMs = new RequestedBudget(1, 0, 0, null, null, 7, false, 250);
        assertEquals(1_000L + 250_000_000L, policy.resolve(withMs, new BudgetContext(2, 20, 0, 1_000L, Long.MAX_VALUE),
                LoadSnapshot.IDLE).deadlineNanos());
        assertEquals(5_000L, policy.resolve(withMs, new BudgetContext(2, 20, 0, 1_000L, 5_000L), LoadSnapshot.IDLE).deadlineNanos());
        ResolvedBudget none = resolve(policy, budget(1, null, null, 7), 20);
        assertEquals(Long.MAX_VALUE, none.deadlineNanos());
        assertFalse(none.hasDeadline());
    }

    @Test
    void metaKeepDefaultsToHalfAndAdaptiveOnlyWithoutFiltering() {
        BudgetPolicy meta = new BudgetPolicy(1, 32, 256, 2048, 0.5f, new LoadPolicy(0, 0), true);
        BudgetContext two = new BudgetContext(2, 20, 0, 0, Long.MAX_VALUE);
        ResolvedBudget half = meta.resolve(new RequestedBudget(5, 0, 0, null, null, 7, true, 0), two, LoadSnapshot.IDLE);
        assertEquals(3, half.metaKeep(), "ceil(5/2)");
        assertTrue(half.metaFiltering());
        assertFalse(half.adaptive(), "meta filtering wins over adaptive");
        ResolvedBudget all = meta.resolve(new RequestedBudget(4, 0, 4, null, null, 7, true, 0), two, LoadSnapshot.IDLE);
        assertFalse(all.metaFiltering());
        assertTrue(all.adaptive(), "meta_keep = k turns filtering off and lets adaptive apply");
        ResolvedBudget oneResponse = meta.resolve(new RequestedBudget(4, 0, 4, null, null, 7, true, 0),
                new BudgetContext(1, 20, 0, 0, Long.MAX_VALUE), LoadSnapshot.IDLE);
        assertFalse(oneResponse.adaptive(), "nothing to decide with one response");
        assertEquals(4, resolve(policy, new RequestedBudget(4, 0, 0, null, null, 7, false, 0), 20).metaKeep(), "no meta-RM: all kept");
        assertEquals(2, BudgetPolicy.defaultMetaKeep(4));
        assertEquals(3, BudgetPolicy.defaultMetaKeep(5));
        assertEquals(1, BudgetPolicy.defaultMetaKeep(1));
    }

    @Test
    void metaMinScoreFiltersByScoreKeepsEveryPlaceAndTurnsAdaptiveOff() {
        BudgetPolicy meta = new BudgetPolicy(1, 32, 256, 2048, 0.5f, new LoadPolicy(0, 0), true);
        BudgetContext two = new BudgetContext(2, 20, 0, 0, Long.MAX_VALUE);
        ResolvedBudget byScore = meta.resolve(new RequestedBudget(8, 0, 0, null, null, 7, true, 0, -1.5f), two, LoadSnapshot.IDLE);
        assertEquals(-1.5f, byScore.metaMinScore());
        assertEquals(8, byScore.metaKeep(), "no count applies");
        assertTrue(byScore.metaFiltering());
        assertFalse(byScore.adaptive(), "meta filtering wins over adaptive");
        assertEquals(null, meta.resolve(new RequestedBudget(8, 0, 0, null, null, 7, false, 0), two, LoadSnapshot.IDLE).metaMinScore());
        assertField("budget.meta_min_score", () -> meta.resolve(new RequestedBudget(8, 0, 4, null, null, 7, false, 0, 0f), two, LoadSnapshot.IDLE));
        assertField("budget.meta_min_score", () -> meta.resolve(new RequestedBudget(8, 0, 0, null, null, 7, false, 0, Float.NaN), two, LoadSnapshot.IDLE));
        assertField("budget.meta_min_score", () -> meta.resolve(new RequestedBudget(8, 0, 0, null, null, 7, false, 0, Float.NEGATIVE_INFINITY), two,
                LoadSnapshot.IDLE));
        assertField("budget.meta_min_score", () -> resolve(policy, new RequestedBudget(8, 0, 0, null, null, 7, false, 0, 0f), 20));
        assertThrows(IllegalArgumentException.class, () -> new ResolvedBudget(8, 8, 0, 4, 0.5f, 20, 7, false, Long.MAX_VALUE, false, "", 0f),
                "a score threshold and a count at once");
    }

    @Test
    void metaTemperatureWeightsEverySampleKeepsEveryPlaceAndTurnsAdaptiveOff() {
        BudgetPolicy meta = new BudgetPolicy(1, 32, 256, 2048, 0.5f, new LoadPolicy(0, 0), true);
        BudgetContext two = new BudgetContext(2, 20, 0, 0, Long.MAX_VALUE);
        ResolvedBudget weighted = meta.resolve(new RequestedBudget(8, 0, 0, null, null, 7, true, 0, null, 2f), two, LoadSnapshot.IDLE);
        assertEquals(2f, weighted.metaTemperature());
        assertEquals(null, weighted.metaMinScore());
        assertEquals(8, weighted.metaKeep(), "no count applies");
        assertTrue(weighted.metaFiltering());
        assertFalse(weighted.adaptive(), "meta weighting wins over adaptive");
        assertEquals(null, meta.resolve(new RequestedBudget(8, 0, 0, null, null, 7, false, 0), two, LoadSnapshot.IDLE).metaTemperature());
        for (float bad : new float[] {0f, -2f, Float.NaN, Float.POSITIVE_INFINITY}) {
            assertField("budget.meta_temperature", () -> meta.resolve(new RequestedBudget(8, 0, 0, null, null, 7, false, 0, null, bad), two,
                    LoadSnapshot.IDLE));
        }
        assertField("budget.meta_temperature", () -> meta.resolve(new RequestedBudget(8, 0, 4, null, null, 7, false, 0, null, 2f), two,
                LoadSnapshot.IDLE));
        assertField("budget.meta_temperature", () -> meta.resolve(new RequestedBudget(8, 0, 0, null, null, 7, false, 0, 0f, 2f), two,
                LoadSnapshot.IDLE));
        assertField("budget.meta_temperature", () -> resolve(policy, new RequestedBudget(8, 0, 0, null, null, 7, false, 0, null, 2f), 20));
        assertThrows(IllegalArgumentException.class, () -> new ResolvedBudget(8, 8, 0, 4, 0.5f, 20, 7, false, Long.MAX_VALUE, false, "", null, 2f),
                "a temperature and a count at once");
        assertThrows(IllegalArgumentException.class, () -> new ResolvedBudget(8, 8, 0, 8, 0.5f, 20, 7, false, Long.MAX_VALUE, false, "", 0f, 2f),
                "a temperature and a threshold at once");
        assertThrows(IllegalArgumentException.class, () -> new ResolvedBudget(8, 8, 0, 8, 0.5f, 20, 7, true, Long.MAX_VALUE, false, "", null, 2f),
                "adaptive voting with weighting");
    }

    @Test
    void theMetaRmsDefaultTemperatureWeightsOnlyARequestThatSetsNoMetaRule() {
        BudgetPolicy meta = new BudgetPolicy(1, 32, 256, 2048, 0.5f, new LoadPolicy(0, 0), true, 2f);
        BudgetContext two = new BudgetContext(2, 20, 0, 0, Long.MAX_VALUE);
        ResolvedBudget unset = meta.resolve(new RequestedBudget(8, 0, 0, null, null, 7, true, 0), two, LoadSnapshot.IDLE);
        assertEquals(2f, unset.metaTemperature(), "no rule set: the server's default");
        assertEquals(8, unset.metaKeep());
        assertFalse(unset.adaptive(), "weighting wins over adaptive, as the top half did");
        ResolvedBudget byCount = meta.resolve(new RequestedBudget(8, 0, 3, null, null, 7, false, 0), two, LoadSnapshot.IDLE);
        assertEquals(null, byCount.metaTemperature(), "a count asked for is a count");
        assertEquals(3, byCount.metaKeep());
        ResolvedBudget all = meta.resolve(new RequestedBudget(8, 0, 8, null, null, 7, true, 0), two, LoadSnapshot.IDLE);
        assertEquals(null, all.metaTemperature(), "meta_keep = k is plain voting");
        assertTrue(all.adaptive());
        ResolvedBudget byScore = meta.resolve(new RequestedBudget(8, 0, 0, null, null, 7, false, 0, 0f), two, LoadSnapshot.IDLE);
        assertEquals(null, byScore.metaTemperature());
        assertEquals(0f, byScore.metaMinScore());
        assertEquals(5f, meta.resolve(new RequestedBudget(8, 0, 0, null, null, 7, false, 0, null, 5f), two, LoadSnapshot.IDLE).metaTemperature());
        ResolvedBudget half = new BudgetPolicy(1, 32, 256, 2048, 0.5f, new LoadPolicy(0, 0), true)
                .resolve(new RequestedBudget(8, 0, 0, null, null, 7, false, 0), two, LoadSnapshot.IDLE);
        assertEquals(null, half.metaTemperature(), "no default temperature: the top half");
        assertEquals(4, half.metaKeep());
        assertThrows(IllegalArgumentException.class, () -> new BudgetPolicy(1, 32, 256, 2048, 0.5f, new LoadPolicy(0, 0), false, 2f),
                "a default temperature without a meta-RM");
        assertThrows(IllegalArgumentException.class, () -> new BudgetPolicy(1, 32, 256, 2048, 0.5f, new LoadPolicy(0, 0), true, -1f));
        assertThrows(IllegalArgumentException.class, () -> new BudgetPolicy(1, 32, 256, 2048, 0.5f, new LoadPolicy(0, 0), true, Float.NaN));
    }

    @Test
    void zeroSeedDrawsANonZeroOne() {
        assertNotEquals(0, resolve(policy, budget(1, null, null, 0), 20).seed());
    }

    @Test
    void defaultMaxNewTokensGrowsToFitTheScoreBlock() {
        assertEquals(300, resolve(policy, budget(1, null, null, 1), 300).maxNewTokens());
    }

    @Test
    void outOfBoundsFieldsAreNamed() {
        assertField("budget.samples", () -> resolve(policy, budget(33, null, null, 1), 20));
        assertField("budget.samples", () -> resolve(policy, budget(-1, null, null, 1), 20));
        assertField("budget.temperature", () -> resolve(policy, budget(2, -0.1f, null, 1), 20));
        assertField("budget.temperature", () -> resolve(policy, budget(2, Float.NaN, null, 1), 20));
        assertField("budget.max_new_tokens", () -> resolve(policy, budget(2, null, 0, 1), 20));
        assertField("budget.max_new_tokens", () -> resolve(policy, budget(2, null, 4096, 1), 20));
        assertField("budget.max_new_tokens", () -> resolve(policy, budget(2, null, 10, 1), 20));
        assertField("budget.min_samples", () -> resolve(policy, new RequestedBudget(2, 3, 0, null, null, 1, false, 0), 20));
        assertField("budget.meta_keep", () -> resolve(policy, new RequestedBudget(2, 0, 3, null, null, 1, false, 0), 20));
        assertField("budget.meta_keep", () -> resolve(policy, new RequestedBudget(2, 0, 1, null, null, 1, false, 0), 20));
        assertField("budget.deadline_ms", () -> resolve(policy, new RequestedBudget(2, 0, 0, null, null, 1, false, -5), 20));
    }

    private static ResolvedBudget resolve(BudgetPolicy policy, RequestedBudget requested, int minNewTokens) {
        return policy.resolve(requested, new BudgetContext(2, minNewTokens, 0, System.nanoTime(), Long.MAX_VALUE), LoadSnapshot.IDLE);
    }

    private static void assertField(String field, Runnable call) {
        InvalidBudgetException e = assertThrows(InvalidBudgetException.class, call::run);
        assertEquals(field, e.field());
        assertTrue(e.getMessage().startsWith(field + ": "), e.getMessage());
    }
}
