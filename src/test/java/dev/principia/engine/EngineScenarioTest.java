package dev.principia.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

import dev.principia.backend.BackendException;

/** The engine's loop thread on {@link ScriptedBackend}: faults, outcomes, reservations, shutdown races. */
class EngineScenarioTest {

    static GenerationRequest request(String id, int maxNew, int[]... prompts) {
        List<SequenceSpec> specs = new ArrayList<>();
        for (int[] p : prompts) specs.add(new SequenceSpec(p, SamplingParams.greedy(maxNew), null));
        return new GenerationRequest(id, specs, 0, Long.MAX_VALUE);
    }

    static GenerationResult await(GenerationHandle h) throws Exception {
        return h.result().get(60, TimeUnit.SECONDS);
    }

    static void assertReference(GenerationRequest request, GenerationResult result) {
        for (SequenceOutput o : result.outputs()) {
            assertEquals(Outcome.FINISHED, o.outcome(), o.index() + ": " + o.error());
            SequenceSpec spec = request.sequences().get(o.index());
            assertArrayEquals(ScriptedBackend.reference(spec.promptTokens(), spec.params().maxNewTokens()), o.tokenIds());
        }
    }

    /** Issue #9: with two slots, the samples after the first copied KV from the finished parent's freed slot. */
    @Test
    void forkWhoseParentFinishedNoLongerKillsTheEngine() throws Exception {
        int[] p = SchedulerScenarioTest.prompt(1, 369);
        ScriptedBackend b = new ScriptedBackend(8, 4096);
        try (Engine engine = new Engine("t", b, new EngineConfig(2, 512, 8192, 8, 4096), null)) {
            GenerationRequest k8 = request("k8", 12, p, p, p, p, p, p, p, p);
            GenerationRequest other = request("other", 20, SchedulerScenarioTest.prompt(2, 30));
            GenerationHandle h = engine.submit(k8);
            GenerationHandle o = engine.submit(other);
            GenerationResult r = await(h);
            for (SequenceOutput out : r.outputs()) assertEquals(SequenceStatus.FINISHED_LENGTH, out.status(), out.index() + ": " + out.error());
            assertReference(k8, r);
            assertReference(other, await(o));
            assertTrue(engine.metrics().forkedTokens() > 0);
            assertEquals(0, engine.metrics().loopErrors());
            assertEquals(0, engine.metrics().failedSteps());
        }
    }

    @Test
    void aTransientBackendFaultLosesNothing() throws Exception {
        ScriptedBackend b = new ScriptedBackend(4, 4096);
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch gate = new CountDownLatch(1);
        b.gate(entered, gate);
        AtomicBoolean failed = new AtomicBoolean();
        b.failWhen(batch -> batch.entries().size() == 2 && failed.compareAndSet(false, true) ? new BackendException("injected") : null);
        try (Engine engine = new Engine("t", b, new EngineConfig(2, 64, 4096, 8, 4096), null)) {
            GenerationRequest aRequest = request("a", 6, SchedulerScenarioTest.prompt(3, 8));
            GenerationHandle a = engine.submit(aRequest);
            assertTrue(entered.await(60, TimeUnit.SECONDS));
            GenerationRequest bRequest = request("b", 6, SchedulerScenarioTest.prompt(4, 8));
            GenerationHandle second = engine.submit(bRequest);
            GenerationRequest cRequest = request("c", 6, SchedulerScenarioTest.prompt(5, 8));
            GenerationHandle c = engine.submit(cRequest);
            gate.countDown();
            assertReference(aRequest, await(a));
            assertReference(bRequest, await(second));
            assertReference(cRequest, await(c));
            assertEquals(1, engine.metrics().failedSteps());
            assertEquals(2, engine.metrics().retriedSequences());
            assertEquals(0, engine.metrics().loopErrors());
            assertEquals(0, engine.kvUsedTokens());
            List<dev.principia.backend.Batch> batches = b.batches();
            int failedAt = -1;
            for (int i = 0; i < batches.size() && failedAt < 0; i++) if (batches.get(i).entries().size() == 2) failedAt = i;
            for (int i = failedAt + 1; i <= failedAt + 2; i++) {
                assertEquals(1, batches.get(i).entries().size(), "each sequence of the failed step is recomputed alone");
                assertEquals(0, batches.get(i).entries().get(0).startPosition(), "from position 0");
            }
        }
    }

