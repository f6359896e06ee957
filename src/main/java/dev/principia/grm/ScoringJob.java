package dev.principia.grm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import dev.principia.budget.Allocation;
import dev.principia.budget.SampleBudget;
import dev.principia.engine.GenerationHandle;
import dev.principia.engine.GenerationRequest;
import dev.principia.engine.GenerationResult;
import dev.principia.engine.Outcome;
import dev.principia.engine.QueueFullException;
import dev.principia.engine.SamplingParams;
import dev.principia.engine.SequenceOutput;
import dev.principia.engine.SequenceSpec;
import dev.principia.engine.SequenceStatus;

/**
 * One scoring request in flight: its sample plan (a seeded permutation and seed per sample), the
 * waves it submits to the engine, and the assembly of the answer.
 *
 * <p>Without {@code adaptive} all k samples go to the engine as one request, so samples that share
 * a prompt prefix compute it once. With it, samples run in waves and the job stops as soon as
 * {@link AdaptiveStop} proves the best response is settled. With a deadline, a timer switches every
 * unfinished sample to score forcing shortly before it (anytime scoring), and samples still running
 * at the deadline are dropped; the answer is then marked partial.
 *
 * <p>Waves complete on the scorer's executor one after another, so the job's state is confined to
 * one thread at a time; {@link #cancel} may come from any thread.
 */
final class ScoringJob {
    private final GrmScorer scorer;
    private final ScoringRequest request;
    private final Conversation conversation;
    private final SampleBudget budget;
    private final Allocation allocation;
    private final int n;
    private final int k;
    private final PromptTemplate template;
    private final ScoreGrammar grammar;
    private final int[][] orders;
    private final long[] seeds;
    private final int[][] prompts;
    private final ScoreForcing[] controllers;
    private final SequenceOutput[] outputs;
    private final AdaptiveStop adaptive;
    private final int waveSize;
    private final CompletableFuture<ScoringResult> result = new CompletableFuture<>();
    /** Per finished sample, its decoded text and parsed judgment: each decoded and parsed once, reused by every wave's check. */
    private final Map<Integer, String> texts = new HashMap<>();
    private final Map<Integer, Judgment> judgments = new HashMap<>();
    private volatile GenerationHandle current;
    private volatile boolean cancelled;
    private volatile boolean anytimeFired;
    private ScheduledFuture<?> anytimeTimer;
    private int numSubmitted;
    private boolean wavesCutShort;
    private long queueNanos;
    private long computeNanos;

    ScoringJob(GrmScorer scorer, ScoringRequest request, Conversation conversation, SampleBudget budget, Allocation allocation,
               boolean useAdaptive) {
        this.scorer = scorer;
        this.request = request;
        this.conversation = conversation;
        this.budget = budget;
        this.allocation = allocation;
        this.n = request.responses().size();
        this.k = allocation.samples();
        this.template = request.principles().isEmpty() ? scorer.promptTemplate() : scorer.principlesTemplate();
        this.grammar = new ScoreGrammar(n, scorer.parser().minScore(), scorer.parser().maxScore());
        this.orders = new int[k][];
        this.seeds = new long[k];
        this.prompts = new int[k][];
        this.controllers = new ScoreForcing[k];
        this.outputs = new SequenceOutput[k];
        this.adaptive = useAdaptive && k > 1 && n > 1
                ? new AdaptiveStop(n, scorer.parser().minScore(), scorer.parser().maxScore(), SampleSeeds.tieBreak(budget.seed()))
                : null;
        this.waveSize = adaptive == null ? k : Math.max(1, (k + 3) / 4);
        plan();
    }

    /** Permutations, seeds and prompts of every sample; prompts are rendered once per distinct order. */
    private void plan() {
        Map<String, int[]> byOrder = new HashMap<>();
        int maxModelLen = scorer.engine().config().maxModelLen();
        for (int s = 0; s < k; s++) {
            seeds[s] = SampleSeeds.derive(budget.seed(), s);
            int[] order = k == 1 ? Permutations.identity(n) : Permutations.shuffle(n, seeds[s]);
            orders[s] = order;
            prompts[s] = byOrder.computeIfAbsent(Arrays.toString(order),
                    key -> scorer.tokenize(template, conversation, Permutations.present(request.responses(), order), request.principles()));
            if (prompts[s].length > scorer.limits().maxPromptTokens()) {
                throw ScoringException.invalid("conversation", "the GRM prompt is " + prompts[s].length + " tokens; the limit is "
                        + scorer.limits().maxPromptTokens() + " (shorten the conversation or the responses)");
            }
            if (prompts[s].length + budget.maxNewTokens() > maxModelLen) {
                throw ScoringException.invalid("budget.max_new_tokens", "the GRM prompt is " + prompts[s].length + " tokens and "
                        + budget.maxNewTokens() + " new tokens exceed the model's " + maxModelLen + " positions");
            }
            controllers[s] = new ScoreForcing(scorer.vocabulary(), grammar, scorer.parser(), n);
        }
    }

