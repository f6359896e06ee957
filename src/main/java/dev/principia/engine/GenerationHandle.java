package dev.principia.engine;

import java.util.concurrent.CompletableFuture;

/** A submitted request: its eventual result, and a way to stop it. */
public interface GenerationHandle {
    /**
     * Completes exactly once, on the engine thread, when every sequence finished (stopped, at its
     * length, aborted or failed). Never completes exceptionally: failures are in the outputs.
     * Attach heavy work with an {@code *Async} stage.
     */
    CompletableFuture<GenerationResult> result();

    /** Aborts the request's unfinished sequences; their KV is freed within one engine step. Idempotent. */
    void abort(String reason);
}