    @Test
    void aSequenceThatMakesTheBackendFailFailsAloneAndTakesNoOtherWithIt() throws Exception {
        ScriptedBackend b = new ScriptedBackend(4, 4096);
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch gate = new CountDownLatch(1);
        b.gate(entered, gate);
        // token 0 is in no other prompt and never generated: any batch holding it fails, every time
        b.failOnToken(0);
        int[] bad = SchedulerScenarioTest.prompt(12, 8);
        bad[5] = 0;
        try (Engine engine = new Engine("t", b, new EngineConfig(4, 64, 4096, 8, 4096), null)) {
            GenerationRequest aRequest = request("a", 6, SchedulerScenarioTest.prompt(13, 8));
            GenerationHandle a = engine.submit(aRequest);
            assertTrue(entered.await(60, TimeUnit.SECONDS)); // a is running: the poison joins its batch
            GenerationHandle poison = engine.submit(request("poison", 6, bad));
            GenerationRequest cRequest = request("c", 6, SchedulerScenarioTest.prompt(14, 8), SchedulerScenarioTest.prompt(15, 8));
            GenerationHandle c = engine.submit(cRequest);
            gate.countDown();
            SequenceOutput o = await(poison).outputs().get(0);
            assertEquals(Outcome.FAILED, o.outcome());
            assertTrue(o.error().contains("poisoned input"), o.error());
            assertReference(aRequest, await(a));
            assertReference(cRequest, await(c));
            assertEquals(2, engine.metrics().failedSteps(), "the shared step, then the poison's own");
            assertEquals(4, engine.metrics().retriedSequences());
            assertEquals(0, engine.metrics().loopErrors());
            assertEquals(0, engine.kvUsedTokens());
            GenerationRequest next = request("next", 5, SchedulerScenarioTest.prompt(16, 9));
            assertReference(next, await(engine.submit(next)));
        }
    }

    @Test
    void loopErrorFailsTheRequestsInTheEngineAndItKeepsServing() throws Exception {
        SequenceController explodes = new SequenceController() {
            @Override
            public boolean accept(int tokenId) {
                throw new AssertionError("controller bug");
            }
        };
        ScriptedBackend b = new ScriptedBackend(4, 4096);
        try (Engine engine = new Engine("t", b, new EngineConfig(4, 64, 4096, 8, 4096), null)) {
            GenerationResult r = await(engine.submit(new GenerationRequest("bad", List.of(
                    new SequenceSpec(SchedulerScenarioTest.prompt(6, 5), SamplingParams.greedy(4), explodes)), 0, Long.MAX_VALUE)));
            SequenceOutput o = r.outputs().get(0);
            assertEquals(Outcome.FAILED, o.outcome(), "a loop error is never read as a deadline or an abort");
            assertEquals(SequenceStatus.FINISHED_ERROR, o.status());
            assertTrue(o.error().contains("controller bug"), o.error());
            assertEquals(1, engine.metrics().loopErrors());
            assertEquals(1, engine.metrics().failedSteps());
            GenerationRequest next = request("next", 5, SchedulerScenarioTest.prompt(7, 9));
            assertReference(next, await(engine.submit(next)));
            assertEquals(0, engine.numPendingRequests());
        }
    }

