package dev.principia.grm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

import dev.principia.budget.BudgetPolicy;
import dev.principia.budget.InvalidBudgetException;
import dev.principia.budget.SampleBudget;
import dev.principia.engine.Engine;
import dev.principia.engine.GenerationHandle;
import dev.principia.engine.GenerationRequest;
import dev.principia.engine.GenerationResult;
import dev.principia.engine.QueueFullException;
import dev.principia.engine.SamplingParams;
import dev.principia.engine.SequenceOutput;
import dev.principia.engine.SequenceSpec;
import dev.principia.engine.SequenceStatus;
import dev.principia.model.ChatTemplate;
import dev.principia.model.Tokenizer;

/**
 * Scores responses with a generative reward model: plans k samples (a seeded permutation and seed
 * each), renders and tokenizes one prompt per permutation, submits all samples to the engine as one
 * request (so shared prefixes are computed once), parses each sample's last {@code \boxed{}},
 * un-permutes the scores and votes. Thread-safe; one instance per loaded GRM.
 */
public final class GrmScorer {

    /** What {@link #score} hands back: the eventual result, and a way to cancel it. */
    public record Handle(CompletableFuture<ScoringResult> result, Runnable cancel) {
    }

    private final Engine engine;
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    private final PromptTemplate promptTemplate;
    private final JudgmentParser parser = JudgmentParser.defaults();
    private final ScoreForcing.Vocabulary vocabulary;
    private final BudgetPolicy policy;
    private final ScoringLimits limits;
    private final int[] stopTokenIds;
    private final Executor executor;

    /**
     * @param tokenTexts   each vocabulary id's text ({@link Tokenizer#tokenTexts}) for the score grammar
     * @param stopTokenIds end-of-turn / end-of-sequence ids of the model
     * @param executor     runs parsing and voting off the engine thread
     */
    public GrmScorer(Engine engine, Tokenizer tokenizer, ChatTemplate chatTemplate, PromptTemplate promptTemplate,
                     String[] tokenTexts, int[] stopTokenIds, BudgetPolicy policy, ScoringLimits limits, Executor executor) {
        this.engine = engine;
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
        this.promptTemplate = promptTemplate;
        this.policy = policy;
        this.limits = limits;
        this.stopTokenIds = stopTokenIds.clone();
        this.executor = executor;
        this.vocabulary = ScoreForcing.Vocabulary.of(tokenizer.encode(new ScoreGrammar(1, 1, 10).prefix()), tokenTexts);
        if (vocabulary.candidateTokens().length == 0) {
            throw new IllegalArgumentException("the tokenizer has no tokens made of digits, ',', ' ' or '}': score forcing cannot work");
        }
    }

    /** Fewest new tokens a sample over {@code numResponses} responses needs: room for the forced score block. */
    public int minNewTokens(int numResponses) {
        return ScoreForcing.reserveTokens(vocabulary, new ScoreGrammar(numResponses, parser.minScore(), parser.maxScore())) + 1;
    }

    /**
     * Validates, plans and submits a request. Never blocks on the model.
     *
     * @throws ScoringException INVALID_ARGUMENT for bad input, RESOURCE_EXHAUSTED when the engine queue is full
     */
    public Handle score(ScoringRequest request) {
        request.validate(limits);
        Conversation conversation;
        try {
            conversation = new Conversation(request.conversation());
        } catch (IllegalArgumentException e) {
            throw ScoringException.invalid("conversation", e.getMessage());
        }
        int n = request.responses().size();
        SampleBudget budget;
        try {
            budget = policy.resolve(request.budget(), minNewTokens(n));
        } catch (InvalidBudgetException e) {
            throw new ScoringException(ScoringException.Kind.INVALID_ARGUMENT, e.getMessage());
        }
        int k = budget.samples();
        List<int[]> orders = new ArrayList<>(k);
        List<SequenceSpec> specs = new ArrayList<>(k);
        List<ScoreForcing> controllers = new ArrayList<>(k);
        Map<String, int[]> promptsByOrder = new HashMap<>();
        ScoreGrammar grammar = new ScoreGrammar(n, parser.minScore(), parser.maxScore());
        int maxModelLen = engine.config().maxModelLen();
        for (int s = 0; s < k; s++) {
            long seed = SampleSeeds.derive(budget.seed(), s);
            int[] order = k == 1 ? Permutations.identity(n) : Permutations.shuffle(n, seed);
            int[] prompt = promptsByOrder.computeIfAbsent(Arrays.toString(order),
                    key -> tokenize(conversation, Permutations.present(request.responses(), order), request.principles()));
            if (prompt.length > limits.maxPromptTokens()) {
                throw ScoringException.invalid("conversation", "the GRM prompt is " + prompt.length + " tokens; the limit is "
                        + limits.maxPromptTokens() + " (shorten the conversation or the responses)");
            }
            if (prompt.length + budget.maxNewTokens() > maxModelLen) {
                throw ScoringException.invalid("budget.max_new_tokens", "the GRM prompt is " + prompt.length + " tokens and "
                        + budget.maxNewTokens() + " new tokens exceed the model's " + maxModelLen + " positions");
            }
            ScoreForcing controller = new ScoreForcing(vocabulary, grammar, parser, n);
            SamplingParams params = new SamplingParams(budget.temperature(), 0, 1f, seed, budget.maxNewTokens(), stopTokenIds);
            orders.add(order);
            controllers.add(controller);
            specs.add(new SequenceSpec(prompt, params, controller));
        }
        GenerationHandle handle;
        try {
            handle = engine.submit(new GenerationRequest(request.id(), specs, request.priority(), request.deadlineNanos()));
        } catch (QueueFullException e) {
            throw new ScoringException(ScoringException.Kind.RESOURCE_EXHAUSTED, e.getMessage(), e);
        } catch (IllegalStateException e) {
            throw new ScoringException(ScoringException.Kind.UNAVAILABLE, e.getMessage(), e);
        }
        CompletableFuture<ScoringResult> result = handle.result().thenApplyAsync(
                r -> assemble(request, budget, orders, specs, controllers, r), executor);
        return new Handle(result, () -> handle.abort("cancelled by the caller"));
    }

