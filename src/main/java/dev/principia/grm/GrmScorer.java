package dev.principia.grm;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;

import dev.principia.budget.Allocation;
import dev.principia.budget.BudgetPolicy;
import dev.principia.budget.InvalidBudgetException;
import dev.principia.budget.LoadPolicy;
import dev.principia.budget.SampleBudget;
import dev.principia.engine.Engine;
import dev.principia.model.ChatTemplate;
import dev.principia.model.Tokenizer;

/**
 * Scores responses with a generative reward model. Validates a request, resolves its budget (caps,
 * defaults, load-aware degradation) and runs it as a {@link ScoringJob}: k permuted samples through
 * the engine, parsing of each sample's last {@code \boxed{}}, optional meta-RM filtering, and the
 * vote. Thread-safe; one instance per loaded GRM.
 */
public final class GrmScorer {

    /** What {@link #score} hands back: the eventual result, and a way to cancel it. */
    public record Handle(CompletableFuture<ScoringResult> result, Runnable cancel) {
    }

    /**
     * The parts a scorer is built from.
     *
     * @param tokenTexts          each vocabulary id's text ({@link Tokenizer#tokenTexts}) for the score grammar
     * @param stopTokenIds        end-of-turn / end-of-sequence ids of the model
     * @param principlesTemplate  the prompt used when the caller supplies principles
     * @param metaRm              null when no meta reward model is loaded
     * @param scalarRm            serves {@code mode = SCALAR}; null when no scalar reward model is loaded
     * @param executor            runs parsing and voting off the engine thread
     * @param timer               fires anytime-scoring deadlines
     */
    public record Parts(Engine engine, Tokenizer tokenizer, ChatTemplate chatTemplate, PromptTemplate promptTemplate,
                        PromptTemplate principlesTemplate, String[] tokenTexts, int[] stopTokenIds, BudgetPolicy policy,
                        LoadPolicy loadPolicy, ScoringLimits limits, MetaRm metaRm, ScalarRewardScorer scalarRm,
                        Executor executor, ScheduledExecutorService timer) {
    }

    private final Parts parts;
    private final JudgmentParser parser = JudgmentParser.defaults();
    private final ScoreForcing.Vocabulary vocabulary;

    public GrmScorer(Parts parts) {
        this.parts = parts;
        this.vocabulary = ScoreForcing.Vocabulary.of(parts.tokenizer().encode(new ScoreGrammar(1, 1, 10).prefix()), parts.tokenTexts());
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
        request.validate(parts.limits());
        Conversation conversation;
        try {
            conversation = new Conversation(request.conversation());
        } catch (IllegalArgumentException e) {
            throw ScoringException.invalid("conversation", e.getMessage());
        }
        if (request.mode() == ScoringRequest.Mode.SCALAR) {
            if (parts.scalarRm() == null) {
                throw ScoringException.invalid("mode", "no scalar reward model is loaded on this server (principia.meta-rm.dir)");
            }
            CompletableFuture<ScoringResult> scalar = parts.scalarRm().score(request, conversation);
            return new Handle(scalar, () -> scalar.cancel(false));
        }
        int n = request.responses().size();
        SampleBudget budget;
        try {
            budget = parts.policy().resolve(request.budget(), minNewTokens(n));
        } catch (InvalidBudgetException e) {
            throw new ScoringException(ScoringException.Kind.INVALID_ARGUMENT, e.getMessage());
        }
        if (request.budget().metaKeep() > 0 && parts.metaRm() == null) {
            throw ScoringException.invalid("budget.meta_keep", "no meta reward model is loaded on this server (principia.meta-rm.dir)");
        }
        Allocation allocation = parts.loadPolicy().allocate(budget, request.budget().minSamples(), request.priority(),
                parts.engine().estimatedWaitMillis(), parts.engine().numPendingSamples());
        int k = allocation.samples();
        boolean adaptive = request.budget().adaptive() && metaKeep(request, k) >= k;
        ScoringJob job = new ScoringJob(this, request, conversation, budget, allocation, adaptive);
        job.start();
        return new Handle(job.result(), job::cancel);
    }

    /**
     * k_meta for a request of k samples: k (no filtering) without a meta-RM, else the request's (capped at
     * k) or ceil(k/2). Filtering happens only when k_meta < k.
     */
    int metaKeep(ScoringRequest request, int k) {
        if (parts.metaRm() == null) return k;
        int asked = request.budget().metaKeep();
        return asked > 0 ? Math.min(asked, k) : MetaFilter.defaultKeep(k);
    }

    /**
     * How long before a deadline anytime scoring switches samples to forcing: time for the forced
     * block ({@code reserveTokens} steps at the recent step time, twice over) plus 20 ms.
     */
    long anytimeMarginNanos(int reserveTokens) {
        return 2L * (reserveTokens + 2) * Math.max(1_000_000L, parts.engine().lastStepNanos()) + 20_000_000L;
    }

    int[] tokenize(PromptTemplate template, Conversation conversation, List<String> presented, List<String> principles) {
        String user = template.render(conversation, presented, principles);
        return dev.principia.model.ChatEncoder.of(parts.tokenizer(), parts.chatTemplate())
                .encode(List.of(Map.of("role", "user", "content", user)), true, Map.of("enable_thinking", false));
    }

    Engine engine() {
        return parts.engine();
    }

    Tokenizer tokenizer() {
        return parts.tokenizer();
    }

    JudgmentParser parser() {
        return parser;
    }

    ScoreForcing.Vocabulary vocabulary() {
        return vocabulary;
    }

    PromptTemplate promptTemplate() {
        return parts.promptTemplate();
    }

    PromptTemplate principlesTemplate() {
        return parts.principlesTemplate();
    }

    ScoringLimits limits() {
        return parts.limits();
    }

    int[] stopTokenIds() {
        return parts.stopTokenIds();
    }

    MetaRm metaRm() {
        return parts.metaRm();
    }

    Executor executor() {
        return parts.executor();
    }

    ScheduledExecutorService timer() {
        return parts.timer();
    }
}
