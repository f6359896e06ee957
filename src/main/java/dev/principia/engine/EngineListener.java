package dev.principia.engine;

/** Observes engine steps (metrics binding). Called on the engine thread; must be cheap and not throw. */
public interface EngineListener {
    /**
     * @param numSequences  sequences in the step's batch
     * @param numTokens     tokens fed in the step
     * @param stepNanos     whole step: schedule, backend, update
     * @param executeNanos  time inside {@code Backend.execute}
     */
    void onStep(int numSequences, int numTokens, long stepNanos, long executeNanos);

    EngineListener NONE = (numSequences, numTokens, stepNanos, executeNanos) -> {
    };
}