    CompletableFuture<ScoringResult> result() {
        return result;
    }

    /** Submits the first wave; throws RESOURCE_EXHAUSTED or UNAVAILABLE synchronously when the engine refuses it. */
    void start() {
        submitWave(true);
        long deadline = request.deadlineNanos();
        if (deadline != Long.MAX_VALUE && !result.isDone()) {
            long delay = deadline - scorer.anytimeMarginNanos(ScoreForcing.reserveTokens(scorer.vocabulary(), grammar)) - System.nanoTime();
            anytimeTimer = scorer.timer().schedule(this::fireAnytime, Math.max(0, delay), TimeUnit.NANOSECONDS);
        }
    }

    void cancel() {
        cancelled = true;
        GenerationHandle h = current;
        if (h != null) h.abort("cancelled by the caller");
    }

    /** Anytime scoring: every unfinished sample writes its score block now. */
    private void fireAnytime() {
        anytimeFired = true;
        for (ScoreForcing c : controllers) c.forceNow();
    }

    private void submitWave(boolean first) {
        int from = numSubmitted;
        int to = Math.min(k, from + waveSize);
        List<SequenceSpec> specs = new ArrayList<>(to - from);
        for (int s = from; s < to; s++) {
            specs.add(new SequenceSpec(prompts[s], new SamplingParams(budget.temperature(), 0, 1f, seeds[s], budget.maxNewTokens(),
                    scorer.stopTokenIds()), controllers[s]));
        }
        GenerationHandle handle;
        try {
            handle = scorer.engine().submit(new GenerationRequest(request.id(), specs, request.priority(), request.deadlineNanos()));
        } catch (QueueFullException e) {
            if (first) throw new ScoringException(ScoringException.Kind.RESOURCE_EXHAUSTED, e.getMessage(), e);
            wavesCutShort = true;
            finish();
            return;
        } catch (IllegalStateException e) {
            if (first) throw new ScoringException(ScoringException.Kind.UNAVAILABLE, e.getMessage(), e);
            wavesCutShort = true;
            finish();
            return;
        }
        numSubmitted = to;
        current = handle;
        if (cancelled) handle.abort("cancelled by the caller");
        handle.result().thenAcceptAsync(r -> onWave(from, r), scorer.executor()).exceptionally(t -> {
            result.completeExceptionally(t);
            return null;
        });
    }

    private void onWave(int from, GenerationResult wave) {
        for (SequenceOutput out : wave.outputs()) outputs[from + out.index()] = out;
        if (from == 0) queueNanos = wave.queueNanos();
        computeNanos += wave.computeNanos();
        if (cancelled) {
            fail(new ScoringException(ScoringException.Kind.CANCELLED, "request " + request.id() + ": cancelled by the caller"));
            return;
        }
        if (numSubmitted < k) {
            if (wave.aborted() || anytimeFired) {
                wavesCutShort = true;
            } else if (!decided()) {
                submitWave(false);
                return;
            }
        }
        finish();
    }

    private boolean decided() {
        double[] sums = new double[n];
        int valid = 0;
        for (int s = 0; s < numSubmitted; s++) {
            Judgment j = judgment(s);
            if (!j.valid()) continue;
            valid++;
            int[] scores = Permutations.unpermute(j.scores(), orders[s]);
            for (int i = 0; i < n; i++) sums[i] += scores[i];
        }
        return adaptive.isDecided(sums, valid, k - numSubmitted);
    }

    private Judgment judgment(int s) {
        return judgments.computeIfAbsent(s, i -> {
            SequenceOutput out = outputs[i];
            if (out == null) return Judgment.invalid("not run");
            return switch (out.status()) {
                case FINISHED_ERROR -> Judgment.invalid("generation failed: " + out.error());
                case FINISHED_ABORTED -> Judgment.invalid("not finished: " + out.error());
                default -> scorer.parser().parse(text(i), n);
            };
        });
    }

    private String text(int s) {
        return texts.computeIfAbsent(s, i -> outputs[i] == null ? "" : scorer.tokenizer().decode(outputs[i].tokenIds()));
    }

