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
 * <p>Prefix forking: a waiting sequence copies the KV of the longest prompt prefix it shares with a
 * sibling of its request that is running and has computed it (at most its own length minus one, so
 * it computes its last position itself and gets its own logits). It waits while an earlier sibling
 * (ahead of it in the queue) shares more than any source offers now and has yet to compute it, and
 * computes the prefix itself when no such sibling is left.
 *
 * <p>Invariant that makes every copy read live KV: a fork's source is a sibling that is
 * {@code RUNNING} when the fork is scheduled; its slot holds its {@code numComputedTokens} positions
 * once the copies listed before it in the same step have run (a source admitted in the same step is
 * itself a copy destination listed earlier). The admission phase frees no slot, and finished or
 * preempted sequences are never sources, so no source slot is freed between choosing it and the
 * copy. There are no reference counts: a sequence frees its slot the moment it finishes or is
 * preempted; forks of it pick another running sibling, wait for its recompute, or compute themselves.
 *
 * <p>A failed backend step leaves its sequences' KV undefined. Each of them is recomputed in a step of
 * its own before it joins a batch again, so a fault that one sequence causes fails only that sequence
 * (when it fails again alone) and a transient fault fails none; see {@link #failStep}.
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
    /** Waiting sequences of failed steps, to be recomputed alone one after another (a subset of {@code waiting}). */
    private final TreeSet<Sequence> suspects = new TreeSet<>(ORDER);
    /** The suspect being recomputed, alone in every step until it has caught up; null when none. */
    private Sequence recomputing;
    private final List<Sequence> running = new ArrayList<>();
    private final List<Integer> pendingFrees = new ArrayList<>();
    private final List<RequestState> finishedRequests = new ArrayList<>();
    private long arrivals;

    Scheduler(EngineConfig config, int numSlots, EngineMetrics metrics, java.util.concurrent.ForkJoinPool pool) {
        this.pool = pool;
        this.config = config;
        this.kv = new KvCacheManager(Math.min(numSlots, config.maxNumSeqs()), config.kvCacheTokens());
        this.metrics = metrics;
    }

    /** Queues a request's sequences; FCFS order within a priority is the order of these calls. */
    void add(RequestState request) {
        request.arrival = arrivals++;
        List<Sequence> seqs = request.sequences;
        int k = seqs.size();
        for (Sequence s : seqs) s.sharedPrompt = new int[k];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < i; j++) {
                int n = seqs.get(i).commonPromptPrefix(seqs.get(j));
                seqs.get(i).sharedPrompt[j] = n;
                seqs.get(j).sharedPrompt[i] = n;
            }
        }
        waiting.addAll(seqs);
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
        if (recomputing == null) startRecompute();
        if (recomputing != null) {
            int n = Math.min(recomputing.numUncomputed(), config.maxNumBatchedTokens());
            return new SchedulerOutput(List.of(), List.of(new SchedulerOutput.Scheduled(recomputing, n)));
        }
        int tokenBudget = config.maxNumBatchedTokens();
        List<SchedulerOutput.Scheduled> scheduled = new ArrayList<>();
        List<SchedulerOutput.Fork> forks = new ArrayList<>();

        running.sort(Comparator.comparingInt((Sequence s) -> s.numUncomputed() == 1 ? 0 : 1).thenComparing(ORDER));
        for (Sequence seq : new ArrayList<>(running)) {
            if (tokenBudget == 0) break;
            if (seq.status != SequenceStatus.RUNNING) continue; // preempted earlier in this loop
            int n = Math.min(seq.numUncomputed(), tokenBudget);
            if (seq.numComputedTokens + n > kv.capacityTokens()) {
                finish(seq, SequenceStatus.FINISHED_ERROR, Outcome.FAILED, exceedsKv(seq));
                continue;
            }
            while (!kv.grow(seq.slot, seq.numComputedTokens + n)) {
                Sequence victim = lowestRunning();
                for (int i = 0; i < scheduled.size(); i++) {
                    if (scheduled.get(i).sequence() == victim) {
                        tokenBudget += scheduled.remove(i).numTokens();
                        break;
                    }
                }
                preempt(victim);
                if (victim == seq) break;
            }
            if (seq.status != SequenceStatus.RUNNING) continue;
            scheduled.add(new SchedulerOutput.Scheduled(seq, n));
            tokenBudget -= n;
        }

        List<Sequence> admitted = new ArrayList<>();
        List<Sequence> tooLong = new ArrayList<>();
        for (Sequence seq : waiting) {
            if (!suspects.isEmpty()) break; // the running free room for the next suspect; nothing else joins meanwhile
            if (tokenBudget == 0 || running.size() + admitted.size() >= config.maxNumSeqs() || !kv.hasFreeSlot()) break;
            if (seq.numTokens() > kv.capacityTokens()) {
                tooLong.add(seq);
                continue;
            }
            ForkSource prefix = ForkSource.of(seq);
            if (prefix == ForkSource.WAIT) continue;
            int start = prefix.numTokens();
            int n = Math.min(seq.numTokens() - start, tokenBudget);
            int slot = kv.allocate(start + n);
            if (slot < 0) break;
            seq.slot = slot;
            seq.numComputedTokens = start;
            seq.numForkedTokens = start;
            if (prefix.source() != null) {
                forks.add(new SchedulerOutput.Fork(prefix.source().slot, slot, start));
                metrics.forkedTokens.add(start);
            }
            seq.status = SequenceStatus.RUNNING;
            if (seq.request.firstScheduledNanos < 0) seq.request.firstScheduledNanos = System.nanoTime();
            admitted.add(seq);
            scheduled.add(new SchedulerOutput.Scheduled(seq, n));
            tokenBudget -= n;
        }
        for (Sequence seq : admitted) {
            waiting.remove(seq);
            running.add(seq);
        }
        for (Sequence seq : tooLong) finish(seq, SequenceStatus.FINISHED_ERROR, Outcome.FAILED, exceedsKv(seq));
        return new SchedulerOutput(forks, scheduled);
    }

    /**
     * Starts recomputing the first suspect, from position 0 (no fork: the failed step's KV copies are
     * suspect too) with KV for all its tokens charged up front, when a slot and that KV are free. Until
     * then no waiting sequence is admitted, so the running ones free room as they finish.
     */
    private void startRecompute() {
        while (!suspects.isEmpty()) {
            Sequence seq = suspects.first();
            if (seq.numTokens() > kv.capacityTokens()) {
                finish(seq, SequenceStatus.FINISHED_ERROR, Outcome.FAILED, exceedsKv(seq));
                continue;
            }
            if (running.size() >= config.maxNumSeqs()) return;
            int slot = kv.allocate(seq.numTokens());
            if (slot < 0) return;
            suspects.remove(seq);
            waiting.remove(seq);
            seq.slot = slot;
            seq.status = SequenceStatus.RUNNING;
            running.add(seq);
            recomputing = seq;
            return;
        }
    }

    private String exceedsKv(Sequence seq) {
        return "sequence of " + seq.numTokens() + " tokens exceeds the KV cache of " + kv.capacityTokens() + " tokens";
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
                if (seq == recomputing) recomputing = null;
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
                finish(seq, SequenceStatus.FINISHED_ERROR, Outcome.FAILED, d.error());
                return;
            }
            if (d.forced() != null) {
                for (int t : d.forced()) {
                    seq.append(t);
                    metrics.generatedTokens.increment();
                    if (seq.controller.accept(t)) {
                        finish(seq, SequenceStatus.FINISHED_STOPPED, Outcome.FINISHED, null);
                        return;
                    }
                }
            } else {
                seq.append(d.token());
                metrics.generatedTokens.increment();
                if (seq.params.isStop(d.token()) || seq.controller.accept(d.token())) {
                    finish(seq, SequenceStatus.FINISHED_STOPPED, Outcome.FINISHED, null);
                    return;
                }
            }
            if (seq.numGenerated() >= seq.params.maxNewTokens() || seq.numTokens() >= config.maxModelLen()) {
                finish(seq, SequenceStatus.FINISHED_LENGTH, Outcome.FINISHED, null);
            }
        } catch (RuntimeException e) {
            if (!seq.status.isFinished()) finish(seq, SequenceStatus.FINISHED_ERROR, Outcome.FAILED, "decoding failed: " + e);
        }
    }

    /**
     * A step whose backend call threw: its sequences' KV is undefined. A sequence that ran in a batch
     * goes back to the queue, keeping its tokens, to be recomputed alone (in steps of its own until it
     * has caught up) before it joins a batch again; one that failed while recomputed alone ends
     * {@link Outcome#FAILED} with {@code message}. So a sequence that makes the backend fail takes no
     * other sequence with it, a transient fault loses nothing, and a broken backend fails each
     * sequence after one more step of its own.
     */
    void failStep(SchedulerOutput output, String message) {
        for (SchedulerOutput.Scheduled s : output.scheduled()) {
            Sequence seq = s.sequence();
            if (seq.status.isFinished()) continue;
            if (seq == recomputing) {
                finish(seq, SequenceStatus.FINISHED_ERROR, Outcome.FAILED, message);
            } else {
                requeue(seq);
                suspects.add(seq);
                metrics.retriedSequences.increment();
            }
        }
    }

    /**
     * Ends every unfinished sequence of a request with {@code why}: {@code FINISHED_ABORTED}, or
     * {@code FINISHED_ERROR} for {@link Outcome#FAILED}. No-op for a finished request.
     */
    void abort(RequestState request, Outcome why, String reason) {
        SequenceStatus status = why.abortStatus();
        boolean any = false;
        for (Sequence seq : request.sequences) {
            if (!seq.status.isFinished()) {
                finish(seq, status, why, reason);
                any = true;
            }
        }
        if (any && why != Outcome.FAILED) metrics.abortedRequests.increment();
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

    private void finish(Sequence seq, SequenceStatus status, Outcome outcome, String error) {
        boolean wasWaiting = seq.status == SequenceStatus.WAITING || seq.status == SequenceStatus.PREEMPTED;
        seq.status = status;
        seq.outcome = outcome;
        seq.error = error;
        if (seq == recomputing) recomputing = null;
        if (wasWaiting) {
            waiting.remove(seq);
            suspects.remove(seq);
        } else {
            running.remove(seq);
        }
        freeSlot(seq);
        seq.request.numFinished++;
        if (seq.request.isFinished()) finishedRequests.add(seq.request);
    }

    private void preempt(Sequence seq) {
        requeue(seq);
        metrics.preemptions.increment();
    }

    /** Back to the queue, keeping its tokens, to be recomputed from position 0. */
    private void requeue(Sequence seq) {
        running.remove(seq);
        freeSlot(seq);
        seq.numComputedTokens = 0;
        seq.numForkedTokens = 0;
        if (seq == recomputing) recomputing = null;
        seq.status = SequenceStatus.PREEMPTED;
        waiting.add(seq);
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

}
