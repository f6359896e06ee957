package dev.principia.engine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;

import dev.principia.backend.BatchResult;

/**
 * Iteration-level scheduler: {@link #schedule()} picks this step's work, {@link #update} applies the
 * backend's output. Running sequences are served first (decodes before prefill chunks), then waiting
 * ones are admitted while slots, KV and the step's token budget allow. When KV runs short the
 * lowest-priority, latest-arrived running sequence is preempted and recomputed later.
 *
 * <p>Prefix forking: a sequence whose prompt shares a prefix with an earlier sequence of the same
 * request waits until that one has computed the prefix, then copies its KV (at most prompt length
 * minus one, so the child computes its own last prompt position and gets its own logits).
 *
 * <p>Engine thread only.
 */
final class Scheduler {
    private static final Comparator<Sequence> ORDER = Comparator
            .comparingInt((Sequence s) -> -s.priority())
            .thenComparingLong(Sequence::arrival)
            .thenComparingInt(s -> s.index);

    private final EngineConfig config;
    /** Picks tokens of several sequences at once; null = one at a time. */
    private final java.util.concurrent.ForkJoinPool pool;
    private final KvCacheManager kv;
    private final EngineMetrics metrics;
    private final TreeSet<Sequence> waiting = new TreeSet<>(ORDER);
    private final List<Sequence> running = new ArrayList<>();
    private final List<Integer> pendingFrees = new ArrayList<>();
    private final List<RequestState> finishedRequests = new ArrayList<>();

    Scheduler(EngineConfig config, int numSlots, EngineMetrics metrics, java.util.concurrent.ForkJoinPool pool) {
        this.pool = pool;
        this.config = config;
        this.kv = new KvCacheManager(Math.min(numSlots, config.maxNumSeqs()), config.kvCacheTokens());
        this.metrics = metrics;
    }

    void add(RequestState request) {
        List<Sequence> seqs = request.sequences;
        for (int i = 0; i < seqs.size(); i++) {
            Sequence child = seqs.get(i);
            Sequence best = null;
            int bestLen = 0;
            for (int j = 0; j < i; j++) {
                int len = child.commonPrefix(seqs.get(j));
                if (len > bestLen) {
                    bestLen = len;
                    best = seqs.get(j);
                }
            }
            int forkAt = Math.min(bestLen, child.numPromptTokens - 1);
            if (best != null && forkAt > 0) {
                child.forkParent = best;
                child.forkAt = forkAt;
                best.numPendingForks++;
            }
            waiting.add(child);
        }
    }

    boolean hasWork() {
        return !waiting.isEmpty() || !running.isEmpty();
    }

    int numRunning() {
        return running.size();
    }

    int numWaiting() {
        return waiting.size();
    }

    int kvUsedTokens() {
        return kv.usedTokens();
    }

    int kvCapacityTokens() {
        return kv.capacityTokens();
    }

