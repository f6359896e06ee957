package dev.principia.grm;

import java.util.List;

import dev.principia.budget.BudgetPolicy;
import dev.principia.budget.RequestedBudget;

/**
 * One request to score responses to a conversation's last user turn.
 *
 * @param priority          higher is served first and degraded last; {@link BudgetPolicy#MIN_PRIORITY}..{@link BudgetPolicy#MAX_PRIORITY}
 * @param arrivalNanos      {@link System#nanoTime()} when the request arrived; {@code budget.deadline_ms} counts from here
 * @param callDeadlineNanos the transport's deadline as a {@link System#nanoTime()} instant; {@link Long#MAX_VALUE} = none
 */
public record ScoringRequest(String id, List<Turn> conversation, List<String> responses, List<String> principles,
                             RequestedBudget budget, boolean returnSamples, int priority, long arrivalNanos, long callDeadlineNanos,
                             Mode mode) {

    /** How responses are scored. */
    public enum Mode {
        /** GRM samples with principles, critique and scores, voted. */
        GENERATIVE,
        /** One pass of a scalar (sequence-classification) reward model per response. */
        SCALAR
    }

    public ScoringRequest {
        mode = mode == null ? Mode.GENERATIVE : mode;
        id = id == null ? "" : id;
        conversation = conversation == null ? List.of() : List.copyOf(conversation);
        responses = responses == null ? List.of() : List.copyOf(responses);
        principles = principles == null ? List.of() : List.copyOf(principles);
        budget = budget == null ? RequestedBudget.defaults() : budget;
    }

    /**
     * Checks sizes and shapes against the limits.
     *
     * @throws ScoringException of kind INVALID_ARGUMENT naming the offending field
     */
    public void validate(ScoringLimits limits) {
        if (conversation.isEmpty()) {
            throw ScoringException.invalid("conversation", "must hold at least one turn with role \"user\"");
        }
        if (conversation.size() > limits.maxConversationTurns()) {
            throw ScoringException.invalid("conversation", conversation.size() + " turns exceed the limit of " + limits.maxConversationTurns());
        }
        boolean hasUser = false;
        for (int i = 0; i < conversation.size(); i++) {
            Turn t = conversation.get(i);
            String role = t.role();
            if (!("user".equals(role) || "assistant".equals(role) || "system".equals(role))) {
                throw ScoringException.invalid("conversation[" + i + "].role", "must be \"system\", \"user\" or \"assistant\", got \"" + role + "\"");
            }
            checkLength("conversation[" + i + "].content", t.content(), limits);
            hasUser |= "user".equals(role);
        }
        if (!hasUser) throw ScoringException.invalid("conversation", "has no turn with role \"user\" (the last user turn is the query)");
        if (responses.isEmpty()) throw ScoringException.invalid("responses", "must hold at least one response");
        if (responses.size() > limits.maxResponses()) {
            throw ScoringException.invalid("responses", responses.size() + " responses exceed the limit of " + limits.maxResponses());
        }
        for (int i = 0; i < responses.size(); i++) checkLength("responses[" + i + "]", responses.get(i), limits);
        if (principles.size() > limits.maxPrinciples()) {
            throw ScoringException.invalid("principles", principles.size() + " principles exceed the limit of " + limits.maxPrinciples());
        }
        for (int i = 0; i < principles.size(); i++) checkLength("principles[" + i + "]", principles.get(i), limits);
        if (id.length() > 256) throw ScoringException.invalid("id", "is " + id.length() + " characters; the limit is 256");
        if (priority < BudgetPolicy.MIN_PRIORITY || priority > BudgetPolicy.MAX_PRIORITY) {
            throw ScoringException.invalid("priority", "must be in " + BudgetPolicy.MIN_PRIORITY + ".." + BudgetPolicy.MAX_PRIORITY
                    + " (higher is served first), got " + priority);
        }
    }

    private static void checkLength(String field, String value, ScoringLimits limits) {
        if (value == null) throw ScoringException.invalid(field, "must be set");
        if (value.length() > limits.maxStringChars()) {
            throw ScoringException.invalid(field, "is " + value.length() + " characters; the limit is " + limits.maxStringChars());
        }
    }
}
