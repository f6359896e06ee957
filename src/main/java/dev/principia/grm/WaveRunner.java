package dev.principia.grm;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import dev.principia.budget.ResolvedBudget;
import dev.principia.engine.GenerationHandle;
import dev.principia.engine.GenerationRequest;
import dev.principia.engine.GenerationResult;
import dev.principia.engine.QueueFullException;
import dev.principia.engine.SamplingParams;
import dev.principia.engine.SequenceOutput;
import dev.principia.engine.SequenceSpec;

/**
 * Runs one request's planned samples through the generator and hands what they wrote to {@link Tally}.
 *
 * <p>Without {@code adaptive} all k samples go to the engine as one request, so samples that share a
 * prompt prefix compute it once. With it, samples run in waves of ceil(k/4) and stop as soon as
 * {@link AdaptiveStop} proves the best response settled. With a deadline, a timer switches every
 * unfinished sample to score forcing shortly before it (anytime scoring); samples still running at
 * the deadline are dropped and the answer is partial. With meta filtering, the valid samples are
 * scored by the meta-RM before the vote.
 *
 * <p>Threads: {@link #start} runs on the caller's thread and submits the first wave before any
 * callback can run. Every later step — a wave's completion, the next wave, the meta-RM's answer, the
 * tally — runs on the context's executor, one at a time, each chained after the previous one
 * completed; so the plain fields below are confined to one thread at a time, with happens-before
 * through the future chain. {@link #cancel} and the anytime timer may run on any thread and touch only
 * volatile fields and the controllers' volatile force flag.
 */
final class WaveRunner {
    private final ScoringContext ctx;
    private final ScoringRequest request;
    private final Conversation conversation;
    private final ResolvedBudget budget;
    private final SamplePlan plan;
    private final int k;
    private final ScoreForcing[] controllers;
    private final SequenceOutput[] outputs;
    private final String[] texts;
    private final Judgment[] judgments;
    private final AdaptiveStop adaptive;
    private final int waveSize;
    private final CompletableFuture<ScoringResult> result = new CompletableFuture<>();
    private volatile GenerationHandle current;
    private volatile CompletableFuture<float[]> metaStage;
    private volatile boolean cancelled;
    private volatile boolean anytimeFired;
    private int numSubmitted;
    private boolean cutShort;
    private long queueNanos;
    private long computeNanos;

    WaveRunner(ScoringContext ctx, ScoringRequest request, Conversation conversation, ResolvedBudget budget, SamplePlan plan) {
        this.ctx = ctx;
        this.request = request;
        this.conversation = conversation;
        this.budget = budget;
        this.plan = plan;
        this.k = plan.numSamples();
        int n = plan.numResponses();
        ScoreGrammar grammar = ctx.grammar(n);
        this.controllers = new ScoreForcing[k];
        for (int s = 0; s < k; s++) controllers[s] = new ScoreForcing(ctx.vocabulary(), grammar, ctx.parser(), n);
        this.outputs = new SequenceOutput[k];
        this.texts = new String[k];
        this.judgments = new Judgment[k];
        this.adaptive = budget.adaptive()
                ? new AdaptiveStop(n, ctx.parser().minScore(), ctx.parser().maxScore(), SampleSeeds.tieBreak(budget.seed()))
                : null;
        this.waveSize = adaptive == null ? k : Math.max(1, (k + 3) / 4);
    }

    CompletableFuture<ScoringResult> result() {
        return result;
    }

    /**
     * Submits the first wave in the place {@code admission} holds.
     *
     * @throws ScoringException UNAVAILABLE when the generator shut down since the place was taken
     */
    void start(Generator.Admission admission) {
        submitWave(admission);
        if (budget.hasDeadline() && !result.isDone()) {
            long delay = budget.deadlineNanos() - anytimeMarginNanos() - System.nanoTime();
            ScheduledFuture<?> timer = ctx.timer().schedule(this::fireAnytime, Math.max(0, delay), TimeUnit.NANOSECONDS);
            result.whenComplete((r, t) -> timer.cancel(false));
        }
    }

    void cancel() {
        cancelled = true;
        GenerationHandle h = current;
        if (h != null) h.abort("cancelled by the caller");
        CompletableFuture<float[]> m = metaStage;
        if (m != null) m.cancel(false);
    }

    /**
     * How long before the deadline anytime scoring switches samples to forcing: time for the forced
     * block (its reserve in steps at the recent step time, twice over) plus 20 ms.
     */
    private long anytimeMarginNanos() {
        int reserveTokens = ScoreForcing.reserveTokens(ctx.vocabulary(), ctx.grammar(plan.numResponses()));
        return 2L * (reserveTokens + 2) * Math.max(1_000_000L, ctx.generator().lastStepNanos()) + 20_000_000L;
    }

    /** Anytime scoring: every unfinished sample writes its score block now. */
    private void fireAnytime() {
        anytimeFired = true;
        for (ScoreForcing c : controllers) c.forceNow();
    }

