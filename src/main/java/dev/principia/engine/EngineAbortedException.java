package dev.principia.engine;

/**
 * Completes a future that an engine could not fulfil; {@link #outcome()} says why (never
 * {@link Outcome#FINISHED}), the message says it in words, and a backend failure is the cause.
 */
public final class EngineAbortedException extends RuntimeException {
    private final Outcome outcome;

    public EngineAbortedException(Outcome outcome, String message, Throwable cause) {
        super(message, cause);
        if (outcome == null || outcome == Outcome.FINISHED) throw new IllegalArgumentException("not an abort outcome: " + outcome);
        this.outcome = outcome;
    }

    public EngineAbortedException(Outcome outcome, String message) {
        this(outcome, message, null);
    }

    public Outcome outcome() {
        return outcome;
    }
}
