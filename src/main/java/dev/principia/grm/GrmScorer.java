package dev.principia.grm;

import java.util.concurrent.CompletableFuture;

import dev.principia.budget.BudgetContext;
import dev.principia.budget.BudgetPolicy;
import dev.principia.budget.InvalidBudgetException;
import dev.principia.budget.LoadSnapshot;
import dev.principia.budget.ResolvedBudget;
import dev.principia.engine.QueueFullException;

/**
 * Scores responses with a generative reward model: validates a request, resolves its budget once
 * ({@link BudgetPolicy}), plans its samples ({@link SamplePlan}) and runs them ({@link WaveRunner});
 * {@link Tally} turns what they wrote into the answer. {@code mode = SCALAR} goes to the scalar reward
 * model instead. Thread-safe; one instance per loaded GRM.
 */
public final class GrmScorer {

    /** What {@link #score} hands back: the eventual result, and a way to cancel it. */
    public record Handle(CompletableFuture<ScoringResult> result, Runnable cancel) {
    }

    private final ScoringContext context;
    private final BudgetPolicy policy;
    private final ScalarModeScorer scalarRm;

    /**
     * @param policy   its {@code metaRmLoaded} must say whether {@code context.metaRm()} is set
     * @param scalarRm serves {@code mode = SCALAR}; null when no scalar reward model is loaded
     */
    public GrmScorer(ScoringContext context, BudgetPolicy policy, ScalarModeScorer scalarRm) {
        if (policy.metaRmLoaded() != (context.metaRm() != null)) {
            throw new IllegalArgumentException("the budget policy's metaRmLoaded must match whether a meta-RM is loaded");
        }
        this.context = context;
        this.policy = policy;
        this.scalarRm = scalarRm;
    }

    /** Fewest new tokens a sample over {@code numResponses} responses needs: room for the forced score block. */
    public int minNewTokens(int numResponses) {
        return context.minNewTokens(numResponses);
    }

    /**
     * Validates, plans and submits a request. Never blocks on the model.
     *
     * @throws ScoringException INVALID_ARGUMENT for bad input, RESOURCE_EXHAUSTED when the engine queue is full,
     *                          UNAVAILABLE when it is shut down
     */
    public Handle score(ScoringRequest request) {
        request.validate(context.limits());
        Conversation conversation;
        try {
            conversation = new Conversation(request.conversation());
        } catch (IllegalArgumentException e) {
            throw ScoringException.invalid("conversation", e.getMessage());
        }
        int n = request.responses().size();
        if (request.mode() == ScoringRequest.Mode.SCALAR) {
            ResolvedBudget budget = resolve(request, 1, LoadSnapshot.IDLE);
            if (scalarRm == null) {
                throw ScoringException.invalid("mode", "no scalar reward model is loaded on this server (principia.scalar-rm.dir)");
            }
            return scalarRm.score(request, conversation, budget.seed());
        }
        ResolvedBudget budget = resolve(request, minNewTokens(n), context.generator().load());
        PromptTemplate template = request.principles().isEmpty() ? context.promptTemplate() : context.principlesTemplate();
        try (Generator.Admission admission = admit()) {
            SamplePlan plan;
            try {
                plan = SamplePlan.create(request, conversation, budget, template, context.codec(), context.limits().maxPromptTokens(),
                        context.generator().maxModelLen());
            } catch (IllegalArgumentException e) {
                throw ScoringException.invalid("conversation", "the model's chat template cannot render this request: " + e.getMessage());
            }
            WaveRunner runner = new WaveRunner(context, request, conversation, budget, plan);
            runner.start(admission);
            return new Handle(runner.result(), runner::cancel);
        }
    }

    /** A place in the engine's queue before the expensive part (rendering and tokenizing k prompts). */
    private Generator.Admission admit() {
        try {
            return context.generator().admit();
        } catch (QueueFullException e) {
            throw new ScoringException(ScoringException.Kind.RESOURCE_EXHAUSTED, e.getMessage(), e);
        } catch (IllegalStateException e) {
            throw new ScoringException(ScoringException.Kind.UNAVAILABLE, e.getMessage(), e);
        }
    }

    private ResolvedBudget resolve(ScoringRequest request, int minNewTokens, LoadSnapshot load) {
        try {
            return policy.resolve(request.budget(), new BudgetContext(request.responses().size(), minNewTokens, request.priority(),
                    request.arrivalNanos(), request.callDeadlineNanos()), load);
        } catch (InvalidBudgetException e) {
            throw new ScoringException(ScoringException.Kind.INVALID_ARGUMENT, e.getMessage());
        }
    }
}
