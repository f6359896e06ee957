package dev.principia.grm;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A batched scalar model — a decoder with a one-logit sequence-classification head (a meta reward
 * model, or a Bradley-Terry reward model): one score per token sequence. Implementations batch
 * concurrent calls and complete off the caller's thread.
 */
public interface ScalarModel {
    /**
     * One score per sequence, in order. Completes exceptionally with {@link ScoringException} on failure
     * (DEADLINE_EXCEEDED when {@code deadlineNanos} passes first). Cancelling the returned future drops
     * work not yet run.
     *
     * @param deadlineNanos {@link System#nanoTime()} by which the scores are due; {@link Long#MAX_VALUE} = none
     */
    CompletableFuture<float[]> score(List<int[]> sequences, long deadlineNanos);

    /** Longest sequence the model accepts, in tokens. */
    int maxTokens();
}
