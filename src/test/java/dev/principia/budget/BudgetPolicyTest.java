package dev.principia.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BudgetPolicyTest {
    private final BudgetPolicy policy = new BudgetPolicy(1, 32, 256, 2048, 0.5f);

    private static RequestedBudget budget(int samples, Float temperature, Integer maxNew, long seed) {
        return new RequestedBudget(samples, 0, 0, temperature, maxNew, seed, false, 0);
    }

    @Test
    void defaultsFollowThePaper() {
        SampleBudget one = policy.resolve(budget(0, null, null, 7), 20);
        assertEquals(1, one.samples());
        assertEquals(0f, one.temperature(), "k = 1 is greedy");
        assertEquals(256, one.maxNewTokens());
        assertEquals(7, one.seed());
        SampleBudget eight = policy.resolve(budget(8, null, null, 7), 20);
        assertEquals(0.5f, eight.temperature(), "k > 1 samples at 0.5");
        assertEquals(0.2f, policy.resolve(budget(8, 0.2f, null, 7), 20).temperature());
    }

    @Test
    void zeroSeedDrawsANonZeroOne() {
        assertNotEquals(0, policy.resolve(budget(1, null, null, 0), 20).seed());
    }

    @Test
    void defaultMaxNewTokensGrowsToFitTheScoreBlock() {
        assertEquals(300, policy.resolve(budget(1, null, null, 1), 300).maxNewTokens());
    }

    @Test
    void outOfBoundsFieldsAreNamed() {
        assertField("budget.samples", () -> policy.resolve(budget(33, null, null, 1), 20));
        assertField("budget.samples", () -> policy.resolve(budget(-1, null, null, 1), 20));
        assertField("budget.temperature", () -> policy.resolve(budget(2, -0.1f, null, 1), 20));
        assertField("budget.temperature", () -> policy.resolve(budget(2, Float.NaN, null, 1), 20));
        assertField("budget.max_new_tokens", () -> policy.resolve(budget(2, null, 0, 1), 20));
        assertField("budget.max_new_tokens", () -> policy.resolve(budget(2, null, 4096, 1), 20));
        assertField("budget.max_new_tokens", () -> policy.resolve(budget(2, null, 10, 1), 20));
        assertField("budget.min_samples", () -> policy.resolve(new RequestedBudget(2, 3, 0, null, null, 1, false, 0), 20));
        assertField("budget.meta_keep", () -> policy.resolve(new RequestedBudget(2, 0, 3, null, null, 1, false, 0), 20));
        assertField("budget.deadline_ms", () -> policy.resolve(new RequestedBudget(2, 0, 0, null, null, 1, false, -5), 20));
    }

    private static void assertField(String field, Runnable call) {
        InvalidBudgetException e = assertThrows(InvalidBudgetException.class, call::run);
        assertEquals(field, e.field());
        assertTrue(e.getMessage().startsWith(field + ": "), e.getMessage());
    }
}
