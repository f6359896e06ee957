package dev.principia.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

import dev.principia.backend.ClassifierBackend;

/** The scalar engine's loop on a scripted classifier: deadlines, cancellation, errors, shutdown. */
class ClassifierEngineTest {

    /** Scores a sequence as the sum of its tokens; can hold its calls at a gate and throw once. */
    static final class ScriptedScalar implements ClassifierBackend {
        final ConcurrentLinkedQueue<int[]> seen = new ConcurrentLinkedQueue<>();
        final CountDownLatch entered = new CountDownLatch(1);
        volatile CountDownLatch gate = new CountDownLatch(0);
        volatile Throwable throwOnce;
        volatile boolean inCall;

        @Override
        public float[][] logits(List<int[]> sequences) {
            inCall = true;
            try {
                CountDownLatch g = gate;
                entered.countDown();
                if (!g.await(60, TimeUnit.SECONDS)) throw new IllegalStateException("gate never opened");
                Throwable t = throwOnce;
                if (t != null) {
                    throwOnce = null;
                    if (t instanceof Error e) throw e;
                    throw (RuntimeException) t;
                }
                float[][] out = new float[sequences.size()][];
                for (int i = 0; i < out.length; i++) {
                    seen.add(sequences.get(i));
                    int sum = 0;
                    for (int x : sequences.get(i)) sum += x;
                    out[i] = new float[] {sum};
                }
                return out;
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            } finally {
                inCall = false;
            }
        }

        @Override
        public int numLabels() {
            return 1;
        }

        @Override
        public int maxPositions() {
            return 64;
        }

        @Override
        public String name() {
            return "scripted";
        }

        @Override
        public void close() {
        }
    }

