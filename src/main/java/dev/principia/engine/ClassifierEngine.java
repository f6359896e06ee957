package dev.principia.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.logging.Level;
import java.util.logging.Logger;

import dev.principia.backend.ClassifierBackend;

/**
 * Batches prefill-only scoring for a {@link ClassifierBackend} (the meta-RM and scalar reward models):
 * concurrent calls queue up, and each step scores as many whole calls as fit in
 * {@code maxBatchTokens} (at least one), so many small requests share one backend call. A backend
 * failure fails only the calls of that step. One loop thread per model; it survives any
 * {@link Throwable} of a step (the step's calls fail with {@link Outcome#FAILED}).
 *
 * <p>Every accepted call's future completes exactly once: with the logits, or exceptionally with an
 * {@link EngineAbortedException} carrying {@code DEADLINE}, {@code CANCELLED} ({@link Submission#abort}),
 * {@code SHUTDOWN} or {@code FAILED}, or with a {@link java.util.concurrent.CancellationException}
 * when its caller cancelled it. Calls that end before their step was run never reach the backend.
 */
public final class ClassifierEngine implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ClassifierEngine.class.getName());

    /** A queued scoring call: one logit row per sequence. Cancelling it drops its work if not yet run. */
    public static final class Submission extends CompletableFuture<float[][]> {
        /** Ends the call as {@link Outcome#CANCELLED}; returns false when it had already completed. */
        public boolean abort(String reason) {
            return completeExceptionally(new EngineAbortedException(Outcome.CANCELLED, reason));
        }
    }

    private static final class Job {
        final List<int[]> sequences;
        final int numTokens;
        final long deadlineNanos;
        final Submission future = new Submission();

        Job(List<int[]> sequences, int numTokens, long deadlineNanos) {
            this.sequences = sequences;
            this.numTokens = numTokens;
            this.deadlineNanos = deadlineNanos;
        }

        boolean expired(long now) {
            return deadlineNanos != Long.MAX_VALUE && now - deadlineNanos >= 0;
        }
    }

    private final String name;
    private final ClassifierBackend backend;
    private final int maxBatchTokens;
    private final int maxPending;
    private final LinkedBlockingQueue<Job> queue = new LinkedBlockingQueue<>();
    /** Accepted calls whose future has not completed. */
    private final AtomicInteger numPending = new AtomicInteger();
    private final Object lifecycle = new Object();
    private final Thread thread;
    private final LongAdder sequencesScored = new LongAdder();
    private final LongAdder tokensScored = new LongAdder();
    private final LongAdder steps = new LongAdder();
    private final LongAdder failedSteps = new LongAdder();
    private final FailureLog failures = new FailureLog(LOG);
    private final LongAdder loopErrors = new LongAdder();
    private volatile boolean stopping;

    public ClassifierEngine(String name, ClassifierBackend backend, int maxBatchTokens, int maxPending) {
        if (maxBatchTokens < 1 || maxPending < 1) throw new IllegalArgumentException("maxBatchTokens and maxPending must be >= 1");
        this.name = name;
        this.backend = backend;
        this.maxBatchTokens = maxBatchTokens;
        this.maxPending = maxPending;
        this.thread = LoopThreads.start("scalar-engine-" + name, this::loop);
    }

    /** {@link #submit(List, long)} without a deadline. */
    public Submission submit(List<int[]> sequences) {
        return submit(sequences, Long.MAX_VALUE);
    }

    /**
     * Queues sequences for scoring; the future completes on the engine thread with one logit row per
     * sequence, or exceptionally as the class comment says.
     *
     * @param deadlineNanos {@link System#nanoTime()} after which the call is dropped with
     *                      {@link Outcome#DEADLINE} if its step has not run; {@link Long#MAX_VALUE} = none
     * @throws QueueFullException       when {@code maxPending} calls are already pending
     * @throws IllegalArgumentException when a sequence is empty or longer than the model accepts
     * @throws IllegalStateException    after {@link #close()}
     */
    public Submission submit(List<int[]> sequences, long deadlineNanos) {
        int tokens = 0;
        for (int[] s : sequences) {
            if (s.length == 0) throw new IllegalArgumentException("empty sequence");
            if (s.length > backend.maxPositions()) {
                throw new IllegalArgumentException("sequence of " + s.length + " tokens exceeds the model's " + backend.maxPositions());
            }
            tokens += s.length;
        }
        Job job = new Job(List.copyOf(sequences), tokens, deadlineNanos);
        synchronized (lifecycle) {
            if (stopping) throw new IllegalStateException("scalar engine " + name + " is shut down");
            if (sequences.isEmpty()) {
                job.future.complete(new float[0][]);
                return job.future;
            }
            if (numPending.get() >= maxPending) {
                throw new QueueFullException("scalar engine " + name + " has " + maxPending + " calls pending; retry shortly", 50);
            }
            numPending.incrementAndGet();
            queue.add(job);
        }
        job.future.whenComplete((r, t) -> {
            numPending.decrementAndGet();
            if (t != null) queue.remove(job); // cancelled, aborted or expired before its step: drop the work
        });
        if (job.expired(System.nanoTime())) expire(job);
        return job.future;
    }

    public int maxPositions() {
        return backend.maxPositions();
    }

    /** Calls accepted and not yet completed (queued or in the running step). */
    public int numPendingRequests() {
        return numPending.get();
    }

    public long sequencesScored() {
        return sequencesScored.sum();
    }

    public long steps() {
        return steps.sum();
    }

    /** Steps whose backend call threw (exception or error); their calls failed with {@link Outcome#FAILED}. */
    public long failedSteps() {
        return failedSteps.sum();
    }

    /** Errors of the loop itself, outside the backend call; the calls in hand failed with {@link Outcome#FAILED}. */
    public long loopErrors() {
        return loopErrors.sum();
    }

    private void loop() {
        try {
            while (!stopping) {
                List<Job> batch = new ArrayList<>();
                try {
                    Job first = queue.poll(50, TimeUnit.MILLISECONDS);
                    long now = System.nanoTime();
                    for (Job j : queue) {
                        if (j.expired(now)) expire(j);
                    }
                    if (first == null || first.future.isDone()) continue;
                    if (first.expired(now)) {
                        expire(first);
                        continue;
                    }
                    batch.add(first);
                    int tokens = first.numTokens;
                    for (Job next; (next = queue.peek()) != null; ) {
                        if (!next.future.isDone() && tokens + next.numTokens > maxBatchTokens) break;
                        if (!queue.remove(next) || next.future.isDone()) continue; // ended meanwhile
                        batch.add(next);
                        tokens += next.numTokens;
                    }
                    run(batch, tokens);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                } catch (RuntimeException | Error e) {
                    loopErrors.increment();
                    LOG.log(Level.SEVERE, "scalar engine " + name + " loop error; failing " + batch.size() + " calls", e);
                    for (Job j : batch) j.future.completeExceptionally(new EngineAbortedException(Outcome.FAILED, "internal scalar engine error: " + e, e));
                }
            }
        } finally {
            synchronized (lifecycle) {
                stopping = true;
            }
            for (Job j; (j = queue.poll()) != null; ) {
                j.future.completeExceptionally(new EngineAbortedException(Outcome.SHUTDOWN, Engine.ABORTED_SHUTDOWN));
            }
        }
    }

    private static void expire(Job job) {
        job.future.completeExceptionally(new EngineAbortedException(Outcome.DEADLINE, "deadline exceeded before the scalar model ran"));
    }

    private void run(List<Job> batch, int tokens) {
        List<int[]> all = new ArrayList<>();
        for (Job j : batch) all.addAll(j.sequences);
        float[][] logits;
        try {
            logits = backend.logits(all);
            if (logits == null || logits.length != all.size()) {
                throw new IllegalStateException("backend returned " + (logits == null ? "no logits" : logits.length + " rows")
                        + " for " + all.size() + " sequences");
            }
        } catch (RuntimeException | Error e) {
            failedSteps.increment();
            failures.failed("scalar engine " + name + ": backend step of " + all.size() + " sequences failed", e);
            for (Job j : batch) j.future.completeExceptionally(new EngineAbortedException(Outcome.FAILED, "backend failed: " + e.getMessage(), e));
            return;
        }
        steps.increment();
        sequencesScored.add(all.size());
        tokensScored.add(tokens);
        int at = 0;
        for (Job j : batch) {
            float[][] mine = new float[j.sequences.size()][];
            System.arraycopy(logits, at, mine, 0, mine.length);
            at += mine.length;
            j.future.complete(mine);
        }
    }

    /**
     * Stops the loop and returns only after the loop thread ended, so the caller may close the backend
     * right after: a step inside {@code backend.logits} is waited for, however long it takes. Pending
     * calls complete with {@link Outcome#SHUTDOWN} before this returns; later {@code submit} calls
     * throw. Does not close the backend. Idempotent; called on the loop thread it only asks it to stop.
     */
    @Override
    public void close() {
        synchronized (lifecycle) {
            stopping = true;
        }
        LoopThreads.join(thread);
    }
}
