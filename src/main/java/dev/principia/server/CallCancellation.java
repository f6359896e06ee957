package dev.principia.server;

import java.util.ArrayList;
import java.util.List;

import dev.principia.grm.GrmScorer;

/**
 * Ties the scoring handles of one gRPC call to the call's cancellation: a client cancel or an expired
 * deadline aborts every handle attached so far, and any attached later at once. Thread-safe.
 */
final class CallCancellation {
    private final List<GrmScorer.Handle> handles = new ArrayList<>();
    private boolean cancelled;

    /** Attaches one item's handle; cancels it at once when the call is already cancelled. */
    void attach(GrmScorer.Handle handle) {
        synchronized (this) {
            if (!cancelled) {
                handles.add(handle);
                handle.result().whenComplete((r, t) -> detach(handle));
                return;
            }
        }
        handle.cancel().run();
    }

    private synchronized void detach(GrmScorer.Handle handle) {
        handles.remove(handle);
    }

    void cancel() {
        List<GrmScorer.Handle> toCancel;
        synchronized (this) {
            if (cancelled) return;
            cancelled = true;
            toCancel = new ArrayList<>(handles);
            handles.clear();
        }
        for (GrmScorer.Handle h : toCancel) h.cancel().run();
    }

    synchronized boolean isCancelled() {
        return cancelled;
    }
}
