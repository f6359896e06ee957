package dev.principia.engine;

import java.util.concurrent.CompletableFuture;

/** A submitted request: its eventual result, and a way to stop it. */
public interface GenerationHandle {
    /**
     * Completes exactly once, on the engine thread, when every sequence finished (stopped, at its
     * length, aborted or failed); at the latest when {@link Engine#close()} returns. Never completes
     * exceptionally: failures are in the outputs ({@link SequenceOutput#outcome()}).
     * Attach heavy work with an {@code *Async} stage.
     */
    CompletableFuture<GenerationResult> result();

    /**
     * Aborts the request's unfinished sequences with {@code why} ({@code CANCELLED}, {@code DEADLINE},
     * {@code SHUTDOWN} or {@code FAILED}); their KV is freed within one engine step. Idempotent: the
     * first abort to reach the engine decides the outcome.
     *
     * @throws IllegalArgumentException for {@link Outcome#FINISHED}
     */
    void abort(Outcome why, String message);

    /** Aborts as {@link Outcome#CANCELLED}. */
    default void abort(String reason) {
        abort(Outcome.CANCELLED, reason);
    }
}
