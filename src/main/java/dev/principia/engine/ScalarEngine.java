package dev.principia.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.logging.Level;
import java.util.logging.Logger;

import dev.principia.backend.ScalarBackend;

/**
 * Batches prefill-only scoring for a {@link ScalarBackend} (the meta-RM and scalar reward models):
 * concurrent calls queue up, and each step scores as many whole calls as fit in
 * {@code maxBatchTokens} (at least one), so many small requests share one backend call. A backend
 * failure fails only the calls of that step. One loop thread per model.
 */
public final class ScalarEngine implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ScalarEngine.class.getName());

    private record Job(List<int[]> sequences, int numTokens, CompletableFuture<float[][]> future) {
    }

    private final String name;
    private final ScalarBackend backend;
    private final int maxBatchTokens;
    private final int maxPending;
    private final LinkedBlockingQueue<Job> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private final LongAdder sequencesScored = new LongAdder();
    private final LongAdder tokensScored = new LongAdder();
    private final LongAdder steps = new LongAdder();
    private volatile boolean stopping;

    public ScalarEngine(String name, ScalarBackend backend, int maxBatchTokens, int maxPending) {
        if (maxBatchTokens < 1 || maxPending < 1) throw new IllegalArgumentException("maxBatchTokens and maxPending must be >= 1");
        this.name = name;
        this.backend = backend;
        this.maxBatchTokens = maxBatchTokens;
        this.maxPending = maxPending;
        this.thread = new Thread(this::loop, "scalar-engine-" + name);
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /**
     * Queues sequences for scoring; the future completes on the engine thread with one logit row per
     * sequence, or exceptionally with the backend's error.
     *
     * @throws QueueFullException       when {@code maxPending} calls are already queued
     * @throws IllegalArgumentException when a sequence is empty or longer than the model accepts
     */
    public CompletableFuture<float[][]> submit(List<int[]> sequences) {
        int tokens = 0;
        for (int[] s : sequences) {
            if (s.length == 0) throw new IllegalArgumentException("empty sequence");
            if (s.length > backend.maxPositions()) {
                throw new IllegalArgumentException("sequence of " + s.length + " tokens exceeds the model's " + backend.maxPositions());
            }
            tokens += s.length;
        }
        if (stopping) throw new IllegalStateException("scalar engine " + name + " is shut down");
        if (queue.size() >= maxPending) {
            throw new QueueFullException("scalar engine " + name + " has " + maxPending + " calls queued; retry shortly", 50);
        }
        Job job = new Job(List.copyOf(sequences), tokens, new CompletableFuture<>());
        if (sequences.isEmpty()) {
            job.future().complete(new float[0][]);
            return job.future();
        }
        queue.add(job);
        return job.future();
    }

    public int maxPositions() {
        return backend.maxPositions();
    }

    public long sequencesScored() {
        return sequencesScored.sum();
    }

    public long steps() {
        return steps.sum();
    }

    private void loop() {
        while (!stopping) {
            try {
                Job first = queue.poll(50, TimeUnit.MILLISECONDS);
                if (first == null) continue;
                List<Job> batch = new ArrayList<>();
                batch.add(first);
                int tokens = first.numTokens();
                for (Job next; (next = queue.peek()) != null && tokens + next.numTokens() <= maxBatchTokens; ) {
                    batch.add(queue.poll());
                    tokens += next.numTokens();
                }
                run(batch, tokens);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (Job j; (j = queue.poll()) != null; ) j.future().completeExceptionally(new IllegalStateException("server is shutting down"));
    }

    private void run(List<Job> batch, int tokens) {
        List<int[]> all = new ArrayList<>();
        for (Job j : batch) all.addAll(j.sequences());
        float[][] logits;
        try {
            logits = backend.logits(all);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "scalar engine " + name + ": backend step of " + all.size() + " sequences failed", e);
            for (Job j : batch) j.future().completeExceptionally(e);
            return;
        }
        steps.increment();
        sequencesScored.add(all.size());
        tokensScored.add(tokens);
        int at = 0;
        for (Job j : batch) {
            float[][] mine = new float[j.sequences().size()][];
            System.arraycopy(logits, at, mine, 0, mine.length);
            at += mine.length;
            j.future().complete(mine);
        }
    }

    @Override
    public void close() {
        stopping = true;
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
