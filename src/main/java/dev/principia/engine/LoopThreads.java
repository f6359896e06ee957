package dev.principia.engine;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.TimeUnit;

/** Starting and stopping the engines' loop threads; stopping waits for them, however long it takes. */
final class LoopThreads {
    private LoopThreads() {
    }

    static Thread start(String name, Runnable loop) {
        Thread thread = new Thread(loop, name);
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    /** A pool of daemon threads named after {@code name}, one per core; null on one core. */
    static ForkJoinPool pool(String name) {
        int cores = Runtime.getRuntime().availableProcessors();
        return cores > 1 ? new ForkJoinPool(cores, p -> {
            ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            t.setName(name + "-" + t.getPoolIndex());
            t.setDaemon(true);
            return t;
        }, null, false) : null;
    }

    /**
     * Returns once {@code thread} ended; an interrupt does not cut the wait short (it is kept for the
     * caller). Called on {@code thread} itself, returns at once: a thread cannot wait for its own end.
     */
    static void join(Thread thread) {
        if (Thread.currentThread() == thread) return;
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    /** Stops a pool and returns once its running tasks ended; null is a no-op. */
    static void shutDown(ForkJoinPool pool) {
        if (pool == null) return;
        pool.shutdownNow();
        boolean interrupted = false;
        while (!pool.isTerminated()) {
            try {
                pool.awaitTermination(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }
}
