package dev.principia.budget;

/**
 * What the budget policy needs to know of a request besides its budget.
 *
 * @param numResponses      n, at least 1 (adaptive voting needs two or more)
 * @param minNewTokens      fewest new tokens a sample needs (room for the score block); a smaller explicit
 *                          {@code max_new_tokens} is refused
 * @param priority          the request's priority, already validated
 * @param arrivalNanos      {@link System#nanoTime()} when the request arrived; {@code deadline_ms} counts from here
 * @param callDeadlineNanos the transport's deadline as a {@link System#nanoTime()} instant; {@link Long#MAX_VALUE} = none
 */
public record BudgetContext(int numResponses, int minNewTokens, int priority, long arrivalNanos, long callDeadlineNanos) {
    public BudgetContext {
        if (numResponses < 1) throw new IllegalArgumentException("numResponses must be >= 1, got " + numResponses);
        if (minNewTokens < 1) throw new IllegalArgumentException("minNewTokens must be >= 1, got " + minNewTokens);
    }
}
