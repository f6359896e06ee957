package dev.principia.server;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import dev.principia.engine.EngineAbortedException;
import dev.principia.engine.QueueFullException;
import dev.principia.engine.ScalarEngine;
import dev.principia.grm.ScalarModel;
import dev.principia.grm.ScoringException;

/** Adapts a {@link ScalarEngine} (one-logit classifier) to the GRM layer's {@link ScalarModel}. */
final class ScalarModels {
    private ScalarModels() {
    }

    static ScalarModel of(ScalarEngine engine) {
        return new ScalarModel() {
            @Override
            public CompletableFuture<float[]> score(List<int[]> sequences, long deadlineNanos) {
                ScalarEngine.Submission submission;
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
    static ScoringException toScoring(Throwable t) {
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