    @Test
    void outcomesSayWhyARequestEnded() throws Exception {
        ScriptedBackend b = new ScriptedBackend(4, 4096);
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch gate = new CountDownLatch(1);
        b.gate(entered, gate);
        Engine engine = new Engine("t", b, new EngineConfig(4, 64, 4096, 8, 4096), null);
        GenerationHandle running = engine.submit(request("running", 100, SchedulerScenarioTest.prompt(8, 8)));
        assertTrue(entered.await(60, TimeUnit.SECONDS));
        GenerationHandle cancelled = engine.submit(request("cancelled", 100, SchedulerScenarioTest.prompt(9, 8)));
        GenerationHandle late = engine.submit(request("late", 100, SchedulerScenarioTest.prompt(10, 8)));
        GenerationHandle expired = engine.submit(new GenerationRequest("expired", List.of(new SequenceSpec(SchedulerScenarioTest.prompt(11, 8),
                SamplingParams.greedy(100), null)), 0, System.nanoTime()));
        cancelled.abort("caller went away");
        late.abort(Outcome.DEADLINE, "caller's deadline");
        assertThrows(IllegalArgumentException.class, () -> late.abort(Outcome.FINISHED, "no"));
        CountDownLatch secondGate = new CountDownLatch(1);
        b.gate(new CountDownLatch(1), secondGate); // "running" stays in its next step until close() waits for it
        gate.countDown();
        assertEquals(Outcome.CANCELLED, await(cancelled).outputs().get(0).outcome());
        assertEquals(SequenceStatus.FINISHED_ABORTED, await(cancelled).outputs().get(0).status());
        assertEquals(Outcome.DEADLINE, await(late).outputs().get(0).outcome());
        assertEquals(Outcome.DEADLINE, await(expired).outputs().get(0).outcome());
        assertEquals("deadline exceeded", await(expired).outputs().get(0).error());
        Thread closer = new Thread(engine::close);
        closer.start();
        while (closer.isAlive() && closer.getState() != Thread.State.WAITING) Thread.onSpinWait();
        secondGate.countDown();
        closer.join(60_000);
        assertTrue(running.result().isDone(), "answered before close() returned");
        SequenceOutput o = running.result().get().outputs().get(0);
        assertEquals(Outcome.SHUTDOWN, o.outcome());
        assertEquals(Engine.ABORTED_SHUTDOWN, o.error());
        assertEquals(4, engine.metrics().abortedRequests(), "cancelled, late, expired and the one cut by shutdown");
    }

    @Test
    void reservationsHoldPlacesUntilSubmittedOrClosed() throws Exception {
        ScriptedBackend b = new ScriptedBackend(4, 4096);
        try (Engine engine = new Engine("t", b, new EngineConfig(4, 64, 4096, 2, 4096), null);
             Engine otherEngine = new Engine("u", new ScriptedBackend(4, 4096), new EngineConfig(4, 64, 4096, 2, 4096), null)) {
            Reservation first = engine.reserve();
            Reservation second = engine.reserve();
            assertThrows(QueueFullException.class, engine::reserve);
            assertThrows(QueueFullException.class, () -> engine.submit(request("x", 2, SchedulerScenarioTest.prompt(12, 4))));
            assertEquals(2, engine.numPendingRequests());
            first.close();
            first.close();
            assertEquals(1, engine.numPendingRequests(), "close is idempotent");
            GenerationRequest r = request("r", 3, SchedulerScenarioTest.prompt(13, 4));
            GenerationHandle h;
            try (Reservation third = engine.reserve()) {
                h = engine.submit(r, third);
                assertFalse(third.isOpen());
                assertThrows(IllegalStateException.class, () -> engine.submit(r, third));
            }
            assertReference(r, await(h));
            assertThrows(IllegalArgumentException.class, () -> otherEngine.submit(r, second));
            assertEquals(1, engine.numPendingRequests(), "only the unused reservation is left");
            second.close();
            assertEquals(0, engine.numPendingRequests());
            assertEquals(2, engine.metrics().rejectedRequests());
        }
    }

