package dev.principia.grm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.principia.budget.ResolvedBudget;
import dev.principia.engine.Engine;
import dev.principia.engine.SequenceOutput;
import dev.principia.engine.SequenceStatus;

class TallyTest {
    private static final JudgmentParser PARSER = JudgmentParser.defaults();
    private static final int[][] ORDERS = {{0, 1}, {1, 0}, {0, 1}, {1, 0}};

    private static SamplePlan plan(int k) {
        long[] seeds = new long[k];
        int[][] prompts = new int[k][];
        for (int s = 0; s < k; s++) {
            seeds[s] = 100 + s;
            prompts[s] = new int[10];
        }
        return new SamplePlan(2, seeds, java.util.Arrays.copyOf(ORDERS, k), prompts);
    }

    private static ResolvedBudget budget(int k, int metaKeep, boolean adaptive) {
        return new ResolvedBudget(k, k, 0, metaKeep, 0.5f, 64, 5, adaptive, Long.MAX_VALUE, false, "");
    }

    /** A sample whose text is {@code text} (empty for a failed one), ended with {@code status} and {@code error}. */
    private static Tally.SampleRun run(int index, String text, SequenceStatus status, String error) {
        SequenceOutput out = new SequenceOutput(index, new int[text.length()], status, error, 3);
        return new Tally.SampleRun(out, text, Tally.judge(out, text, PARSER, 2), false, false);
    }

    private static Tally.SampleRun ok(int index, String box) {
        return run(index, "Critique.\nScores: \\boxed{" + box + "}", SequenceStatus.FINISHED_STOPPED, null);
    }

    private static Tally.Waves waves(Tally.SampleRun... runs) {
        return new Tally.Waves(List.of(runs), false, 1_000_000, 2_000_000);
    }

    @Test
    void votesInOriginalOrder() {
        // samples 1 and 3 show response 1 first, so their boxes are in reversed order
        Tally.Waves w = waves(ok(0, "9, 2"), ok(1, "2, 9"), ok(2, "8, 3"), ok(3, "3, 8"));
        List<Integer> valid = Tally.validSamples("t", w);
        ScoringResult r = Tally.result("t", plan(4), budget(4, 4, false), w, valid, null);
        assertArrayEquals(new double[] {34, 10}, r.rewards());
        assertEquals(0, r.bestIndex());
        assertEquals(4 * 7, r.usage().promptTokens(), "forked prompt tokens are not counted");
        assertFalse(r.partial());
        assertEquals(4, r.usage().samplesCounted());
    }

    @Test
    void metaScoresKeepTheTopSamples() {
        Tally.Waves w = waves(ok(0, "9, 2"), ok(1, "9, 2"), run(2, "no box", SequenceStatus.FINISHED_LENGTH, null), ok(3, "3, 8"));
        List<Integer> valid = Tally.validSamples("t", w);
        assertEquals(List.of(0, 1, 3), valid);
        ScoringResult r = Tally.result("t", plan(4), budget(4, 2, false), w, valid, new float[] {0.9f, -3f, 0.5f});
        assertEquals(List.of(true, false, false, true), r.samples().stream().map(ScoringResult.SampleResult::counted).toList());
        assertArrayEquals(new double[] {17, 5}, r.rewards(), "sample 0 (9, 2) and sample 3 (8, 3 in original order)");
        assertEquals(2, r.usage().samplesCounted());
        assertEquals(3, r.usage().samplesValid());
    }

    @Test
    void adaptiveSavingsAndPartialAnswers() {
        Tally.Waves two = new Tally.Waves(List.of(ok(0, "9, 2"), ok(1, "2, 9")), false, 0, 0);
        assertEquals(2, Tally.result("t", plan(4), budget(4, 4, true), two, List.of(0, 1), null).usage().samplesSaved());
        Tally.Waves cut = new Tally.Waves(two.samples(), true, 0, 0);
        ScoringResult r = Tally.result("t", plan(4), budget(4, 4, true), cut, List.of(0, 1), null);
        assertEquals(0, r.usage().samplesSaved(), "waves cut short save nothing");
        assertTrue(r.partial());
        Tally.Waves aborted = waves(ok(0, "9, 2"), run(1, "", SequenceStatus.FINISHED_ABORTED, Engine.ABORTED_DEADLINE));
        assertTrue(Tally.partial(aborted));
    }

    @Test
    void requestsWithoutAValidSampleFailForTheRightReason() {
        assertKind(ScoringException.Kind.INTERNAL, run(0, "", SequenceStatus.FINISHED_ERROR, "backend failed: x"),
                run(1, "", SequenceStatus.FINISHED_ERROR, "backend failed: x"));
        assertKind(ScoringException.Kind.UNAVAILABLE, run(0, "", SequenceStatus.FINISHED_ABORTED, Engine.ABORTED_SHUTDOWN),
                run(1, "", SequenceStatus.FINISHED_ERROR, "backend failed: x"));
        assertKind(ScoringException.Kind.DEADLINE_EXCEEDED, run(0, "", SequenceStatus.FINISHED_ABORTED, Engine.ABORTED_DEADLINE),
                run(1, "words", SequenceStatus.FINISHED_LENGTH, null));
        assertKind(ScoringException.Kind.CANCELLED, run(0, "", SequenceStatus.FINISHED_ABORTED, "cancelled by the caller"));
        assertKind(ScoringException.Kind.INTERNAL, run(0, "", SequenceStatus.FINISHED_ABORTED, "internal engine error: boom"));
        assertKind(ScoringException.Kind.FAILED_PRECONDITION, run(0, "no box", SequenceStatus.FINISHED_LENGTH, null));
    }

    private static void assertKind(ScoringException.Kind kind, Tally.SampleRun... runs) {
        List<Tally.SampleRun> list = new ArrayList<>(List.of(runs));
        ScoringException e = assertThrows(ScoringException.class, () -> Tally.validSamples("t", new Tally.Waves(list, false, 0, 0)));
        assertEquals(kind, e.kind(), e.getMessage());
    }
}
