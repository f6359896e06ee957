package dev.principia.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.principia.backend.BackendException;
import dev.principia.backend.Batch;
import dev.principia.backend.BatchResult;

/**
 * The scheduler driven step by step against {@link ScriptedBackend}, in the style of vLLM's scheduler
 * tests: no threads, no ONNX Runtime. {@link #step} does what the engine loop does; after every step
 * {@link #checkInvariants} compares the scheduler's view of every slot with the backend's.
 */
class SchedulerScenarioTest {
    private final EngineMetrics metrics = new EngineMetrics();
    private final ScriptedBackend backend = new ScriptedBackend(16, 4096);
    private final List<RequestState> requests = new ArrayList<>();
    private Scheduler scheduler;

    private void scheduler(int maxNumSeqs, int maxNumBatchedTokens, int kvCacheTokens) {
        scheduler = new Scheduler(new EngineConfig(maxNumSeqs, maxNumBatchedTokens, kvCacheTokens, 64, 4096), 16, metrics, null);
    }

    static int[] prompt(int seed, int length) {
        int[] p = new int[length];
        for (int i = 0; i < length; i++) p[i] = 2 + Math.floorMod(seed * 31 + i * 7 + i * i, 60);
        return p;
    }

    static int[] concat(int[] a, int[] b) {
        int[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private RequestState add(String id, int priority, int maxNew, int[]... prompts) {
        int[] maxNews = new int[prompts.length];
        Arrays.fill(maxNews, maxNew);
        return add(id, priority, maxNews, prompts);
    }

    private RequestState add(String id, int priority, int[] maxNews, int[]... prompts) {
        List<SequenceSpec> specs = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) specs.add(new SequenceSpec(prompts[i], SamplingParams.greedy(maxNews[i]), null));
        RequestState r = new RequestState(new GenerationRequest(id, specs, priority, Long.MAX_VALUE), System.nanoTime());
        scheduler.add(r);
        requests.add(r);
        return r;
    }

    /** One engine step by hand: schedule, free, copy, execute, update, free. */
    private SchedulerOutput step() {
        SchedulerOutput out = scheduler.schedule();
        for (int slot : scheduler.drainFreedSlots()) backend.freeKv(slot);
        for (SchedulerOutput.Fork f : out.forks()) backend.copyKv(f.srcSlot(), f.dstSlot(), f.numTokens());
        if (!out.scheduled().isEmpty()) {
            List<Batch.Entry> entries = new ArrayList<>();
            for (SchedulerOutput.Scheduled s : out.scheduled()) {
                Sequence seq = s.sequence();
                entries.add(new Batch.Entry(seq.slot, seq.tokens(seq.numComputedTokens, seq.numComputedTokens + s.numTokens()), seq.numComputedTokens));
            }
            BatchResult result = null;
            try {
                result = backend.execute(new Batch(entries));
            } catch (BackendException e) {
                scheduler.failStep(out, "backend failed: " + e.getMessage());
            }
            if (result != null) scheduler.update(out, result);
        }
        for (int slot : scheduler.drainFreedSlots()) backend.freeKv(slot);
        checkInvariants();
        return out;
    }

    private void runToCompletion() {
        for (int i = 0; i < 10_000 && scheduler.hasWork(); i++) step();
        if (scheduler.hasWork()) fail("no progress after 10000 steps");
        checkInvariants();
        assertEquals(0, scheduler.kvUsedTokens());
        for (int slot = 0; slot < 16; slot++) assertEquals(0, backend.kvLength(slot), "slot " + slot);
        assertEquals(requests.size(), scheduler.drainFinished().size());
    }

    /** Running sequences own distinct slots holding exactly their computed positions; no one else holds a slot. */
    private void checkInvariants() {
        Set<Integer> slots = new HashSet<>();
        for (RequestState r : requests) {
            for (Sequence s : r.sequences) {
                if (s.status == SequenceStatus.RUNNING) {
                    assertTrue(s.slot >= 0 && slots.add(s.slot), s + " has its own slot");
                    assertEquals(s.numComputedTokens, backend.kvLength(s.slot), s + " KV");
                } else {
                    assertEquals(-1, s.slot, s + " holds no slot");
                }
            }
        }
    }

    private void assertGreedyOutputs(RequestState r) {
        for (Sequence s : r.sequences) {
            SequenceOutput o = s.output();
            assertEquals(Outcome.FINISHED, o.outcome(), s + ": " + o.error());
            int[] prompt = r.request.sequences().get(s.index).promptTokens();
            assertArrayEquals(ScriptedBackend.reference(prompt, s.params.maxNewTokens()), o.tokenIds(), s.toString());
        }
    }

    @Test
    void forksWhoseParentFinishedFirstCopyFromARunningSibling() {
        scheduler(2, 512, 8192);
        int[] p = prompt(1, 369);
        RequestState r = add("k8", 0, 12, p, p, p, p, p, p, p, p);
        runToCompletion();
        assertGreedyOutputs(r);
        for (int i = 1; i < 8; i++) assertEquals(368, r.sequences.get(i).output().numForkedTokens(), "sample " + i);
        assertEquals(7 * 368, metrics.forkedTokens());
        assertEquals(369 + 7, metrics.promptTokensComputed());
    }

    @Test
    void oneSlotComputesEveryPrefixItself() {
        scheduler(1, 512, 8192);
        int[] p = prompt(2, 50);
        RequestState r = add("k8", 0, 5, p, p, p, p, p, p, p, p);
        runToCompletion();
        assertGreedyOutputs(r);
        assertEquals(0, metrics.forkedTokens(), "no sibling holds the prefix while the next one starts");
        assertEquals(8 * 50, metrics.promptTokensComputed());
    }

    /** Shuffled samples: all share the part before the responses, samples with the same order share everything. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 16})
    void slotExhaustionWithManyPartialForks(int maxNumSeqs) {
        scheduler(maxNumSeqs, 64, 4096);
        int[] head = prompt(3, 40);
        int[] a = concat(head, prompt(4, 9));
        int[] b = concat(head, prompt(5, 13));
        RequestState r = add("shuffled", 0, 7, a, b, a, b, b, a, head);
        RequestState other = add("other", 0, 4, prompt(6, 20));
        runToCompletion();
        assertGreedyOutputs(r);
        assertGreedyOutputs(other);
        if (maxNumSeqs == 16) {
            assertEquals(48, r.sequences.get(2).output().numForkedTokens());
            assertEquals(40, r.sequences.get(1).output().numForkedTokens());
            assertEquals(39, r.sequences.get(6).output().numForkedTokens());
        }
    }

    @Test
    void forksWaitOutTheirParentsPreemptionAndStillShareThePrefix() {
        scheduler(4, 8, 64);
        RequestState high = add("high", 5, 36, prompt(7, 25));
        int[] p = prompt(8, 20);
        RequestState forked = add("forked", 0, 10, p, p, p);
        Sequence parent = forked.sequences.get(0);
        Sequence child = forked.sequences.get(1);
        boolean parentLostKvWhileChildWaited = false;
        for (int i = 0; i < 10_000 && scheduler.hasWork(); i++) {
            int before = parent.numComputedTokens;
            step();
            parentLostKvWhileChildWaited |= parent.numComputedTokens < before && child.status == SequenceStatus.WAITING;
        }
        assertTrue(parentLostKvWhileChildWaited, "the scenario preempts the parent while its forks wait");
        runToCompletion();
        assertGreedyOutputs(high);
        assertGreedyOutputs(forked);
        assertEquals(19, child.output().numForkedTokens());
        assertEquals(19, forked.sequences.get(2).output().numForkedTokens());
    }

    @Test
    void preemptedForkRecomputesFromALiveSibling() {
        scheduler(4, 64, 70);
        RequestState high = add("high", 5, 10, prompt(9, 30));
        int[] p = prompt(10, 15);
        RequestState forked = add("forked", 0, new int[] {30, 8}, p, p);
        Sequence child = forked.sequences.get(1);
        boolean preempted = false;
        for (int i = 0; i < 10_000 && scheduler.hasWork(); i++) {
            step();
            preempted |= child.status == SequenceStatus.PREEMPTED;
        }
        assertTrue(preempted, "the forked sample is the lowest running one when KV runs short");
        runToCompletion();
        assertGreedyOutputs(high);
        assertGreedyOutputs(forked);
        assertEquals(15, child.output().numForkedTokens(), "re-forked its whole prompt from the running parent");
    }

    @Test
    void higherPriorityIsAdmittedFirstAndFcfsWithinAPriority() {
        scheduler(1, 64, 4096);
        add("r0", 0, 2, prompt(10, 5));
        add("r1", 5, 2, prompt(11, 5));
        add("r2", 1, 2, prompt(12, 5));
        add("r3", 5, 2, prompt(13, 5));
        List<String> order = new ArrayList<>();
        while (scheduler.hasWork()) {
            for (SchedulerOutput.Scheduled s : step().scheduled()) {
                String id = s.sequence().request.request.id();
                if (!order.contains(id)) order.add(id);
            }
        }
        assertEquals(List.of("r1", "r3", "r2", "r0"), order);
    }

    @Test
    void abortWhileWaiting() {
        scheduler(1, 64, 4096);
        RequestState running = add("running", 0, 4, prompt(14, 6));
        RequestState waiting = add("waiting", 0, 4, prompt(15, 6));
        step();
        scheduler.abort(waiting, Outcome.CANCELLED, "caller");
        assertEquals(SequenceStatus.FINISHED_ABORTED, waiting.sequences.get(0).status);
        assertEquals(Outcome.CANCELLED, waiting.sequences.get(0).output().outcome());
        assertEquals(List.of(waiting), scheduler.drainFinished());
        requests.remove(waiting);
        runToCompletion();
        assertGreedyOutputs(running);
        assertEquals(1, metrics.abortedRequests());
    }

    @Test
    void abortWhileRunningFreesItsSlotsAndSparesOthers() {
        scheduler(4, 64, 4096);
        RequestState victim = add("victim", 0, 30, prompt(16, 6), prompt(17, 6));
        RequestState other = add("other", 0, 8, prompt(18, 6));
        step();
        step();
        scheduler.abort(victim, Outcome.DEADLINE, "deadline exceeded");
        List<Integer> freed = scheduler.drainFreedSlots();
        assertEquals(2, freed.size());
        for (int slot : freed) backend.freeKv(slot);
        assertEquals(other.sequences.get(0).numComputedTokens, scheduler.kvUsedTokens());
        for (Sequence s : victim.sequences) assertEquals(Outcome.DEADLINE, s.output().outcome());
        assertEquals(List.of(victim), scheduler.drainFinished());
        requests.remove(victim);
        runToCompletion();
        assertGreedyOutputs(other);
    }

    @Test
    void abortWhilePreempted() {
        scheduler(4, 64, 30);
        RequestState keeps = add("keeps", 0, 12, prompt(19, 10));
        RequestState preempted = add("preempted", 0, 12, prompt(20, 10));
        while (metrics.preemptions() == 0) step();
        Sequence s = preempted.sequences.get(0);
        assertEquals(SequenceStatus.PREEMPTED, s.status);
        scheduler.abort(preempted, Outcome.SHUTDOWN, Engine.ABORTED_SHUTDOWN);
        assertEquals(Outcome.SHUTDOWN, s.output().outcome());
        assertTrue(s.output().tokenIds().length > 0, "keeps what it generated before preemption");
        runToCompletion();
        assertGreedyOutputs(keeps);
    }

    @Test
    void abortWhileForksWaitForTheirParent() {
        scheduler(4, 16, 4096);
        int[] p = prompt(21, 40);
        RequestState r = add("k4", 0, 5, p, p, p, p);
        RequestState other = add("other", 0, 5, prompt(22, 8));
        SchedulerOutput first = step();
        assertEquals(0, first.forks().size());
        assertEquals(SequenceStatus.WAITING, r.sequences.get(1).status, "waits for the prefix being computed");
        scheduler.abort(r, Outcome.CANCELLED, "caller");
        for (Sequence s : r.sequences) assertEquals(Outcome.CANCELLED, s.output().outcome());
        runToCompletion();
        assertGreedyOutputs(other);
    }

    @Test
    void abortBetweenScheduleAndUpdateIgnoresTheStepsLogits() {
        scheduler(4, 64, 4096);
        int[] p = prompt(23, 10);
        RequestState r = add("k2", 0, 5, p, p);
        step();
        SchedulerOutput out = scheduler.schedule();
        assertEquals(1, out.forks().size(), "the second sample forks now");
        scheduler.abort(r, Outcome.CANCELLED, "caller");
        float[][] logits = new float[out.scheduled().size()][ScriptedBackend.VOCAB];
        scheduler.update(out, new BatchResult(logits));
        for (Sequence s : r.sequences) {
            assertEquals(SequenceStatus.FINISHED_ABORTED, s.status);
            assertEquals(s.index == 0 ? 1 : 0, s.numGenerated(), "no token appended after the abort");
        }
        assertEquals(0, scheduler.kvUsedTokens());
        assertNotEquals(List.of(), scheduler.drainFreedSlots());
    }

    @Test
    void sequenceLongerThanTheKvPoolFailsAloneAndOthersRun() {
        scheduler(4, 64, 30);
        RequestState tooLong = add("too-long", 0, 4, prompt(24, 31));
        RequestState grows = add("grows", 0, 40, prompt(25, 10));
        RequestState fine = add("fine", 0, 4, prompt(26, 8));
        runToCompletion();
        assertEquals(Outcome.FAILED, tooLong.sequences.get(0).output().outcome());
        assertEquals(Outcome.FAILED, grows.sequences.get(0).output().outcome(), "cannot grow past the whole pool");
        assertTrue(grows.sequences.get(0).output().error().contains("exceeds the KV cache"));
        assertGreedyOutputs(fine);
    }

    @Test
    void failedStepRecomputesEachOfItsSequencesAloneAndFailsOnlyTheOneThatFailsAlone() {
        scheduler(4, 64, 4096);
        int[] bad = prompt(28, 6);
        bad[2] = 0; // in no other prompt and never generated: any batch holding it fails
        backend.failOnToken(0);
        RequestState first = add("first", 0, 3, prompt(27, 6));
        RequestState poison = add("poison", 0, 3, bad);
        RequestState third = add("third", 0, 3, prompt(29, 6));
        assertEquals(3, step().scheduled().size());
        assertEquals(3, metrics.retriedSequences());
        assertEquals(0, scheduler.kvUsedTokens());
        for (RequestState r : List.of(first, poison, third)) assertEquals(SequenceStatus.PREEMPTED, r.sequences.get(0).status);
        for (RequestState r : List.of(first, poison, third)) {
            SchedulerOutput out = step();
            assertEquals(List.of(r.sequences.get(0)), out.scheduled().stream().map(SchedulerOutput.Scheduled::sequence).toList(), "alone");
        }
        SequenceOutput failed = poison.sequences.get(0).output();
        assertEquals(Outcome.FAILED, failed.outcome());
        assertTrue(failed.error().contains("poisoned input"), failed.error());
        assertEquals(3, metrics.retriedSequences(), "failing alone is final");
        runToCompletion();
        assertGreedyOutputs(first);
        assertGreedyOutputs(third);
    }

    @Test
    void aRecomputedSequenceRunsAloneWhileOthersWaitThenRejoinsTheBatch() {
        scheduler(4, 64, 4096);
        RequestState running = add("running", 0, 8, prompt(30, 6));
        step();
        AtomicBoolean once = new AtomicBoolean();
        backend.failWhen(batch -> batch.entries().size() == 2 && once.compareAndSet(false, true) ? new BackendException("injected") : null);
        RequestState joined = add("joined", 0, 8, prompt(31, 6));
        assertEquals(2, step().scheduled().size()); // fails: both recomputed alone, the earlier first
        assertEquals(List.of(running.sequences.get(0)), step().scheduled().stream().map(SchedulerOutput.Scheduled::sequence).toList());
        assertEquals(List.of(joined.sequences.get(0)), step().scheduled().stream().map(SchedulerOutput.Scheduled::sequence).toList());
        assertEquals(2, step().scheduled().size(), "then batched again");
        runToCompletion();
        assertGreedyOutputs(running);
        assertGreedyOutputs(joined);
    }

    @Test
    void aSequenceIsRecomputedAloneUntilItHasCaughtUpSoAFaultInALaterChunkFailsOnlyIt() {
        scheduler(4, 8, 4096);
        int[] bad = prompt(32, 12);
        bad[9] = 0; // in its second chunk of 8 when recomputed alone
        backend.failOnToken(0);
        RequestState fine = add("fine", 0, 6, prompt(33, 3));
        RequestState poison = add("poison", 0, 6, bad);
        runToCompletion();
        assertGreedyOutputs(fine);
        assertEquals(Outcome.FAILED, poison.sequences.get(0).output().outcome());
        assertEquals(2, metrics.retriedSequences(), "once each, in the batch of the poison's second chunk");
    }

    @Test
    void aSuspectThatDoesNotFitWaitsForTheRunningToFinishAndNothingJumpsAhead() {
        scheduler(4, 8, 24);
        RequestState longer = add("long", 0, 10, prompt(34, 6));
        step();
        AtomicBoolean once = new AtomicBoolean();
        backend.failWhen(batch -> batch.entries().size() == 2 && once.compareAndSet(false, true) ? new BackendException("injected") : null);
        RequestState big = add("big", 0, 2, prompt(35, 18));
        assertEquals(2, step().scheduled().size()); // fails; "big" had computed one chunk of 7
        RequestState later = add("later", 0, 2, prompt(36, 4));
        Sequence l = longer.sequences.get(0), b = big.sequences.get(0);
        List<Sequence> ran = List.of();
        for (int i = 0; i < 20 && !ran.contains(b); i++) {
            ran = step().scheduled().stream().map(SchedulerOutput.Scheduled::sequence).toList();
            if (!ran.contains(b)) assertEquals(List.of(l), ran, "while \"big\" waits for KV for all 18 tokens, only \"long\" steps");
        }
        assertEquals(List.of(b), ran, "alone");
        assertEquals(SequenceStatus.FINISHED_LENGTH, l.status, "the room came from \"long\" finishing");
        runToCompletion();
        assertGreedyOutputs(longer);
        assertGreedyOutputs(big);
        assertGreedyOutputs(later);
    }
}