    static Outcome outcomeOf(CompletableFuture<?> f) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(60, TimeUnit.SECONDS));
        return assertInstanceOf(EngineAbortedException.class, e.getCause()).outcome();
    }

    private static void awaitPending(ClassifierEngine engine, int n) {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (engine.numPendingRequests() != n && System.nanoTime() < until) Thread.onSpinWait();
        assertEquals(n, engine.numPendingRequests());
    }

    @Test
    void scoresEverySequenceInOrder() throws Exception {
        try (ClassifierEngine engine = new ClassifierEngine("t", new ScriptedScalar(), 16, 8)) {
            float[][] rows = engine.submit(List.of(new int[] {1, 2}, new int[] {5})).get(60, TimeUnit.SECONDS);
            assertEquals(3f, rows[0][0]);
            assertEquals(5f, rows[1][0]);
            awaitPending(engine, 0);
        }
    }

    @Test
    void expiredAndCancelledCallsNeverReachTheBackend() throws Exception {
        ScriptedScalar backend = new ScriptedScalar();
        CountDownLatch gate = new CountDownLatch(1);
        backend.gate = gate;
        try (ClassifierEngine engine = new ClassifierEngine("t", backend, 16, 8)) {
            ClassifierEngine.Submission first = engine.submit(List.of(new int[] {1}));
            assertTrue(backend.entered.await(60, TimeUnit.SECONDS));
            long soon = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1);
            ClassifierEngine.Submission expires = engine.submit(List.of(new int[] {2}), soon);
            ClassifierEngine.Submission alreadyExpired = engine.submit(List.of(new int[] {3}), System.nanoTime());
            ClassifierEngine.Submission cancelled = engine.submit(List.of(new int[] {4}));
            ClassifierEngine.Submission aborted = engine.submit(List.of(new int[] {5}));
            ClassifierEngine.Submission kept = engine.submit(List.of(new int[] {6}));
            assertTrue(cancelled.cancel(false));
            assertTrue(aborted.abort("caller went away"));
            while (System.nanoTime() - soon < 0) Thread.onSpinWait();
            gate.countDown();
            assertEquals(1f, first.get(60, TimeUnit.SECONDS)[0][0]);
            assertEquals(6f, kept.get(60, TimeUnit.SECONDS)[0][0]);
            assertEquals(Outcome.DEADLINE, outcomeOf(expires));
            assertEquals(Outcome.DEADLINE, outcomeOf(alreadyExpired));
            assertEquals(Outcome.CANCELLED, outcomeOf(aborted));
            assertThrows(CancellationException.class, () -> cancelled.get(60, TimeUnit.SECONDS));
            List<Integer> scored = new ArrayList<>();
            for (int[] s : backend.seen) scored.add(s[0]);
            assertEquals(List.of(1, 6), scored);
            awaitPending(engine, 0);
        }
    }

    @Test
    void anErrorInTheBackendFailsItsCallsAndTheLoopKeepsServing() throws Exception {
        ScriptedScalar backend = new ScriptedScalar();
        StackOverflowError error = new StackOverflowError("injected");
        backend.throwOnce = error;
        try (ClassifierEngine engine = new ClassifierEngine("t", backend, 16, 8)) {
            ClassifierEngine.Submission failed = engine.submit(List.of(new int[] {1}));
            ExecutionException e = assertThrows(ExecutionException.class, () -> failed.get(60, TimeUnit.SECONDS));
            EngineAbortedException aborted = assertInstanceOf(EngineAbortedException.class, e.getCause());
            assertEquals(Outcome.FAILED, aborted.outcome());
            assertSame(error, aborted.getCause());
            assertEquals(7f, engine.submit(List.of(new int[] {7})).get(60, TimeUnit.SECONDS)[0][0]);
            assertEquals(1, engine.failedSteps());
            assertEquals(1, engine.steps());
        }
    }

    @Test
    void fullQueueRefusesAndPendingCountsUnfinishedCalls() throws Exception {
        ScriptedScalar backend = new ScriptedScalar();
        CountDownLatch gate = new CountDownLatch(1);
        backend.gate = gate;
        try (ClassifierEngine engine = new ClassifierEngine("t", backend, 1, 2)) {
            ClassifierEngine.Submission a = engine.submit(List.of(new int[] {1}));
            ClassifierEngine.Submission b = engine.submit(List.of(new int[] {2}));
            assertThrows(QueueFullException.class, () -> engine.submit(List.of(new int[] {3})));
            assertEquals(2, engine.numPendingRequests());
            gate.countDown();
            a.get(60, TimeUnit.SECONDS);
            b.get(60, TimeUnit.SECONDS);
            awaitPending(engine, 0);
        }
    }

    @Test
    void closeWaitsForTheRunningCallAndAnswersQueuedOnesWithShutdown() throws Exception {
        ScriptedScalar backend = new ScriptedScalar();
        CountDownLatch gate = new CountDownLatch(1);
        backend.gate = gate;
        ClassifierEngine engine = new ClassifierEngine("t", backend, 1, 8);
        ClassifierEngine.Submission running = engine.submit(List.of(new int[] {1}));
        assertTrue(backend.entered.await(60, TimeUnit.SECONDS));
        ClassifierEngine.Submission queued = engine.submit(List.of(new int[] {2}));
        AtomicBoolean inCallWhenCloseReturned = new AtomicBoolean(true);
        Thread closer = new Thread(() -> {
            engine.close();
            inCallWhenCloseReturned.set(backend.inCall);
        });
        closer.start();
        while (closer.isAlive() && closer.getState() != Thread.State.WAITING) Thread.onSpinWait();
        gate.countDown();
        closer.join(60_000);
        assertFalse(closer.isAlive());
        assertFalse(inCallWhenCloseReturned.get(), "close() returned while the backend was scoring");
        assertEquals(1f, running.getNow(null)[0][0]);
        assertEquals(Outcome.SHUTDOWN, outcomeOf(queued));
        assertThrows(IllegalStateException.class, () -> engine.submit(List.of(new int[] {3})));
        assertEquals(0, engine.numPendingRequests());
    }

    @Test
    void everyAcceptedCallCompletesExactlyOnceWhileCloseRaces() throws Exception {
        ClassifierEngine engine = new ClassifierEngine("t", new ScriptedScalar(), 8, 64);
        ConcurrentLinkedQueue<ClassifierEngine.Submission> accepted = new ConcurrentLinkedQueue<>();
        List<Thread> submitters = new ArrayList<>();
        for (int t = 0; t < 6; t++) {
            Thread thread = new Thread(() -> {
                while (true) {
                    try {
                        accepted.add(engine.submit(List.of(new int[] {1, 2})));
                    } catch (QueueFullException e) {
                        Thread.yield();
                    } catch (IllegalStateException e) {
                        return;
                    }
                }
            });
            thread.start();
            submitters.add(thread);
        }
        while (accepted.size() < 50) Thread.onSpinWait();
        engine.close();
        for (Thread t : submitters) t.join(60_000);
        for (ClassifierEngine.Submission s : accepted) {
            assertTrue(s.isDone(), "answered before close() returned");
            if (s.isCompletedExceptionally()) assertEquals(Outcome.SHUTDOWN, outcomeOf(s));
        }
        assertEquals(0, engine.numPendingRequests());
    }
}