    private int[] tokenize(Conversation conversation, List<String> presented, List<String> principles) {
        String user = promptTemplate.render(conversation, presented, principles);
        String text = chatTemplate.render(List.of(Map.of("role", "user", "content", user)), true, Map.of("enable_thinking", false));
        return tokenizer.encode(text);
    }

    private ScoringResult assemble(ScoringRequest request, SampleBudget budget, List<int[]> orders, List<SequenceSpec> specs,
                                   List<ScoreForcing> controllers, GenerationResult generation) {
        int n = request.responses().size();
        List<ScoringResult.SampleResult> samples = new ArrayList<>(orders.size());
        List<int[]> counted = new ArrayList<>();
        long promptTokens = 0;
        long generatedTokens = 0;
        int numForced = 0;
        int numErrors = 0;
        String firstError = null;
        for (SequenceOutput out : generation.outputs()) {
            if (out.status() == SequenceStatus.FINISHED_ABORTED) {
                String why = out.error() == null ? "aborted" : out.error();
                throw new ScoringException(why.contains("deadline") ? ScoringException.Kind.DEADLINE_EXCEEDED
                        : ScoringException.Kind.CANCELLED, "request " + request.id() + ": " + why);
            }
            int i = out.index();
            promptTokens += specs.get(i).promptTokens().length - out.numForkedTokens();
            generatedTokens += out.tokenIds().length;
            boolean forced = controllers.get(i).forced();
            numForced += forced ? 1 : 0;
            String text;
            Judgment judgment;
            if (out.status() == SequenceStatus.FINISHED_ERROR) {
                numErrors++;
                if (firstError == null) firstError = out.error();
                text = "";
                judgment = Judgment.invalid("generation failed: " + out.error());
            } else {
                text = tokenizer.decode(out.tokenIds());
                judgment = parser.parse(text, n);
            }
            int[] scores = judgment.valid() ? Permutations.unpermute(judgment.scores(), orders.get(i)) : new int[0];
            if (judgment.valid()) counted.add(scores);
            samples.add(new ScoringResult.SampleResult(orders.get(i), text, scores, judgment.valid(),
                    judgment.valid() ? "" : judgment.invalidReason(), forced, 0f, judgment.valid(),
                    specs.get(i).params().seed(), out.tokenIds().length));
        }
        if (numErrors == samples.size()) {
            throw new ScoringException(ScoringException.Kind.INTERNAL, "request " + request.id() + ": every sample failed: " + firstError);
        }
        if (counted.isEmpty()) {
            throw new ScoringException(ScoringException.Kind.FAILED_PRECONDITION, "request " + request.id() + ": none of the "
                    + samples.size() + " samples produced a valid score block (first reason: " + samples.get(0).invalidReason()
                    + "); raise budget.max_new_tokens or check the prompt template");
        }
        Vote vote = Vote.tally(counted, n, SampleSeeds.tieBreak(budget.seed()));
        ScoringResult.Usage usage = new ScoringResult.Usage(promptTokens, generatedTokens, samples.size(), counted.size(), numForced,
                TimeUnit.NANOSECONDS.toMillis(generation.queueNanos()), TimeUnit.NANOSECONDS.toMillis(generation.computeNanos()));
        return new ScoringResult(request.id(), vote.rewards(), vote.meanScores(), vote.ranks(), vote.bestIndex(), samples, usage,
                budget.seed());
    }
}