    private void finish() {
        if (anytimeTimer != null) anytimeTimer.cancel(false);
        try {
            int numErrors = 0;
            int numAborted = 0;
            boolean shutdown = false;
            String firstError = null;
            List<Integer> validSamples = new ArrayList<>();
            for (int s = 0; s < numSubmitted; s++) {
                SequenceOutput out = outputs[s];
                if (out.status() == SequenceStatus.FINISHED_ERROR) {
                    numErrors++;
                    if (firstError == null) firstError = out.error();
                } else if (out.status() == SequenceStatus.FINISHED_ABORTED) {
                    numAborted++;
                    shutdown |= out.outcome() == Outcome.SHUTDOWN;
                }
                if (judgment(s).valid()) validSamples.add(s);
            }
            if (numErrors == numSubmitted) {
                throw new ScoringException(ScoringException.Kind.INTERNAL, "request " + request.id() + ": every sample failed: " + firstError);
            }
            if (validSamples.isEmpty()) {
                if (shutdown) {
                    throw new ScoringException(ScoringException.Kind.UNAVAILABLE, "request " + request.id()
                            + ": the server is shutting down; retry on another replica");
                }
                if (numAborted > 0) {
                    throw new ScoringException(ScoringException.Kind.DEADLINE_EXCEEDED, "request " + request.id()
                            + ": deadline exceeded before any of " + numSubmitted + " samples finished");
                }
                throw new ScoringException(ScoringException.Kind.FAILED_PRECONDITION, "request " + request.id() + ": none of the "
                        + numSubmitted + " samples produced a valid score block (first reason: " + judgment(0).invalidReason()
                        + "); raise budget.max_new_tokens or check the prompt template");
            }
            boolean partial = numAborted > 0 || wavesCutShort || anytimeForcedAny();
            MetaRm meta = scorer.metaRm();
            if (meta != null && !validSamples.isEmpty() && scorer.metaKeep(request, k) < k) {
                List<int[]> metaOrders = new ArrayList<>();
                List<String> metaTexts = new ArrayList<>();
                for (int s : validSamples) {
                    metaOrders.add(orders[s]);
                    metaTexts.add(text(s));
                }
                boolean p = partial;
                meta.score(conversation, request.responses(), metaOrders, metaTexts)
                        .thenAcceptAsync(scores -> complete(validSamples, scores, p), scorer.executor())
                        .exceptionally(t -> {
                            fail(t);
                            return null;
                        });
                return;
            }
            complete(validSamples, null, partial);
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    private boolean anytimeForcedAny() {
        for (int s = 0; s < numSubmitted; s++) {
            if (controllers[s].forcedEarly()) return true;
        }
        return false;
    }

    /** Votes over the valid samples, or over the {@code k_meta} of them the meta-RM scored highest. */
    private void complete(List<Integer> validSamples, float[] metaScoresOfValid, boolean partial) {
        try {
            float[] metaScores = new float[numSubmitted];
            boolean[] counted = new boolean[numSubmitted];
            if (metaScoresOfValid != null) {
                Arrays.fill(metaScores, Float.NaN);
                for (int i = 0; i < validSamples.size(); i++) metaScores[validSamples.get(i)] = metaScoresOfValid[i];
                counted = MetaFilter.keepTop(metaScores, scorer.metaKeep(request, k), SampleSeeds.mix(budget.seed() ^ 0x6d657461L));
            } else {
                for (int s : validSamples) counted[s] = true;
            }
            List<int[]> votes = new ArrayList<>();
            List<ScoringResult.SampleResult> samples = new ArrayList<>(numSubmitted);
            long promptTokens = 0;
            long generatedTokens = 0;
            int numForced = 0;
            for (int s = 0; s < numSubmitted; s++) {
                SequenceOutput out = outputs[s];
                Judgment j = judgment(s);
                int[] scores = j.valid() ? Permutations.unpermute(j.scores(), orders[s]) : new int[0];
                if (counted[s]) votes.add(scores);
                promptTokens += Math.max(0, prompts[s].length - out.numForkedTokens());
                generatedTokens += out.tokenIds().length;
                numForced += controllers[s].forced() ? 1 : 0;
                samples.add(new ScoringResult.SampleResult(orders[s], text(s), scores, j.valid(), j.valid() ? "" : j.invalidReason(),
                        controllers[s].forced(), metaScoresOfValid == null || Float.isNaN(metaScores[s]) ? 0f : metaScores[s],
                        counted[s], seeds[s], out.tokenIds().length));
            }
            Vote vote = Vote.tally(votes, n, SampleSeeds.tieBreak(budget.seed()));
            int saved = adaptive != null && !wavesCutShort ? k - numSubmitted : 0;
            ScoringResult.Usage usage = new ScoringResult.Usage(promptTokens, generatedTokens, numSubmitted, validSamples.size(), numForced,
                    TimeUnit.NANOSECONDS.toMillis(queueNanos), TimeUnit.NANOSECONDS.toMillis(computeNanos), budget.samples(), saved,
                    votes.size());
            result.complete(new ScoringResult(request.id(), vote.rewards(), vote.meanScores(), vote.ranks(), vote.bestIndex(), samples,
                    usage, budget.seed(), partial, allocation.degraded(), allocation.reason()));
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    private void fail(Throwable t) {
        if (anytimeTimer != null) anytimeTimer.cancel(false);
        result.completeExceptionally(t);
    }
}
