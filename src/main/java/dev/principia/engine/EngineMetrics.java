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
    final LongAdder rejectedRequests = new LongAdder();

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

    public long abortedRequests() {
        return abortedRequests.sum();
    }

    public long failedSteps() {
        return failedSteps.sum();
    }

    public long rejectedRequests() {
        return rejectedRequests.sum();
    }
}
