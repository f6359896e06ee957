package dev.principia.grm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.principia.budget.BudgetPolicy;
import dev.principia.budget.LoadPolicy;
import dev.principia.budget.RequestedBudget;

/** Scoring end to end through a scripted generator: waves, adaptive stop, anytime cut-off, meta filtering, failures. */
class WaveRunnerTest {
    private final ExecutorService executor = Executors.newFixedThreadPool(2);
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    private ScriptedGenerator generator;

    @AfterEach
    void shutdown() {
        executor.shutdownNow();
        timer.shutdownNow();
        if (generator != null) generator.close();
    }

    private GrmScorer scorer(Function<String, String> script, MetaRm meta, LoadPolicy load) {
        generator = new ScriptedGenerator(script);
        ScoringContext ctx = ScoringContext.of(generator, new CharCodec(), PromptTemplate.loadDefault(),
                PromptTemplate.loadResource(PromptTemplate.PRINCIPLES_RESOURCE), CharCodec.tokenTexts(), new int[0],
                new ScoringLimits(16, 32768, 64, 32, 1 << 20), meta, executor, timer);
        return new GrmScorer(ctx, new BudgetPolicy(1, 32, 256, 2048, 0.5f, load, meta != null), null);
    }

    private GrmScorer scorer(Function<String, String> script) {
        return scorer(script, null, new LoadPolicy(0, 0));
    }

    private static ScoringRequest request(int n, RequestedBudget budget, long callDeadlineNanos) {
        return new ScoringRequest("r", List.of(new Turn("user", "Which answer is right?")), ScriptedJudge.responses(n), List.of(),
                budget, true, 0, System.nanoTime(), callDeadlineNanos, ScoringRequest.Mode.GENERATIVE);
    }

    private static RequestedBudget k(int samples, boolean adaptive) {
        return new RequestedBudget(samples, 0, 0, null, 400, 42, adaptive, 0);
    }

    private static ScoringResult await(GrmScorer.Handle h) throws Exception {
        return h.result().get(20, TimeUnit.SECONDS);
    }