    @Test
    void closedEngineRefusesReservationsAndTheirSubmits() {
        Engine engine = new Engine("t", new ScriptedBackend(2, 4096), new EngineConfig(2, 64, 4096, 4, 4096), null);
        Reservation held = engine.reserve();
        engine.close();
        assertThrows(IllegalStateException.class, engine::reserve);
        assertThrows(IllegalStateException.class, () -> engine.submit(request("late", 2, SchedulerScenarioTest.prompt(14, 4)), held));
        assertTrue(held.isOpen(), "a refused submit leaves the reservation to its owner");
        held.close();
        assertEquals(0, engine.numPendingRequests());
    }

    /** Issue #10: a submit racing close() used to leave a future that never completed. */
    @Test
    void everyAcceptedRequestIsAnsweredExactlyOnceWhileCloseRaces() throws Exception {
        for (int round = 0; round < 5; round++) {
            Engine engine = new Engine("t", new ScriptedBackend(8, 4096), new EngineConfig(8, 256, 8192, 64, 4096), null);
            ConcurrentLinkedQueue<GenerationHandle> accepted = new ConcurrentLinkedQueue<>();
            CountDownLatch started = new CountDownLatch(8);
            List<Thread> submitters = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int seed = t;
                Thread thread = new Thread(() -> {
                    started.countDown();
                    for (int i = 0; ; i++) {
                        try {
                            accepted.add(engine.submit(request("t" + seed + "-" + i, 3, SchedulerScenarioTest.prompt(seed * 1000 + i, 6))));
                        } catch (QueueFullException e) {
                            Thread.yield();
                        } catch (IllegalStateException e) {
                            return; // closed
                        }
                    }
                });
                thread.start();
                submitters.add(thread);
            }
            assertTrue(started.await(60, TimeUnit.SECONDS));
            while (accepted.size() < 50) Thread.onSpinWait();
            engine.close();
            for (Thread t : submitters) t.join(60_000);
            for (GenerationHandle h : accepted) {
                assertTrue(h.result().isDone(), "answered before close() returned");
                for (SequenceOutput o : h.result().get().outputs()) {
                    assertTrue(o.outcome() == Outcome.FINISHED || o.outcome() == Outcome.SHUTDOWN, o.outcome() + ": " + o.error());
                }
            }
            assertEquals(0, engine.numPendingRequests(), "one completion per accepted request");
        }
    }

    @Test
    void closeWaitsForAStepInsideTheBackend() throws Exception {
        ScriptedBackend b = new ScriptedBackend(2, 4096);
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch gate = new CountDownLatch(1);
        b.gate(entered, gate);
        Engine engine = new Engine("t", b, new EngineConfig(2, 64, 4096, 4, 4096), null);
        GenerationHandle h = engine.submit(request("stuck", 50, SchedulerScenarioTest.prompt(15, 8)));
        assertTrue(entered.await(60, TimeUnit.SECONDS));
        AtomicBoolean executingWhenCloseReturned = new AtomicBoolean(true);
        Thread closer = new Thread(() -> {
            engine.close();
            executingWhenCloseReturned.set(b.inExecute());
            b.close();
        });
        closer.start();
        while (closer.isAlive() && closer.getState() != Thread.State.WAITING) Thread.onSpinWait();
        gate.countDown();
        closer.join(60_000);
        assertFalse(closer.isAlive());
        assertFalse(executingWhenCloseReturned.get(), "close() returned while backend.execute was running");
        assertEquals(0, b.callsAfterClose());
        assertEquals(Outcome.SHUTDOWN, h.result().getNow(null).outputs().get(0).outcome());
    }

    @Test
    void closeFromACompletionCallbackOnTheLoopThreadDoesNotDeadlock() throws Exception {
        ScriptedBackend b = new ScriptedBackend(2, 4096);
        Engine engine = new Engine("t", b, new EngineConfig(2, 64, 4096, 4, 4096), null);
        GenerationHandle h = engine.submit(request("r", 2, SchedulerScenarioTest.prompt(16, 4)));
        h.result().thenRun(engine::close);
        await(h);
        engine.close();
        assertThrows(IllegalStateException.class, engine::reserve);
    }
}
