package dev.principia.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A broken backend fails every step; the log gets one stack trace per window and a count of the rest. */
class FailureLogTest {
    /** Collects what a logger publishes, instead of printing it. */
    static final class Captured extends Handler implements AutoCloseable {
        final List<LogRecord> records = new ArrayList<>();
        private final Logger logger;
        private final boolean parents;

        Captured(Logger logger) {
            this.logger = logger;
            this.parents = logger.getUseParentHandlers();
            logger.addHandler(this);
            logger.setUseParentHandlers(false);
        }

        @Override
        public synchronized void publish(LogRecord r) {
            records.add(r);
        }

        synchronized List<LogRecord> warnings() {
            return records.stream().filter(r -> r.getLevel().intValue() >= Level.WARNING.intValue()).toList();
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
            logger.removeHandler(this);
            logger.setUseParentHandlers(parents);
        }
    }

    private final Logger logger = Logger.getLogger(FailureLogTest.class.getName() + ".scratch");
    private Captured captured;

    @BeforeEach
    void capture() {
        captured = new Captured(logger);
    }

    @AfterEach
    void release() {
        captured.close();
    }

    @Test
    void firstFailureIsLoggedWithItsCauseTheRestOfTheWindowCountedThenReported() {
        AtomicLong now = new AtomicLong(1_000);
        FailureLog log = new FailureLog(logger, TimeUnit.SECONDS.toNanos(30), now::get);
        RuntimeException first = new IllegalStateException("device lost");
        log.failed("step of 8 failed", first);
        for (int i = 0; i < 64; i++) {
            now.addAndGet(TimeUnit.MILLISECONDS.toNanos(100));
            log.failed("step of 1 failed", new IllegalStateException("device lost"));
        }
        assertEquals(1, captured.warnings().size());
        assertSame(first, captured.warnings().get(0).getThrown());
        assertEquals("step of 8 failed", captured.warnings().get(0).getMessage());
        assertEquals(64, log.suppressed());

        now.addAndGet(TimeUnit.SECONDS.toNanos(30)); // 36.4 s after the first
        RuntimeException later = new IllegalStateException("still lost");
        log.failed("step of 2 failed", later);
        assertEquals(2, captured.warnings().size());
        LogRecord r = captured.warnings().get(1);
        assertSame(later, r.getThrown());
        assertEquals("step of 2 failed (64 more failures since the last one logged, 36 s ago, were counted but not logged)", r.getMessage());
        assertEquals(0, log.suppressed());
    }

    @Test
    void failuresFartherApartThanTheWindowAreEachLoggedWhole() {
        AtomicLong now = new AtomicLong(-5); // nanoTime may be negative: only differences count
        FailureLog log = new FailureLog(logger, 10, now::get);
        for (int i = 0; i < 3; i++) {
            log.failed("failure " + i, new RuntimeException("x" + i));
            now.addAndGet(10);
        }
        assertEquals(List.of("failure 0", "failure 1", "failure 2"), captured.warnings().stream().map(LogRecord::getMessage).toList());
        assertEquals(0, log.suppressed());
    }

    @Test
    void oneSuppressedFailureIsSaidInTheSingular() {
        AtomicLong now = new AtomicLong();
        FailureLog log = new FailureLog(logger, 100, now::get);
        log.failed("a", null);
        now.set(50);
        log.failed("b", null);
        now.set(100);
        log.failed("c", null);
        assertEquals("c (1 more failure since the last one logged, 0 s ago, were counted but not logged)", captured.warnings().get(1).getMessage());
    }

    @Test
    void negativeWindowIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new FailureLog(logger, -1, System::nanoTime));
    }

    /** The engine's path: every step of a broken backend fails, each request fails, and the log gets one warning. */
    @Test
    void aBrokenBackendFailsEveryRequestButLogsOnce() throws Exception {
        ScriptedBackend b = new ScriptedBackend(8, 4096);
        b.failWhen(batch -> new dev.principia.backend.BackendException("device lost"));
        try (Captured engineLog = new Captured(Logger.getLogger(Engine.class.getName()));
             Engine engine = new Engine("t", b, new EngineConfig(8, 256, 8192, 16, 4096), null)) {
            List<GenerationHandle> handles = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                int[] p = SchedulerScenarioTest.prompt(40 + i, 6);
                handles.add(engine.submit(EngineScenarioTest.request("r" + i, 4, p, p)));
            }
            for (GenerationHandle h : handles) {
                for (SequenceOutput o : EngineScenarioTest.await(h).outputs()) {
                    assertEquals(Outcome.FAILED, o.outcome());
                    assertTrue(o.error().contains("device lost"), o.error());
                }
            }
            assertTrue(engine.metrics().failedSteps() >= 8, "each of the 8 sequences failed alone at least once: " + engine.metrics().failedSteps());
            assertEquals(1, engineLog.warnings().size(), "one warning for " + engine.metrics().failedSteps() + " failed steps");
        }
    }
}
