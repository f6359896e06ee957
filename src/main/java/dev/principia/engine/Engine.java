package dev.principia.engine;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
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
 *
 * <p>Every accepted request's future completes exactly once: with the outputs, or with
 * {@link Outcome#SHUTDOWN} outputs when the engine closes first, or {@link Outcome#FAILED} ones when
 * the backend or the loop fails. A failed backend step fails only a sequence that fails again when
 * recomputed alone (see {@code Scheduler.failStep}). A loop error fails the requests in the engine,
 * resets the scheduler and frees every backend slot; the loop keeps serving.
 */
public final class Engine implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Engine.class.getName());
    /** {@link SequenceOutput#error()} of {@link Outcome#SHUTDOWN} outputs; test {@code outcome()}, not this text. */
    public static final String ABORTED_SHUTDOWN = "server is shutting down";
    private static final String ABORTED_DEADLINE = "deadline exceeded";

    private final String name;
    private final Backend backend;
    private final EngineConfig config;
    private final EngineListener listener;
    private final EngineMetrics metrics = new EngineMetrics();
    private final FailureLog failures = new FailureLog(LOG);
    private final ForkJoinPool samplingPool;
    private final LinkedBlockingQueue<Runnable> inbox = new LinkedBlockingQueue<>();
    private final Set<RequestState> active = new HashSet<>();
    /** Reservations plus accepted, unfinished requests. */
    private final AtomicInteger numPending = new AtomicInteger();
    private final Thread thread;
    /** Guards {@link #stopping} against enqueueing: no request enters the inbox after the loop's last drain. */
    private final Object lifecycle = new Object();
    private volatile boolean stopping;
    private Scheduler scheduler;
    private volatile int numRunning;
    private volatile int numWaiting;
    private volatile int kvUsedTokens;
    private volatile long lastStepNanos = 1_000_000;
    /** Prompt plus generation budget of every submitted, unfinished request: an upper bound of the work ahead. */
    private final AtomicLong pendingWorkTokens = new AtomicLong();
    /** Exponential moving average of tokens fed per second of step time; 0 until the first step. */
    private volatile double tokensPerSecond;

    public Engine(String name, Backend backend, EngineConfig config, EngineListener listener) {
        this.name = name;
        this.backend = backend;
        this.config = new EngineConfig(config.maxNumSeqs(), config.maxNumBatchedTokens(), config.kvCacheTokens(),
                config.maxNumWaitingRequests(), Math.min(config.maxModelLen(), backend.info().maxPositions()));
        this.listener = listener == null ? EngineListener.NONE : listener;
        this.samplingPool = LoopThreads.pool("engine-" + name + "-sampling");
        this.scheduler = newScheduler();
        this.thread = LoopThreads.start("engine-" + name, this::loop);
    }

    private Scheduler newScheduler() {
        return new Scheduler(config, backend.info().maxSlots(), metrics, samplingPool);
    }

    /**
     * Takes a pending-request place before the caller renders and tokenizes its prompts. Never blocks.
     *
     * @throws QueueFullException    when {@code maxNumWaitingRequests} requests and reservations are pending
     * @throws IllegalStateException after {@link #close()}
     */
    public Reservation reserve() {
        if (stopping) throw new IllegalStateException("engine " + name + " is shut down");
        if (numPending.incrementAndGet() > config.maxNumWaitingRequests()) {
            numPending.decrementAndGet();
            metrics.rejectedRequests.increment();
            long retry = Math.max(10, TimeUnit.NANOSECONDS.toMillis(lastStepNanos) * 8);
            throw new QueueFullException("engine " + name + " has " + config.maxNumWaitingRequests()
                    + " requests pending; retry in about " + retry + " ms", retry);
        }
        return new Reservation(this, numPending);
    }

    /**
     * Queues a request: {@link #reserve()} then {@link #submit(GenerationRequest, Reservation)}. Never blocks.
     *
     * @throws QueueFullException       when {@code maxNumWaitingRequests} requests are already pending
     * @throws IllegalArgumentException when a prompt leaves no room to generate within {@code maxModelLen}
     * @throws IllegalStateException    after {@link #close()}
     */
    public GenerationHandle submit(GenerationRequest request) {
        validate(request);
        try (Reservation reservation = reserve()) {
            return submit(request, reservation);
        }
    }

    /**
     * Queues a request in the place {@code reservation} holds, consuming it. Never blocks. When this
     * throws, the reservation is left as it was (its {@code close()} gives the place back).
     *
     * @throws IllegalArgumentException when a prompt leaves no room to generate within {@code maxModelLen},
     *                                  or the reservation is another engine's
     * @throws IllegalStateException    after {@link #close()}, or when the reservation was used or closed
     */
    public GenerationHandle submit(GenerationRequest request, Reservation reservation) {
        validate(request);
        if (reservation == null || reservation.engine != this) throw new IllegalArgumentException("reservation of another engine");
        RequestState state = new RequestState(request, System.nanoTime());
        synchronized (lifecycle) {
            if (stopping) throw new IllegalStateException("engine " + name + " is shut down");
            if (!reservation.consume()) throw new IllegalStateException("reservation already used or closed");
            pendingWorkTokens.addAndGet(state.workTokens());
            inbox.add(() -> admit(state));
        }
        return new GenerationHandle() {
            @Override
            public CompletableFuture<GenerationResult> result() {
                return state.future;
            }

            @Override
            public void abort(Outcome why, String message) {
                why.abortStatus(); // refuses FINISHED
                inbox.add(() -> {
                    if (active.contains(state)) scheduler.abort(state, why, message);
                });
            }
        };
    }

    private void validate(GenerationRequest request) {
        for (SequenceSpec s : request.sequences()) {
            if (s.promptTokens().length >= config.maxModelLen()) {
                throw new IllegalArgumentException("prompt of " + s.promptTokens().length
                        + " tokens leaves no room to generate within the model's " + config.maxModelLen() + " positions");
            }
        }
    }

    private void admit(RequestState state) {
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

    /** Requests submitted and not yet finished, plus open reservations. */
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
        try {
            while (!stopping) {
                boolean inStep = false;
                try {
                    if (!scheduler.hasWork()) {
                        Runnable command = inbox.poll(50, TimeUnit.MILLISECONDS);
                        if (command != null) command.run();
                    }
                    for (Runnable command; (command = inbox.poll()) != null; ) command.run();
                    expireDeadlines();
                    releaseFreedSlots();
                    complete(); // aborts and expiries are answered before the next step, not after it
                    if (scheduler.hasWork()) {
                        inStep = true;
                        step();
                        inStep = false;
                    }
                    releaseFreedSlots();
                    complete();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                } catch (RuntimeException | Error e) {
                    metrics.loopErrors.increment();
                    if (inStep) metrics.failedSteps.increment();
                    LOG.log(Level.SEVERE, "engine " + name + " loop error; failing " + active.size() + " active requests", e);
                    failActive("internal engine error: " + e);
                }
            }
        } finally {
            shutDown();
        }
    }

    /** Last act of the loop: after it no request can enter, and every accepted one is answered. */
    private void shutDown() {
        synchronized (lifecycle) {
            stopping = true;
        }
        try {
            for (Runnable command; (command = inbox.poll()) != null; ) command.run();
            for (RequestState r : new ArrayList<>(active)) scheduler.abort(r, Outcome.SHUTDOWN, ABORTED_SHUTDOWN);
            releaseFreedSlots();
            complete();
        } catch (RuntimeException | Error e) {
            metrics.loopErrors.increment();
            LOG.log(Level.SEVERE, "engine " + name + " error while shutting down", e);
            for (Runnable command; (command = inbox.poll()) != null; ) {
                try {
                    command.run();
                } catch (RuntimeException | Error ignored) {
                    // the request is in active and answered below
                }
            }
            answerDirectly(Outcome.SHUTDOWN, ABORTED_SHUTDOWN);
        } finally {
            LoopThreads.shutDown(samplingPool);
        }
    }

    /** Fails every request in the engine, then starts over with an empty scheduler and freed slots. */
    private void failActive(String message) {
        try {
            for (RequestState r : new ArrayList<>(active)) scheduler.abort(r, Outcome.FAILED, message);
            complete();
        } catch (RuntimeException | Error e) {
            LOG.log(Level.SEVERE, "engine " + name + ": cannot fail requests through the scheduler", e);
        }
        answerDirectly(Outcome.FAILED, message);
        scheduler = newScheduler();
        for (int slot = 0; slot < backend.info().maxSlots(); slot++) {
            try {
                backend.freeKv(slot);
            } catch (RuntimeException | Error e) {
                LOG.log(Level.WARNING, "engine " + name + ": cannot free slot " + slot, e);
            }
        }
        complete();
    }

    /** Completes every active request without the scheduler, its unfinished sequences ending as {@code why}. */
    private void answerDirectly(Outcome why, String message) {
        long now = System.nanoTime();
        for (RequestState r : new ArrayList<>(active)) {
            for (Sequence seq : r.sequences) {
                if (!seq.status.isFinished()) {
                    seq.status = why.abortStatus();
                    seq.outcome = why;
                    seq.error = message;
                    seq.slot = -1;
                }
            }
            answer(r, now);
        }
    }

    /** Frees in the backend the slots of sequences that finished or were aborted since the last step. */
    private void releaseFreedSlots() {
        for (int slot : scheduler.drainFreedSlots()) backend.freeKv(slot);
    }

    private void step() {
        long t0 = System.nanoTime();
        SchedulerOutput output = scheduler.schedule();
        releaseFreedSlots();
        long executeNanos = 0;
        if (!output.scheduled().isEmpty()) {
            List<Batch.Entry> entries = new ArrayList<>(output.scheduled().size());
            for (SchedulerOutput.Scheduled s : output.scheduled()) {
                Sequence seq = s.sequence();
                entries.add(new Batch.Entry(seq.slot, seq.tokens(seq.numComputedTokens, seq.numComputedTokens + s.numTokens()),
                        seq.numComputedTokens));
            }
            long e0 = System.nanoTime();
            BatchResult result = null;
            try {
                for (SchedulerOutput.Fork f : output.forks()) backend.copyKv(f.srcSlot(), f.dstSlot(), f.numTokens());
                result = checked(backend.execute(new Batch(entries)), entries.size());
            } catch (RuntimeException | Error e) {
                metrics.failedSteps.increment();
                failures.failed("engine " + name + ": backend step of " + entries.size() + " sequences failed", e);
                scheduler.failStep(output, "backend failed: " + e.getMessage());
            }
            executeNanos = System.nanoTime() - e0;
            if (result != null) scheduler.update(output, result);
            metrics.steps.increment();
        }
        long stepNanos = System.nanoTime() - t0;
        if (!output.scheduled().isEmpty()) {
            lastStepNanos = stepNanos;
            double rate = output.numTokens() * 1e9 / Math.max(1, stepNanos);
            tokensPerSecond = tokensPerSecond == 0 ? rate : 0.9 * tokensPerSecond + 0.1 * rate;
            listener.onStep(output.scheduled().size(), output.numTokens(), stepNanos, executeNanos);
        }
        publishGauges();
    }

    private BatchResult checked(BatchResult result, int numEntries) {
        int vocab = backend.info().vocabSize();
        if (result == null || result.logits().length != numEntries) {
            throw new IllegalStateException("backend returned " + (result == null ? "no result" : result.logits().length + " logit rows")
                    + " for " + numEntries + " entries");
        }
        for (float[] row : result.logits()) {
            if (row == null || row.length != vocab) throw new IllegalStateException("backend returned a logit row that is not of vocabulary size " + vocab);
        }
        return result;
    }

    private void expireDeadlines() {
        long now = System.nanoTime();
        for (RequestState r : new ArrayList<>(active)) {
            if (r.request.deadlineNanos() != Long.MAX_VALUE && now - r.request.deadlineNanos() >= 0 && !r.isFinished()) {
                scheduler.abort(r, Outcome.DEADLINE, ABORTED_DEADLINE);
            }
        }
    }

    private void publishGauges() {
        numRunning = scheduler.numRunning();
        numWaiting = scheduler.numWaiting();
        kvUsedTokens = scheduler.kvUsedTokens();
    }

    private void complete() {
        publishGauges();
        long now = System.nanoTime();
        for (RequestState r : scheduler.drainFinished()) answer(r, now);
    }

    /** Completes an active request's future; a request is answered once, whichever path gets to it first. */
    private void answer(RequestState r, long now) {
        if (!active.remove(r)) return;
        numPending.decrementAndGet();
        pendingWorkTokens.addAndGet(-r.workTokens());
        r.future.complete(r.result(now));
    }

    /**
     * Stops the loop and returns only after the loop thread (and its sampling pool) ended, so the caller
     * may close the backend right after: a step inside {@code backend.execute} is waited for, however
     * long it takes. Pending requests complete with {@link Outcome#SHUTDOWN} outputs before this returns;
     * later {@code reserve}/{@code submit} calls throw. Does not close the backend. Idempotent. Called on
     * the loop thread itself (from a completion callback), it only asks the loop to stop.
     */
    @Override
    public void close() {
        synchronized (lifecycle) {
            stopping = true;
        }
        LoopThreads.join(thread);
    }
}
