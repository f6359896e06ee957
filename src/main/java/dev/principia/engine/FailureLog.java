package dev.principia.engine;

import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Logs backend failures without flooding the log. A broken backend fails every step, and since a failed step's
 * sequences are recomputed one by one ({@link Scheduler#failStep}), one bad batch of 64 samples is 65 failures: the
 * first failure of a window is logged with its stack trace, later ones in the same window are only counted, and the
 * next logged failure says how many were left out. Every failure is still counted in the engine's metrics.
 */
final class FailureLog {
    static final long DEFAULT_WINDOW_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final Logger log;
    private final long windowNanos;
    private final LongSupplier clock;
    private boolean logged;
    private long windowStart;
    private long suppressed;

    FailureLog(Logger log, long windowNanos, LongSupplier clock) {
        if (windowNanos < 0) throw new IllegalArgumentException("window must be >= 0, got " + windowNanos);
        this.log = log;
        this.windowNanos = windowNanos;
        this.clock = clock;
    }

    FailureLog(Logger log) {
        this(log, DEFAULT_WINDOW_NANOS, System::nanoTime);
    }

    /** Logs {@code message} with {@code error} at WARNING, unless a failure was already logged in this window. */
    synchronized void failed(String message, Throwable error) {
        long now = clock.getAsLong();
        if (logged && now - windowStart < windowNanos) {
            suppressed++;
            return;
        }
        String text = suppressed == 0 ? message
                : message + " (" + suppressed + " more failure" + (suppressed == 1 ? "" : "s") + " since the last one logged, "
                        + TimeUnit.NANOSECONDS.toSeconds(now - windowStart) + " s ago, were counted but not logged)";
        log.log(Level.WARNING, text, error);
        logged = true;
        windowStart = now;
        suppressed = 0;
    }

    /** Failures counted but not logged since the last one logged. */
    synchronized long suppressed() {
        return suppressed;
    }
}
