package dev.principia.grm;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import dev.principia.engine.ClassifierEngine;
import dev.principia.engine.EngineAbortedException;
import dev.principia.engine.QueueFullException;

/**
 * A batched scalar model — a decoder with a one-logit sequence-classification head (a meta reward
 * model, or a Bradley-Terry reward model): one score per token sequence. Implementations batch
 * concurrent calls and complete off the caller's thread.
 */
public interface SequenceClassifier {
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

    /** A classifier engine as the GRM layer sees it; its failures become scoring outcomes in {@link #toScoring}. */
    static SequenceClassifier of(ClassifierEngine engine) {
        return new SequenceClassifier() {
            @Override
            public CompletableFuture<float[]> score(List<int[]> sequences, long deadlineNanos) {
                ClassifierEngine.Submission submission;
                try {
                    submission = engine.submit(sequences, deadlineNanos);
                } catch (RuntimeException e) {
                    return CompletableFuture.failedFuture(toScoring(e));
                }
                CompletableFuture<float[]> out = new CompletableFuture<>() {
                    @Override
                    public boolean cancel(boolean mayInterruptIfRunning) {
                        submission.abort("cancelled by the caller");
                        return super.cancel(mayInterruptIfRunning);
                    }
                };
                submission.whenComplete((rows, t) -> {
                    if (t != null) {
                        out.completeExceptionally(toScoring(t));
                        return;
                    }
                    float[] scores = new float[rows.length];
                    for (int i = 0; i < rows.length; i++) scores[i] = rows[i][0];
                    out.complete(scores);
                });
                return out;
            }

            @Override
            public int maxTokens() {
                return engine.maxPositions();
            }
        };
    }

    /** The one place where the scalar engine's failures become scoring outcomes. */
    private static ScoringException toScoring(Throwable t) {
        Throwable e = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        if (e instanceof ScoringException se) return se;
        if (e instanceof QueueFullException) return new ScoringException(ScoringException.Kind.RESOURCE_EXHAUSTED, e.getMessage(), e);
        if (e instanceof IllegalArgumentException) return new ScoringException(ScoringException.Kind.INVALID_ARGUMENT, e.getMessage(), e);
        if (e instanceof EngineAbortedException a) {
            ScoringException.Kind kind = switch (a.outcome()) {
                case SHUTDOWN -> ScoringException.Kind.UNAVAILABLE;
                case DEADLINE -> ScoringException.Kind.DEADLINE_EXCEEDED;
                case CANCELLED -> ScoringException.Kind.CANCELLED;
                case FAILED, FINISHED -> ScoringException.Kind.INTERNAL;
            };
            return new ScoringException(kind, "scalar model: " + e.getMessage(), e);
        }
        if (e instanceof IllegalStateException) return new ScoringException(ScoringException.Kind.UNAVAILABLE, e.getMessage(), e);
        return new ScoringException(ScoringException.Kind.INTERNAL, "scalar model failed: " + e, e);
    }
}