    SchedulerOutput schedule() {
        int budget = config.maxNumBatchedTokens();
        List<SchedulerOutput.Scheduled> scheduled = new ArrayList<>();
        List<SchedulerOutput.Fork> forks = new ArrayList<>();

        running.sort(Comparator.comparingInt((Sequence s) -> s.numUncomputed() == 1 ? 0 : 1).thenComparing(ORDER));
        List<Sequence> order = new ArrayList<>(running);
        for (Sequence seq : order) {
            if (budget == 0) break;
            if (seq.status != SequenceStatus.RUNNING) continue; // preempted earlier in this loop
            int n = Math.min(seq.numUncomputed(), budget);
            while (!kv.grow(seq.slot, seq.numComputedTokens + n)) {
                Sequence victim = lowestRunning();
                for (int i = 0; i < scheduled.size(); i++) {
                    if (scheduled.get(i).sequence() == victim) {
                        budget += scheduled.remove(i).numTokens();
                        break;
                    }
                }
                preempt(victim);
                if (victim == seq) break;
            }
            if (seq.status != SequenceStatus.RUNNING) continue;
            scheduled.add(new SchedulerOutput.Scheduled(seq, n));
            budget -= n;
        }

        List<Sequence> admitted = new ArrayList<>();
        for (Sequence seq : waiting) {
            if (budget == 0 || running.size() + admitted.size() >= config.maxNumSeqs() || !kv.hasFreeSlot()) break;
            Sequence parent = seq.forkParent;
            if (parent != null && (parent.status == SequenceStatus.FINISHED_ERROR
                    || parent.status == SequenceStatus.FINISHED_ABORTED || parent.isFinishedWithoutSlot())) {
                dropFork(seq);
                parent = null;
            }
            if (parent != null && (parent.slot < 0 || parent.numComputedTokens < seq.forkAt || parent.status == SequenceStatus.WAITING
                    || parent.status == SequenceStatus.PREEMPTED)) {
                continue; // the prefix is not computed yet
            }
            int start = parent != null ? seq.forkAt : 0;
            int n = Math.min(seq.numTokens() - start, budget);
            int slot = kv.allocate(start + n);
            if (slot < 0) {
                if (running.isEmpty() && admitted.isEmpty() && seq.numTokens() > kv.capacityTokens()) {
                    finish(seq, SequenceStatus.FINISHED_ERROR, "sequence of " + seq.numTokens()
                            + " tokens exceeds the KV cache of " + kv.capacityTokens() + " tokens");
                }
                break;
            }
            seq.slot = slot;
            seq.numComputedTokens = start;
            if (parent != null) {
                forks.add(new SchedulerOutput.Fork(parent.slot, slot, start));
                seq.numForkedTokens = start;
                metrics.forkedTokens.add(start);
                releaseFork(seq);
            }
            seq.status = SequenceStatus.RUNNING;
            if (seq.request.firstScheduledNanos < 0) seq.request.firstScheduledNanos = System.nanoTime();
            admitted.add(seq);
            scheduled.add(new SchedulerOutput.Scheduled(seq, n));
            budget -= n;
        }
        for (Sequence seq : admitted) {
            waiting.remove(seq);
            running.add(seq);
        }
        if (scheduled.isEmpty() && !waiting.isEmpty()) {
            // nothing can run: finished parents may be holding the slots their children need
            for (Sequence seq : new ArrayList<>(waiting)) {
                if (seq.forkParent != null && seq.forkParent.status.isFinished()) dropFork(seq);
            }
        }
        return new SchedulerOutput(forks, scheduled);
    }

    /**
     * Applies a step's logits: advances counters, picks the next token of every sequence that caught
     * up with its tokens, and finishes those that stop. Picking (controller hooks and sampling over the
     * vocabulary, the costly part) is per-sequence work and runs in parallel on {@code pool}; appending
     * and finishing run here, in batch order.
     */
    void update(SchedulerOutput output, BatchResult result) {
        List<SchedulerOutput.Scheduled> scheduled = output.scheduled();
        List<Sequence> caughtUp = new ArrayList<>(scheduled.size());
        List<float[]> caughtUpLogits = new ArrayList<>(scheduled.size());
        for (int i = 0; i < scheduled.size(); i++) {
            Sequence seq = scheduled.get(i).sequence();
            if (seq.status != SequenceStatus.RUNNING) continue;
            int n = scheduled.get(i).numTokens();
            if (seq.numComputedTokens < seq.numPromptTokens) {
                metrics.promptTokensComputed.add(Math.min(n, seq.numPromptTokens - seq.numComputedTokens));
            }
            seq.numComputedTokens += n;
            if (seq.numUncomputed() == 0) {
                caughtUp.add(seq);
                caughtUpLogits.add(result.logits()[i]);
            }
        }
        int m = caughtUp.size();
        Decision[] decisions = new Decision[m];
        if (m > 1 && pool != null) {
            pool.submit(() -> java.util.stream.IntStream.range(0, m).parallel()
                    .forEach(j -> decisions[j] = decide(caughtUp.get(j), caughtUpLogits.get(j)))).join();
        } else {
            for (int j = 0; j < m; j++) decisions[j] = decide(caughtUp.get(j), caughtUpLogits.get(j));
        }
        for (int j = 0; j < m; j++) apply(caughtUp.get(j), decisions[j]);
    }

    /** The next token(s) of one sequence: forced ones, or one sampled, or why it failed. */
    private record Decision(int[] forced, int token, String error) {
    }

    /** Per-sequence and side-effect free for the scheduler: safe to run for several sequences at once. */
    private static Decision decide(Sequence seq, float[] logits) {
        try {
            int[] forced = seq.controller.forced(seq.numGenerated(), seq.params.maxNewTokens());
            if (forced.length > 0) return new Decision(forced, -1, null);
            seq.controller.process(logits);
            int token = Sampler.sample(logits, seq.params, seq.random);
            if (token < 0) return new Decision(null, -1, "every token was masked by the sequence's controller");
            return new Decision(null, token, null);
        } catch (RuntimeException e) {
            return new Decision(null, -1, "decoding failed: " + e);
        }
    }

