package dev.principia.grm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.principia.budget.ResolvedBudget;

class SamplePlanTest {
    private static final PromptTemplate TEMPLATE = PromptTemplate.loadDefault();

    private static ScoringRequest request(int n) {
        return new ScoringRequest("p", List.of(new Turn("user", "Which is right?")), ScriptedJudge.responses(n), List.of(), null, false, 0,
                0, Long.MAX_VALUE, ScoringRequest.Mode.GENERATIVE);
    }

    private static ResolvedBudget budget(int k, long seed, int maxNewTokens) {
        return new ResolvedBudget(k, k, 0, k, k > 1 ? 0.5f : 0f, maxNewTokens, seed, false, Long.MAX_VALUE, false, "");
    }

    private static SamplePlan plan(int n, int k, long seed) {
        ScoringRequest r = request(n);
        return SamplePlan.create(r, new Conversation(r.conversation()), budget(k, seed, 64), TEMPLATE, new CharCodec(), 1 << 20, 1 << 20);
    }

    @Test
    void oneSampleShowsTheOriginalOrder() {
        SamplePlan p = plan(3, 1, 9);
        assertArrayEquals(new int[] {0, 1, 2}, p.orders()[0]);
        assertEquals(SampleSeeds.derive(9, 0), p.seeds()[0]);
    }

    @Test
    void eachSampleHasItsSeededPermutationAndThePromptShowsIt() {
        SamplePlan p = plan(4, 8, 77);
        assertEquals(8, p.numSamples());
        for (int s = 0; s < 8; s++) {
            assertEquals(SampleSeeds.derive(77, s), p.seeds()[s]);
            assertArrayEquals(Permutations.shuffle(4, p.seeds()[s]), p.orders()[s]);
            assertArrayEquals(p.orders()[s], ScriptedJudge.shownOrder(CharCodec.text(p.prompts()[s]), 4), "prompt of sample " + s);
        }
        SamplePlan again = plan(4, 8, 77);
        for (int s = 0; s < 8; s++) assertArrayEquals(p.prompts()[s], again.prompts()[s], "the same seed replays the same plan");
    }

    @Test
    void samplesWithTheSameOrderShareOnePrompt() {
        SamplePlan p = plan(1, 4, 3);
        for (int s = 1; s < 4; s++) assertSame(p.prompts()[0], p.prompts()[s]);
    }

    @Test
    void promptsOverTheLimitsNameTheField() {
        ScoringRequest r = request(2);
        Conversation c = new Conversation(r.conversation());
        ScoringException tooLong = assertThrows(ScoringException.class,
                () -> SamplePlan.create(r, c, budget(2, 1, 64), TEMPLATE, new CharCodec(), 100, 1 << 20));
        assertTrue(tooLong.getMessage().startsWith("conversation: the GRM prompt is "), tooLong.getMessage());
        int promptLength = plan(2, 1, 1).prompts()[0].length;
        ScoringException noRoom = assertThrows(ScoringException.class,
                () -> SamplePlan.create(r, c, budget(1, 1, 64), TEMPLATE, new CharCodec(), 1 << 20, promptLength + 63));
        assertTrue(noRoom.getMessage().startsWith("budget.max_new_tokens: "), noRoom.getMessage());
        assertEquals(ScoringException.Kind.INVALID_ARGUMENT, noRoom.kind());
    }
}
