package dev.principia.engine;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

import dev.principia.backend.Backend;
import dev.principia.backend.Batch;
import dev.principia.backend.BatchResult;

/**
 * Continuous-batching generation engine: one loop thread per model instance runs
 * {@code schedule() -> backend.execute(batch) -> update(output)}. Sequences join between steps and
 * leave the moment they finish. Other threads talk to the loop through a command queue
 * ({@link #submit}, {@link GenerationHandle#abort}); the scheduler and backend are touched by the
 * loop thread only.
 */
public final class Engine implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Engine.class.getName());
    /** {@link SequenceOutput#error()} of sequences aborted because their deadline passed. */
    public static final String ABORTED_DEADLINE = "deadline exceeded";
    /** {@link SequenceOutput#error()} of sequences aborted because the engine was closed. */
    public static final String ABORTED_SHUTDOWN = "server is shutting down";

    private final String name;
    private final Backend backend;
    private final EngineConfig config;
    private final EngineListener listener;
    private final EngineMetrics metrics = new EngineMetrics();
    private final Scheduler scheduler;
    private final ForkJoinPool samplingPool;
    private final LinkedBlockingQueue<Runnable> inbox = new LinkedBlockingQueue<>();
    private final Set<RequestState> active = new HashSet<>();
    private final AtomicInteger numPending = new AtomicInteger();
    private final Thread thread;
    private volatile boolean stopping;
    private volatile int numRunning;
    private volatile int numWaiting;
    private volatile int kvUsedTokens;
    private volatile long lastStepNanos = 1_000_000;
    /** Prompt plus generation budget of every submitted, unfinished request: an upper bound of the work ahead. */
    private final java.util.concurrent.atomic.AtomicLong pendingWorkTokens = new java.util.concurrent.atomic.AtomicLong();
    /** Exponential moving average of tokens fed per second of step time; 0 until the first step. */
    private volatile double tokensPerSecond;
    private long arrivals;

    public Engine(String name, Backend backend, EngineConfig config, EngineListener listener) {
        this.name = name;
        this.backend = backend;
        this.config = new EngineConfig(config.maxNumSeqs(), config.maxNumBatchedTokens(), config.kvCacheTokens(),
                config.maxNumWaitingRequests(), Math.min(config.maxModelLen(), backend.info().maxPositions()));
        this.listener = listener == null ? EngineListener.NONE : listener;
        int cores = Runtime.getRuntime().availableProcessors();
        this.samplingPool = cores > 1 ? new ForkJoinPool(cores, pool -> {
            ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
            t.setName("engine-" + name + "-sampling-" + t.getPoolIndex());
            t.setDaemon(true);
            return t;
        }, null, false) : null;
        this.scheduler = new Scheduler(this.config, backend.info().maxSlots(), metrics, samplingPool);
        this.thread = new Thread(this::loop, "engine-" + name);
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /**
     * Queues a request. Never blocks.
     *
     * @throws QueueFullException       when {@code maxNumWaitingRequests} requests are already pending
     * @throws IllegalArgumentException when a prompt leaves no room to generate within {@code maxModelLen}
     * @throws IllegalStateException    after {@link #close()}
     */
    public GenerationHandle submit(GenerationRequest request) {
        for (SequenceSpec s : request.sequences()) {
            if (s.promptTokens().length >= config.maxModelLen()) {
                throw new IllegalArgumentException("prompt of " + s.promptTokens().length
                        + " tokens leaves no room to generate within the model's " + config.maxModelLen() + " positions");
            }
        }
        if (stopping) throw new IllegalStateException("engine " + name + " is shut down");
        if (numPending.incrementAndGet() > config.maxNumWaitingRequests()) {
            numPending.decrementAndGet();
            metrics.rejectedRequests.increment();
            long retry = Math.max(10, TimeUnit.NANOSECONDS.toMillis(lastStepNanos) * 8);
            throw new QueueFullException("engine " + name + " has " + config.maxNumWaitingRequests()
                    + " requests pending; retry in about " + retry + " ms", retry);
        }
        RequestState state = new RequestState(request, System.nanoTime());
        pendingWorkTokens.addAndGet(state.workTokens());
        inbox.add(() -> admit(state));
        return new GenerationHandle() {
            @Override
            public CompletableFuture<GenerationResult> result() {
                return state.future;
            }

            @Override
            public void abort(String reason) {
                inbox.add(() -> {
                    if (active.contains(state)) scheduler.abort(state, reason);
                });
            }
        };
    }

    private void admit(RequestState state) {
        state.arrival = arrivals++; // FCFS order is the order the loop sees submissions
        active.add(state);
        scheduler.add(state);
    }

    public EngineMetrics metrics() {
        return metrics;
    }

    public EngineConfig config() {
        return config;
    }

    public int numRunning() {
        return numRunning;
    }

    public int numWaiting() {
        return numWaiting;
    }

    /** Sequences admitted to the scheduler and not finished (waiting or running). */
    public int numPendingSamples() {
        return numRunning + numWaiting;
    }

    /** Requests submitted and not yet finished. */
    public int numPendingRequests() {
        return numPending.get();
    }

    /** Time of the last step that ran, in nanoseconds. */
    public long lastStepNanos() {
        return lastStepNanos;
    }

    /**
     * Estimated milliseconds before a request submitted now starts to be served: the work ahead of it
     * (prompt plus generation budget of every unfinished request, counted from submission) at the recent
     * step throughput. 0 when idle or before the first step.
     */
    public double estimatedWaitMillis() {
        double rate = tokensPerSecond;
        long work = pendingWorkTokens.get();
        if (work == 0) return 0;
        return rate <= 0 ? 0 : work * 1000.0 / rate;
    }

    public int kvUsedTokens() {
        return kvUsedTokens;
    }

    public int kvCapacityTokens() {
        return config.kvCacheTokens();
    }

    private void loop() {
        while (!stopping) {
            try {
                if (!scheduler.hasWork()) {
                    Runnable command = inbox.poll(50, TimeUnit.MILLISECONDS);
                    if (command != null) command.run();
                }
                for (Runnable command; (command = inbox.poll()) != null; ) command.run();
                expireDeadlines();
                if (scheduler.hasWork()) step();
                releaseFreedSlots();
                complete();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (RuntimeException | Error e) {
                LOG.log(Level.SEVERE, "engine " + name + " loop error; failing active requests", e);
                for (RequestState r : new ArrayList<>(active)) scheduler.abort(r, "internal engine error: " + e);
                releaseFreedSlots();
                complete();
            }
        }
        for (Runnable command; (command = inbox.poll()) != null; ) command.run();
        for (RequestState r : new ArrayList<>(active)) scheduler.abort(r, ABORTED_SHUTDOWN);
        releaseFreedSlots();
        complete();
    }

    /** Frees in the backend the slots of sequences that finished or were aborted since the last step. */
    private void releaseFreedSlots() {
        for (int slot : scheduler.drainFreedSlots()) backend.freeKv(slot);
    }

    private void step() {
        long t0 = System.nanoTime();
        SchedulerOutput output = scheduler.schedule();
        releaseFreedSlots();
        for (SchedulerOutput.Fork f : output.forks()) backend.copyKv(f.srcSlot(), f.dstSlot(), f.numTokens());
        long executeNanos = 0;
        if (!output.scheduled().isEmpty()) {
            List<Batch.Entry> entries = new ArrayList<>(output.scheduled().size());
            for (SchedulerOutput.Scheduled s : output.scheduled()) {
                Sequence seq = s.sequence();
                entries.add(new Batch.Entry(seq.slot, seq.tokens(seq.numComputedTokens, seq.numComputedTokens + s.numTokens()),
                        seq.numComputedTokens));
            }
            long e0 = System.nanoTime();
            BatchResult result;
            try {
                result = backend.execute(new Batch(entries));
            } catch (RuntimeException e) {
                executeNanos = System.nanoTime() - e0;
                metrics.failedSteps.increment();
                LOG.log(Level.WARNING, "engine " + name + ": backend step of " + entries.size() + " sequences failed", e);
                scheduler.failStep(output, "backend failed: " + e.getMessage());
                result = null;
            }
            if (result != null) {
                executeNanos = System.nanoTime() - e0;
                scheduler.update(output, result);
            }
            metrics.steps.increment();
        }
        long stepNanos = System.nanoTime() - t0;
        if (!output.scheduled().isEmpty()) {
            lastStepNanos = stepNanos;
            double rate = output.numTokens() * 1e9 / Math.max(1, stepNanos);
            tokensPerSecond = tokensPerSecond == 0 ? rate : 0.9 * tokensPerSecond + 0.1 * rate;
            listener.onStep(output.scheduled().size(), output.numTokens(), stepNanos, executeNanos);
        }
        numRunning = scheduler.numRunning();
        numWaiting = scheduler.numWaiting();
        kvUsedTokens = scheduler.kvUsedTokens();
    }

    private void expireDeadlines() {
        long now = System.nanoTime();
        for (RequestState r : active) {
            if (r.request.deadlineNanos() != Long.MAX_VALUE && now - r.request.deadlineNanos() >= 0 && !r.isFinished()) {
                scheduler.abort(r, ABORTED_DEADLINE);
            }
        }
    }

    private void complete() {
        numRunning = scheduler.numRunning();
        numWaiting = scheduler.numWaiting();
        kvUsedTokens = scheduler.kvUsedTokens();
        long now = System.nanoTime();
        for (RequestState r : scheduler.drainFinished()) {
            active.remove(r);
            numPending.decrementAndGet();
            pendingWorkTokens.addAndGet(-r.workTokens());
            r.future.complete(r.result(now));
        }
    }

    /** Stops the loop; pending requests complete as aborted. Does not close the backend. */
    @Override
    public void close() {
        stopping = true;
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (samplingPool != null) samplingPool.shutdownNow();
    }
}
