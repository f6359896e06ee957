package dev.principia.engine;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A pending-request place taken by {@link Engine#reserve()} before the caller does expensive work
 * (rendering, tokenizing), so a full engine refuses before that work, not after it. Consumed by
 * {@link Engine#submit(GenerationRequest, Reservation)}; {@link #close()} gives an unused place back.
 * Use it in try-with-resources: closing after a successful submit is a no-op. Thread-safe.
 */
public final class Reservation implements AutoCloseable {
    final Engine engine;
    private final AtomicInteger places;
    private final AtomicBoolean open = new AtomicBoolean(true);

    Reservation(Engine engine, AtomicInteger places) {
        this.engine = engine;
        this.places = places;
    }

    /** Takes the place for a submitted request (it is then given back when the request completes). */
    boolean consume() {
        return open.compareAndSet(true, false);
    }

    /** Whether the place is still held and unused. */
    public boolean isOpen() {
        return open.get();
    }

    /** Gives the place back unless a submit consumed it. Idempotent. */
    @Override
    public void close() {
        if (open.compareAndSet(true, false)) places.decrementAndGet();
    }
}