    private void apply(Sequence seq, Decision d) {
        try {
            if (d.error() != null) {
                finish(seq, SequenceStatus.FINISHED_ERROR, d.error());
                return;
            }
            if (d.forced() != null) {
                for (int t : d.forced()) {
                    seq.append(t);
                    metrics.generatedTokens.increment();
                    if (seq.controller.accept(t)) {
                        finish(seq, SequenceStatus.FINISHED_STOPPED, null);
                        return;
                    }
                }
            } else {
                seq.append(d.token());
                metrics.generatedTokens.increment();
                if (seq.params.isStop(d.token()) || seq.controller.accept(d.token())) {
                    finish(seq, SequenceStatus.FINISHED_STOPPED, null);
                    return;
                }
            }
            if (seq.numGenerated() >= seq.params.maxNewTokens() || seq.numTokens() >= config.maxModelLen()) {
                finish(seq, SequenceStatus.FINISHED_LENGTH, null);
            }
        } catch (RuntimeException e) {
            if (!seq.status.isFinished()) finish(seq, SequenceStatus.FINISHED_ERROR, "decoding failed: " + e);
        }
    }

    /** Fails every sequence of a step whose backend call threw. */
    void failStep(SchedulerOutput output, String message) {
        for (SchedulerOutput.Scheduled s : output.scheduled()) {
            if (!s.sequence().status.isFinished()) finish(s.sequence(), SequenceStatus.FINISHED_ERROR, message);
        }
    }

    /** Aborts every unfinished sequence of a request. */
    void abort(RequestState request, String reason) {
        for (Sequence seq : request.sequences) {
            if (!seq.status.isFinished()) finish(seq, SequenceStatus.FINISHED_ABORTED, reason);
        }
        metrics.abortedRequests.increment();
    }

    /**
     * Slots released since the last call (finished, aborted or preempted sequences), for the backend to
     * free before they are reused: the engine drains them after every {@link #schedule()} and before
     * the step's forks and execute, so a slot freed and reallocated in one step is freed first.
     */
    List<Integer> drainFreedSlots() {
        if (pendingFrees.isEmpty()) return List.of();
        List<Integer> frees = new ArrayList<>(pendingFrees);
        pendingFrees.clear();
        return frees;
    }

    /** Requests whose last sequence finished since the previous call. */
    List<RequestState> drainFinished() {
        List<RequestState> done = new ArrayList<>(finishedRequests);
        finishedRequests.clear();
        return done;
    }

    private void finish(Sequence seq, SequenceStatus status, String error) {
        boolean wasWaiting = seq.status == SequenceStatus.WAITING || seq.status == SequenceStatus.PREEMPTED;
        seq.status = status;
        seq.error = error;
        if (wasWaiting) {
            waiting.remove(seq);
            if (seq.forkParent != null) dropFork(seq);
        } else {
            running.remove(seq);
        }
        if (status == SequenceStatus.FINISHED_ERROR) {
            // its KV is undefined: children compute their prefix themselves
            seq.numPendingForks = 0;
        }
        if (seq.slot >= 0 && seq.numPendingForks == 0) freeSlot(seq);
        seq.request.numFinished++;
        if (seq.request.isFinished()) finishedRequests.add(seq.request);
    }

    private void preempt(Sequence seq) {
        running.remove(seq);
        freeSlot(seq);
        seq.numComputedTokens = 0;
        seq.status = SequenceStatus.PREEMPTED;
        waiting.add(seq);
        metrics.preemptions.increment();
    }

    private Sequence lowestRunning() {
        Sequence lowest = null;
        for (Sequence s : running) {
            if (lowest == null || ORDER.compare(s, lowest) > 0) lowest = s;
        }
        return lowest;
    }

    private void freeSlot(Sequence seq) {
        if (seq.slot < 0) return;
        kv.free(seq.slot);
        pendingFrees.add(seq.slot);
        seq.slot = -1;
    }

    /** The child got its copy (or gave up on it): the parent's slot may go once it is finished. */
    private void releaseFork(Sequence child) {
        Sequence parent = child.forkParent;
        child.forkParent = null;
        parent.numPendingForks = Math.max(0, parent.numPendingForks - 1);
        if (parent.status.isFinished() && parent.numPendingForks == 0) freeSlot(parent);
    }

    private void dropFork(Sequence child) {
        child.forkAt = 0;
        releaseFork(child);
    }
}
