package dev.principia.engine;

import java.util.concurrent.atomic.LongAdder;

/**
 * Engine counters, written by the engine thread and readable from any thread. Gauges (running,
 * waiting, KV use) are read from {@link Engine}; per-step timings go to an {@link EngineListener}.
 */
public final class EngineMetrics {
    final LongAdder promptTokensComputed = new LongAdder();
    final LongAdder forkedTokens = new LongAdder();
    final LongAdder generatedTokens = new LongAdder();
    final LongAdder steps = new LongAdder();
    final LongAdder preemptions = new LongAdder();
    final LongAdder abortedRequests = new LongAdder();
    final LongAdder failedSteps = new LongAdder();
    final LongAdder retriedSequences = new LongAdder();
    final LongAdder rejectedRequests = new LongAdder();
    final LongAdder loopErrors = new LongAdder();

    /** Prompt positions run through the model (forked positions excluded). */
    public long promptTokensComputed() {
        return promptTokensComputed.sum();
    }

    /** Prompt positions copied from another sequence's KV instead of computed. */
    public long forkedTokens() {
        return forkedTokens.sum();
    }

    public long generatedTokens() {
        return generatedTokens.sum();
    }

    public long steps() {
        return steps.sum();
    }

    public long preemptions() {
        return preemptions.sum();
    }

    /** Requests cancelled, past their deadline or cut by shutdown (failed ones are not counted here). */
    public long abortedRequests() {
        return abortedRequests.sum();
    }

    /** Steps that failed in any way: a backend error (execute or KV copy) or a loop error during the step. */
    public long failedSteps() {
        return failedSteps.sum();
    }

    /** Sequences of failed steps sent back to be recomputed alone (each time they failed in a batch). */
    public long retriedSequences() {
        return retriedSequences.sum();
    }

    public long rejectedRequests() {
        return rejectedRequests.sum();
    }

    /** Errors of the engine loop itself (not the backend's); each failed every request then in the engine. */
    public long loopErrors() {
        return loopErrors.sum();
    }
}