    private static ScoringException failure(GrmScorer.Handle h) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> h.result().get(20, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof ScoringException, String.valueOf(e.getCause()));
        return (ScoringException) e.getCause();
    }

    @Test
    void votesSumScoresInOriginalOrderOverShuffledSamples() throws Exception {
        int[] quality = {8, 3, 5};
        ScoringResult r = await(scorer(p -> ScriptedJudge.judgment(p, quality, "ok")).score(request(3, k(4, false), Long.MAX_VALUE)));
        assertArrayEquals(new double[] {32, 12, 20}, r.rewards());
        assertEquals(0, r.bestIndex());
        assertEquals(4, r.usage().samplesRun());
        assertEquals(4, r.usage().samplesValid());
        assertFalse(r.partial());
        assertEquals(1, generator.requests.size(), "without adaptive all samples go to the engine as one request");
        for (ScoringResult.SampleResult s : r.samples()) {
            assertArrayEquals(quality, s.scores(), "scores are mapped back to the original order");
            assertTrue(Permutations.isPermutation(s.order()));
            assertFalse(s.forced());
        }
        assertTrue(generator.requests.get(0).sequences().stream().allMatch(s -> s.params().temperature() == 0.5f));
    }

    @Test
    void adaptiveStopsOnceTheBestIsSettledAndAgreesWithFullVoting() throws Exception {
        int[] quality = {10, 1};
        Function<String, String> script = p -> ScriptedJudge.judgment(p, quality, "clear");
        ScoringResult adaptive = await(scorer(script).score(request(2, k(8, true), Long.MAX_VALUE)));
        assertEquals(6, adaptive.usage().samplesRun(), "waves of 2; after 6 samples 60+2 beats 6+20 at worst");
        assertEquals(2, adaptive.usage().samplesSaved());
        assertEquals(3, generator.requests.size());
        ScoringResult full = await(scorer(script).score(request(2, k(8, false), Long.MAX_VALUE)));
        assertEquals(full.bestIndex(), adaptive.bestIndex());
        assertEquals(0, full.usage().samplesSaved());
    }

    @Test
    void anytimeScoringForcesStalledSamplesBeforeTheDeadline() throws Exception {
        GrmScorer scorer = scorer(p -> null);
        // a 10 ms step gives the forced blocks a margin of some 0.5 s before the deadline, so that a pause of the
        // machine (a GC, another test's threads) cannot eat it; the real forcing takes well under a millisecond
        generator.stepNanos = 10_000_000L;
        ScoringResult r = await(scorer.score(request(2, k(2, false), System.nanoTime() + 2_000_000_000L)));
        assertTrue(r.partial(), "forced before the token limit");
        assertEquals(2, r.usage().samplesForced());
        assertEquals(2, r.usage().samplesValid());
        assertTrue(r.samples().stream().allMatch(ScoringResult.SampleResult::forced));
    }

    @Test
    void aDeadlineCountsFromArrival() {
        GrmScorer scorer = scorer(p -> null);
        RequestedBudget budget = new RequestedBudget(2, 0, 0, null, 400, 42, false, 50);
        ScoringRequest late = new ScoringRequest("late", List.of(new Turn("user", "q")), ScriptedJudge.responses(2), List.of(), budget,
                false, 0, System.nanoTime() - 10_000_000_000L, Long.MAX_VALUE, ScoringRequest.Mode.GENERATIVE);
        assertEquals(ScoringException.Kind.DEADLINE_EXCEEDED, failure(scorer.score(late)).kind());
    }

    @Test
    void metaFilteringVotesOnlyTheMostTrustedSamples() throws Exception {
        // a judge biased towards whatever it sees first; honest only when <<R0>> is shown first
        Function<String, String> script = p -> ScriptedJudge.shownOrder(p, 2)[0] == 0
                ? ScriptedJudge.judgment(p, new int[] {9, 2}, "honest")
                : ScriptedJudge.judgment(p, new int[] {2, 9}, "biased");
        List<List<int[]>> seen = new ArrayList<>();
        SequenceClassifier trust = new SequenceClassifier() {
            @Override
            public CompletableFuture<float[]> score(List<int[]> sequences, long deadlineNanos) {
                seen.add(sequences);
                float[] out = new float[sequences.size()];
                for (int i = 0; i < out.length; i++) out[i] = CharCodec.text(sequences.get(i)).contains("honest") ? 1f : -1f;
                return CompletableFuture.completedFuture(out);
            }

            @Override
            public int maxTokens() {
                return 1 << 20;
            }
        };
        MetaRm meta = new MetaRm(trust, MetaInput.template(new CharCodec(), PromptTemplate.loadResource(PromptTemplate.META_RESOURCE)));
        ScoringResult r = await(scorer(script, meta, new LoadPolicy(0, 0)).score(request(2, k(8, false), Long.MAX_VALUE)));
        assertEquals(1, seen.size());
        assertEquals(8, seen.get(0).size(), "every valid sample is scored by the meta-RM");
        assertEquals(4, r.usage().samplesCounted(), "k_meta defaults to ceil(8/2)");
        double[] sums = new double[2];
        float lowestCounted = Float.MAX_VALUE;
        float highestDropped = -Float.MAX_VALUE;
        for (ScoringResult.SampleResult s : r.samples()) {
            if (s.counted()) {
                for (int i = 0; i < 2; i++) sums[i] += s.scores()[i];
                lowestCounted = Math.min(lowestCounted, s.metaScore());
            } else {
                highestDropped = Math.max(highestDropped, s.metaScore());
            }
        }
        assertArrayEquals(sums, r.rewards(), "only counted samples are voted");
        assertTrue(lowestCounted >= highestDropped, lowestCounted + " >= " + highestDropped);
    }

    /** A conversation-form meta-RM reads each sample after the very prompt the GRM was given, caller principles included. */
    @Test
    void aConversationFormMetaRmReadsEachSampleAfterTheGrmsOwnPrompt() throws Exception {
        List<String> prompts = new ArrayList<>();
        Function<String, String> script = p -> {
            synchronized (prompts) {
                prompts.add(p);
            }
            return ScriptedJudge.judgment(p, new int[] {9, 2}, "checked");
        };
        List<String> seen = new ArrayList<>();
        SequenceClassifier trust = new SequenceClassifier() {
            @Override
            public CompletableFuture<float[]> score(List<int[]> sequences, long deadlineNanos) {
                for (int[] s : sequences) seen.add(CharCodec.text(s));
                return CompletableFuture.completedFuture(new float[sequences.size()]);
            }

            @Override
            public int maxTokens() {
                return 1 << 20;
            }
        };
        MetaRm meta = new MetaRm(trust, MetaInput.conversation(new CharCodec(), PromptTemplate.loadDefault(),
                PromptTemplate.loadResource(PromptTemplate.PRINCIPLES_RESOURCE)));
        ScoringRequest withPrinciples = new ScoringRequest("p", List.of(new Turn("user", "Which answer is right?")), ScriptedJudge.responses(2),
                List.of("Exactness above all."), k(4, false), true, 0, System.nanoTime(), Long.MAX_VALUE, ScoringRequest.Mode.GENERATIVE);
        ScoringResult r = await(scorer(script, meta, new LoadPolicy(0, 0)).score(withPrinciples));
        assertEquals(4, seen.size(), "every valid sample is scored");
        for (ScoringResult.SampleResult s : r.samples()) {
            String read = seen.stream().filter(x -> x.contains(s.text())).findFirst().orElseThrow();
            assertTrue(read.endsWith("<assistant>" + s.text() + "<end>"), read);
            String prompt = read.substring(0, read.length() - (s.text() + "<end>").length());
            assertTrue(prompt.contains("1. Exactness above all."), "the principles prompt: " + prompt);
            assertTrue(prompts.contains(prompt), "the GRM was given exactly this prompt: " + prompt);
        }
    }

    @Test
    void aMetaRmTemplateThatCannotRenderTheRequestIsTheCallersToFix() {
        SequenceClassifier trust = new SequenceClassifier() {
            @Override
            public CompletableFuture<float[]> score(List<int[]> sequences, long deadlineNanos) {
                throw new AssertionError("nothing reaches the meta-RM");
            }

            @Override
            public int maxTokens() {
                return 1 << 20;
            }
        };
        PromptCodec refusing = new CharCodec() {
            @Override
            public int[] encodeUserTurn(String userTurn, boolean addGenerationPrompt) {
                throw new IllegalArgumentException("chat template raised: Conversation roles must alternate");
            }
        };
        MetaRm meta = new MetaRm(trust, MetaInput.template(refusing, PromptTemplate.loadResource(PromptTemplate.META_RESOURCE)));
        ScoringException e = failure(scorer(p -> ScriptedJudge.judgment(p, new int[] {5, 6}, "ok"), meta, new LoadPolicy(0, 0))
                .score(request(2, k(4, false), Long.MAX_VALUE)));
        assertEquals(ScoringException.Kind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("meta-RM's chat template cannot render this request: chat template raised"), e.getMessage());
    }

    @Test
    void aRequestLoweredToOneSampleIsGreedy() throws Exception {
        GrmScorer scorer = scorer(p -> ScriptedJudge.judgment(p, new int[] {5, 6}, "ok"), null, new LoadPolicy(1, 0));
        // the scripted generator reports no load, so degrade through max-in-flight instead
        GrmScorer capped = scorer(p -> ScriptedJudge.judgment(p, new int[] {5, 6}, "ok"), null, new LoadPolicy(0, 1));
        ScoringRequest req = new ScoringRequest("d", List.of(new Turn("user", "q")), ScriptedJudge.responses(2), List.of(),
                new RequestedBudget(8, 1, 0, null, 400, 42, false, 0), false, 0, System.nanoTime(), Long.MAX_VALUE,
                ScoringRequest.Mode.GENERATIVE);
        ScoringResult r = await(capped.score(req));
        assertTrue(r.degraded());
        assertEquals(1, r.usage().samplesRun());
        assertEquals(8, r.usage().samplesRequested());
        assertEquals(0f, generator.requests.get(0).sequences().get(0).params().temperature(), "k = 1 after degradation samples greedily");
        assertTrue(scorer != null);
    }

    @Test
    void everySampleFailingIsInternalAndAFullQueueRefusesAtOnce() {
        GrmScorer scorer = scorer(p -> ScriptedJudge.judgment(p, new int[] {5, 6}, "ok"));
        for (int i = 0; i < 4; i++) generator.failing.add(i);
        assertEquals(ScoringException.Kind.INTERNAL, failure(scorer.score(request(2, k(4, false), Long.MAX_VALUE))).kind());
        generator.full = true;
        ScoringException refused = assertThrows(ScoringException.class, () -> scorer.score(request(2, k(4, false), Long.MAX_VALUE)));
        assertEquals(ScoringException.Kind.RESOURCE_EXHAUSTED, refused.kind());
    }

    @Test
    void someSamplesFailingStillVotesTheRest() throws Exception {
        GrmScorer scorer = scorer(p -> ScriptedJudge.judgment(p, new int[] {7, 4}, "ok"));
        generator.failing.add(1);
        ScoringResult r = await(scorer.score(request(2, k(4, false), Long.MAX_VALUE)));
        assertEquals(3, r.usage().samplesValid());
        assertArrayEquals(new double[] {21, 12}, r.rewards());
        assertTrue(r.samples().get(1).invalidReason().startsWith("generation failed"), r.samples().get(1).invalidReason());
        assertFalse(r.partial(), "a backend error is not a cut-off");
    }

    @Test
    void cancelAnswersCancelled() {
        GrmScorer scorer = scorer(p -> null);
        GrmScorer.Handle h = scorer.score(request(2, k(2, false), Long.MAX_VALUE));
        h.cancel().run();
        assertEquals(ScoringException.Kind.CANCELLED, failure(h).kind());
    }
}