    /** @param admission the first wave's place; null for later waves, which queue like any request */
    private void submitWave(Generator.Admission admission) {
        boolean first = admission != null;
        int from = numSubmitted;
        int to = Math.min(k, from + waveSize);
        List<SequenceSpec> specs = new ArrayList<>(to - from);
        for (int s = from; s < to; s++) {
            specs.add(new SequenceSpec(plan.prompts()[s], new SamplingParams(budget.temperature(), 0, 1f, plan.seeds()[s],
                    budget.maxNewTokens(), ctx.stopTokenIds()), controllers[s]));
        }
        GenerationHandle handle;
        try {
            GenerationRequest wave = new GenerationRequest(request.id(), specs, request.priority(), budget.deadlineNanos());
            handle = first ? admission.submit(wave) : ctx.generator().submit(wave);
        } catch (QueueFullException | IllegalStateException e) {
            if (first) {
                ScoringException.Kind kind = e instanceof QueueFullException ? ScoringException.Kind.RESOURCE_EXHAUSTED
                        : ScoringException.Kind.UNAVAILABLE;
                throw new ScoringException(kind, e.getMessage(), e);
            }
            cutShort = true;
            finish();
            return;
        }
        numSubmitted = to;
        current = handle;
        if (cancelled) handle.abort("cancelled by the caller");
        handle.result().thenAcceptAsync(r -> onWave(from, r), ctx.executor()).exceptionally(t -> {
            result.completeExceptionally(t);
            return null;
        });
    }

    private void onWave(int from, GenerationResult wave) {
        for (SequenceOutput out : wave.outputs()) outputs[from + out.index()] = out;
        if (from == 0) queueNanos = wave.queueNanos();
        computeNanos += wave.computeNanos();
        if (cancelled) {
            result.completeExceptionally(cancelledOrExpired());
            return;
        }
        if (numSubmitted < k) {
            if (wave.aborted() || anytimeFired) {
                cutShort = true;
            } else if (!decided()) {
                submitWave(null);
                return;
            }
        }
        finish();
    }

    /** The transport cancels a call whose deadline passed too: that is an expiry, not a caller's cancel. */
    private ScoringException cancelledOrExpired() {
        boolean expired = budget.hasDeadline() && System.nanoTime() - budget.deadlineNanos() >= 0;
        return expired
                ? new ScoringException(ScoringException.Kind.DEADLINE_EXCEEDED, "request " + request.id() + ": deadline exceeded")
                : new ScoringException(ScoringException.Kind.CANCELLED, "request " + request.id() + ": cancelled by the caller");
    }

    private static boolean isDeadline(Throwable t) {
        Throwable e = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        return e instanceof ScoringException se && se.kind() == ScoringException.Kind.DEADLINE_EXCEEDED;
    }

    private boolean decided() {
        double[] sums = new double[plan.numResponses()];
        int valid = 0;
        for (int s = 0; s < numSubmitted; s++) {
            Judgment j = judgment(s);
            if (!j.valid()) continue;
            valid++;
            int[] scores = Permutations.unpermute(j.scores(), plan.orders()[s]);
            for (int i = 0; i < sums.length; i++) sums[i] += scores[i];
        }
        return adaptive.isDecided(sums, valid, k - numSubmitted);
    }

    /** Each sample is decoded and parsed once, and reused by every wave's check and by the tally. */
    private Judgment judgment(int s) {
        if (judgments[s] == null) judgments[s] = Tally.judge(outputs[s], text(s), ctx.parser(), plan.numResponses());
        return judgments[s];
    }

    private String text(int s) {
        if (texts[s] == null) texts[s] = ctx.codec().decode(outputs[s].tokenIds());
        return texts[s];
    }

    private void finish() {
        try {
            List<Tally.SampleRun> runs = new ArrayList<>(numSubmitted);
            for (int s = 0; s < numSubmitted; s++) {
                runs.add(new Tally.SampleRun(outputs[s], text(s), judgment(s), controllers[s].forced(), controllers[s].forcedEarly()));
            }
            Tally.Waves waves = new Tally.Waves(runs, cutShort, queueNanos, computeNanos);
            List<Integer> valid = Tally.validSamples(request.id(), waves);
            MetaRm meta = ctx.metaRm();
            if (meta == null || !budget.metaFiltering()) {
                result.complete(Tally.result(request.id(), plan, budget, waves, valid, null));
                return;
            }
            List<int[]> orders = new ArrayList<>(valid.size());
            List<String> validTexts = new ArrayList<>(valid.size());
            for (int s : valid) {
                orders.add(plan.orders()[s]);
                validTexts.add(texts[s]);
            }
            CompletableFuture<float[]> m = meta.score(conversation, request.responses(), request.principles(), orders, validTexts, budget.deadlineNanos());
            metaStage = m;
            if (cancelled) m.cancel(false);
            m.whenCompleteAsync((scores, t) -> {
                try {
                    if (t == null) {
                        result.complete(Tally.result(request.id(), plan, budget, waves, valid, scores));
                    } else if (!cancelled && isDeadline(t)) {
                        // anytime: the deadline came during meta scoring; vote every valid sample, unfiltered
                        Tally.Waves cut = new Tally.Waves(waves.samples(), true, waves.queueNanos(), waves.computeNanos());
                        result.complete(Tally.result(request.id(), plan, budget, cut, valid, null));
                    } else {
                        result.completeExceptionally(cancelled ? cancelledOrExpired() : t);
                    }
                } catch (RuntimeException e) {
                    result.completeExceptionally(e);
                }
            }, ctx.executor());
        } catch (RuntimeException e) {
            result.completeExceptionally(e);
        }
    }
}
