package dev.principia.engine;

/** {@link Engine#submit} refused a request because the waiting queue is full; retry after a pause. */
public class QueueFullException extends RuntimeException {
    private final long retryAfterMillis;

    public QueueFullException(String message, long retryAfterMillis) {
        super(message);
        this.retryAfterMillis = retryAfterMillis;
    }

    /** A hint for the caller's backoff, from the current step rate. */
    public long retryAfterMillis() {
        return retryAfterMillis;
    }
}
