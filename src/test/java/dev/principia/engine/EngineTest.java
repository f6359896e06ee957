package dev.principia.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.principia.backend.Backend;
import dev.principia.backend.BackendException;
import dev.principia.backend.BackendInfo;
import dev.principia.backend.Batch;
import dev.principia.backend.BatchResult;
import dev.principia.backend.onnx.OnnxBackend;
import dev.principia.model.ModelConfig;
import dev.principia.model.TestModels;
import dev.principia.model.TinyModel;

/** The engine on a real tiny model run by ONNX Runtime; slow references are plain loops over the backend. */
class EngineTest {
    @TempDir
    static Path dir;
    static Path onnx;
    static ModelConfig config;

    @BeforeAll
    static void export() throws Exception {
        TinyModel.Spec spec = TestModels.llama();
        onnx = TestModels.exported(spec, 11, dir);
        config = spec.toConfig();
    }

    static OnnxBackend backend(int slots) {
        return new OnnxBackend(onnx, config, new OnnxBackend.Options(1, slots, config.maxPositionEmbeddings()));
    }

    static EngineConfig engineConfig(int maxSeqs, int kvTokens) {
        return new EngineConfig(maxSeqs, 64, kvTokens, 64, config.maxPositionEmbeddings());
    }

    static int[] prompt(long seed, int length) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] p = new int[length];
        for (int i = 0; i < length; i++) p[i] = 3 + r.nextInt(500);
        return p;
    }

    /** Slow reference: greedy generation of one sequence, full prompt then one token per call. */
    static int[] greedyReference(Backend backend, int[] prompt, int maxNew) {
        List<Integer> out = new ArrayList<>();
        float[] logits = backend.execute(new Batch(List.of(new Batch.Entry(0, prompt, 0)))).logits()[0];
        int pos = prompt.length;
        for (int i = 0; i < maxNew; i++) {
            int t = Sampler.argmax(logits);
            out.add(t);
            if (i + 1 == maxNew) break;
            logits = backend.execute(new Batch(List.of(new Batch.Entry(0, new int[] {t}, pos++)))).logits()[0];
        }
        backend.freeKv(0);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    static GenerationResult run(Engine engine, GenerationRequest request) throws Exception {
        return engine.submit(request).result().get(60, TimeUnit.SECONDS);
    }

    static GenerationRequest request(String id, List<SequenceSpec> specs) {
        return new GenerationRequest(id, specs, 0, Long.MAX_VALUE);
    }

    @Test
    void batchedGreedyEqualsOneAtATime() throws Exception {
        int n = 6;
        int maxNew = 12;
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < n; i++) prompts.add(prompt(100 + i, 5 + 7 * i));
        List<int[]> expected = new ArrayList<>();
        try (OnnxBackend ref = backend(1)) {
            for (int[] p : prompts) expected.add(greedyReference(ref, p, maxNew));
        }
        try (OnnxBackend b = backend(16); Engine engine = new Engine("t", b, new EngineConfig(16, 16, 4096, 64, 128), null)) {
            List<GenerationHandle> handles = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                handles.add(engine.submit(request("r" + i, List.of(new SequenceSpec(prompts.get(i), SamplingParams.greedy(maxNew), null)))));
            }
            for (int i = 0; i < n; i++) {
                SequenceOutput out = handles.get(i).result().get(60, TimeUnit.SECONDS).outputs().get(0);
                assertEquals(SequenceStatus.FINISHED_LENGTH, out.status());
                assertArrayEquals(expected.get(i), out.tokenIds(), "sequence " + i);
            }
            assertTrue(engine.metrics().steps() < n * (maxNew + 3), "sequences shared steps: " + engine.metrics().steps());
        }
    }

    @Test
    void seededSamplingIsIndependentOfBatchComposition() throws Exception {
        SamplingParams params = new SamplingParams(1.0f, 50, 0.95f, 4242, 10, new int[0]);
        int[] p = prompt(7, 9);
        int[] alone;
        try (OnnxBackend b = backend(8); Engine engine = new Engine("t", b, engineConfig(8, 4096), null)) {
            alone = run(engine, request("alone", List.of(new SequenceSpec(p, params, null)))).outputs().get(0).tokenIds();
        }
        try (OnnxBackend b = backend(8); Engine engine = new Engine("t", b, engineConfig(8, 4096), null)) {
            List<GenerationHandle> others = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                others.add(engine.submit(request("o" + i, List.of(new SequenceSpec(prompt(50 + i, 3 + 4 * i),
                        new SamplingParams(0.8f, 0, 1f, i, 14, new int[0]), null)))));
            }
            int[] crowded = run(engine, request("crowded", List.of(new SequenceSpec(p, params, null)))).outputs().get(0).tokenIds();
            assertArrayEquals(alone, crowded);
            for (GenerationHandle h : others) assertNotNull(h.result().get(60, TimeUnit.SECONDS));
        }
    }

    @Test
    void samplesOfOnePromptComputeItsPrefillOnce() throws Exception {
        int[] p = prompt(9, 40);
        List<SequenceSpec> specs = new ArrayList<>();
        for (int s = 0; s < 8; s++) specs.add(new SequenceSpec(p, new SamplingParams(0.7f, 0, 1f, s + 1, 4, new int[0]), null));
        try (OnnxBackend b = backend(16); Engine engine = new Engine("t", b, new EngineConfig(16, 256, 4096, 8, 128), null)) {
            GenerationResult r = run(engine, request("k8", specs));
            long prompt = engine.metrics().promptTokensComputed();
            // one full prompt, plus the last prompt position of each of the 7 forks (each needs its own logits)
            assertEquals(40 + 7, prompt);
            assertEquals(7 * 39, engine.metrics().forkedTokens());
            for (SequenceOutput o : r.outputs()) assertEquals(4, o.tokenIds().length);
        }
    }

    @Test
    void forkedSamplesEqualUnforkedOnes() throws Exception {
        int[] shared = prompt(21, 30);
        int[] a = concat(shared, prompt(22, 6));
        int[] bPrompt = concat(shared, prompt(23, 9));
        SamplingParams g = SamplingParams.greedy(8);
        int[] refA;
        int[] refB;
        try (OnnxBackend ref = backend(1)) {
            refA = greedyReference(ref, a, 8);
            refB = greedyReference(ref, bPrompt, 8);
        }
        try (OnnxBackend b = backend(8); Engine engine = new Engine("t", b, engineConfig(8, 4096), null)) {
            GenerationResult r = run(engine, request("fork", List.of(new SequenceSpec(a, g, null), new SequenceSpec(bPrompt, g, null))));
            assertArrayEquals(refA, r.outputs().get(0).tokenIds());
            assertArrayEquals(refB, r.outputs().get(1).tokenIds());
            assertEquals(30, r.outputs().get(1).numForkedTokens());
        }
    }

    @Test
    void abortFreesKvAndStopsCompute() throws Exception {
        try (OnnxBackend b = backend(8); Backend slow = new SlowBackend(b, 5); Engine engine = new Engine("t", slow, engineConfig(8, 4096), null)) {
            List<SequenceSpec> specs = new ArrayList<>();
            for (int s = 0; s < 4; s++) specs.add(new SequenceSpec(prompt(s, 12), SamplingParams.greedy(100), null));
            GenerationHandle h = engine.submit(request("long", specs));
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (engine.kvUsedTokens() == 0 && System.nanoTime() < until) Thread.sleep(1);
            h.abort("test cancel");
            GenerationResult r = h.result().get(10, TimeUnit.SECONDS);
            assertTrue(r.aborted());
            for (SequenceOutput o : r.outputs()) {
                assertEquals(SequenceStatus.FINISHED_ABORTED, o.status());
                assertTrue(o.tokenIds().length < 100);
            }
            assertEquals(0, engine.kvUsedTokens());
            for (int slot = 0; slot < 8; slot++) assertEquals(0, b.kvLength(slot), "slot " + slot);
        }
    }

    @Test
    void expiredDeadlineAborts() throws Exception {
        try (OnnxBackend b = backend(4); Backend slow = new SlowBackend(b, 5); Engine engine = new Engine("t", slow, engineConfig(4, 4096), null)) {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(30);
            GenerationResult r = engine.submit(new GenerationRequest("d", List.of(new SequenceSpec(prompt(1, 8),
                    SamplingParams.greedy(120), null)), 0, deadline)).result().get(10, TimeUnit.SECONDS);
            assertEquals(SequenceStatus.FINISHED_ABORTED, r.outputs().get(0).status());
            assertEquals("deadline exceeded", r.outputs().get(0).error());
            assertEquals(0, engine.kvUsedTokens());
        }
    }

    @Test
    void closingTheEngineAnswersEveryPendingRequest() throws Exception {
        GenerationHandle h;
        try (OnnxBackend b = backend(4); Backend slow = new SlowBackend(b, 5)) {
            Engine engine = new Engine("t", slow, engineConfig(4, 4096), null);
            h = engine.submit(request("pending", List.of(new SequenceSpec(prompt(1, 8), SamplingParams.greedy(120), null))));
            engine.close();
        }
        SequenceOutput o = h.result().get(10, TimeUnit.SECONDS).outputs().get(0);
        assertEquals(SequenceStatus.FINISHED_ABORTED, o.status());
        assertEquals(Engine.ABORTED_SHUTDOWN, o.error());
    }

    @Test
    void fullQueueRefusesAtOnce() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (OnnxBackend real = backend(4); Backend gated = new GatedBackend(real, release);
             Engine engine = new Engine("t", gated, new EngineConfig(4, 64, 4096, 2, 128), null)) {
            SequenceSpec spec = new SequenceSpec(prompt(1, 4), SamplingParams.greedy(2), null);
            GenerationHandle a = engine.submit(request("a", List.of(spec)));
            GenerationHandle b = engine.submit(request("b", List.of(spec)));
            long t0 = System.nanoTime();
            QueueFullException e = assertThrows(QueueFullException.class, () -> engine.submit(request("c", List.of(spec))));
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5));
            assertTrue(e.retryAfterMillis() > 0);
            release.countDown();
            assertNotNull(a.result().get(30, TimeUnit.SECONDS));
            assertNotNull(b.result().get(30, TimeUnit.SECONDS));
            assertEquals(1, engine.metrics().rejectedRequests());
        }
    }

    @Test
    void aFailedStepIsRecomputedAndGivesWhatAnUnfaultedEngineGives() throws Exception {
        int[] p = prompt(1, 5);
        int[] expected;
        try (OnnxBackend ref = backend(1)) {
            expected = greedyReference(ref, p, 6);
        }
        AtomicInteger calls = new AtomicInteger();
        try (OnnxBackend real = backend(8); Backend faulty = new FaultyBackend(real, calls, 3);
             Engine engine = new Engine("t", faulty, engineConfig(8, 4096), null)) {
            GenerationResult r = run(engine, request("victim", List.of(new SequenceSpec(p, SamplingParams.greedy(6), null))));
            assertEquals(SequenceStatus.FINISHED_LENGTH, r.outputs().get(0).status(), r.outputs().get(0).error());
            assertArrayEquals(expected, r.outputs().get(0).tokenIds(), "recomputed from its prompt and the tokens it had");
            assertEquals(1, engine.metrics().failedSteps());
            assertEquals(1, engine.metrics().retriedSequences());
            assertEquals(0, engine.kvUsedTokens());
        }
    }

    @Test
    void tinyKvPoolPreemptsAndStillCompletesEveryRequest() throws Exception {
        int maxNew = 10;
        List<int[]> prompts = new ArrayList<>();
        List<int[]> expected = new ArrayList<>();
        try (OnnxBackend ref = backend(1)) {
            for (int i = 0; i < 5; i++) {
                prompts.add(prompt(300 + i, 12));
                expected.add(greedyReference(ref, prompts.get(i), maxNew));
            }
        }
        // 60 tokens of KV for five sequences that each grow to 22
        try (OnnxBackend b = backend(8); Engine engine = new Engine("t", b, new EngineConfig(8, 64, 60, 16, 128), null)) {
            List<GenerationHandle> handles = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                handles.add(engine.submit(request("p" + i, List.of(new SequenceSpec(prompts.get(i), SamplingParams.greedy(maxNew), null)))));
            }
            for (int i = 0; i < 5; i++) {
                SequenceOutput o = handles.get(i).result().get(60, TimeUnit.SECONDS).outputs().get(0);
                assertEquals(SequenceStatus.FINISHED_LENGTH, o.status());
                assertArrayEquals(expected.get(i), o.tokenIds(), "recomputed after preemption, same tokens");
            }
            assertTrue(engine.metrics().preemptions() > 0, "the pool was too small: some sequence was preempted");
            assertEquals(0, engine.kvUsedTokens());
        }
    }

    @Test
    void promptLongerThanTheModelIsRefused() throws Exception {
        try (OnnxBackend b = backend(2); Engine engine = new Engine("t", b, engineConfig(2, 4096), null)) {
            assertThrows(IllegalArgumentException.class, () -> engine.submit(request("long",
                    List.of(new SequenceSpec(prompt(1, 128), SamplingParams.greedy(2), null)))));
        }
    }

    @Test
    void controllerCanForceTokensAndStop() throws Exception {
        SequenceController forceThenStop = new SequenceController() {
            boolean done;

            @Override
            public int[] forced(int numGenerated, int maxNewTokens) {
                if (numGenerated == 2 && !done) {
                    done = true;
                    return new int[] {7, 8, 9};
                }
                return EMPTY;
            }

            @Override
            public void process(float[] logits) {
                if (done) {
                    java.util.Arrays.fill(logits, Float.NEGATIVE_INFINITY);
                    logits[42] = 0f;
                }
            }

            @Override
            public boolean accept(int tokenId) {
                return tokenId == 42;
            }
        };
        try (OnnxBackend b = backend(2); Engine engine = new Engine("t", b, engineConfig(2, 4096), null)) {
            SequenceOutput o = run(engine, request("c", List.of(new SequenceSpec(prompt(5, 6), SamplingParams.greedy(20), forceThenStop))))
                    .outputs().get(0);
            assertEquals(SequenceStatus.FINISHED_STOPPED, o.status());
            assertEquals(6, o.tokenIds().length);
            assertArrayEquals(new int[] {7, 8, 9, 42}, java.util.Arrays.copyOfRange(o.tokenIds(), 2, 6));
        }
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    /** Delegates to a real backend, sleeping before every step: keeps a request running long enough to cut it. */
    static final class SlowBackend extends Delegating {
        private final long millisPerStep;

        SlowBackend(Backend real, long millisPerStep) {
            super(real);
            this.millisPerStep = millisPerStep;
        }

        @Override
        public BatchResult execute(Batch batch) {
            try {
                Thread.sleep(millisPerStep);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return real.execute(batch);
        }
    }

    /** Delegates to a real backend; its first {@code execute} waits for a latch. */
    static final class GatedBackend extends Delegating {
        private final CountDownLatch release;

        GatedBackend(Backend real, CountDownLatch release) {
            super(real);
            this.release = release;
        }

        @Override
        public BatchResult execute(Batch batch) {
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return real.execute(batch);
        }
    }

    /**
     * Delegates to a real backend but throws on the {@code failAt}-th execute (1-based), after the real
     * backend ran it: the step's logits are lost and its KV holds positions the engine never saw.
     */
    static final class FaultyBackend extends Delegating {
        private final AtomicInteger calls;
        private final int failAt;

        FaultyBackend(Backend real, AtomicInteger calls, int failAt) {
            super(real);
            this.calls = calls;
            this.failAt = failAt;
        }

        @Override
        public BatchResult execute(Batch batch) {
            BatchResult result = real.execute(batch);
            if (calls.incrementAndGet() == failAt) throw new BackendException("injected fault");
            return result;
        }
    }

    abstract static class Delegating implements Backend {
        final Backend real;

        Delegating(Backend real) {
            this.real = real;
        }

        @Override
        public BackendInfo info() {
            return real.info();
        }

        @Override
        public void copyKv(int srcSlot, int dstSlot, int numTokens) {
            real.copyKv(srcSlot, dstSlot, numTokens);
        }

        @Override
        public void freeKv(int slot) {
            real.freeKv(slot);
        }

        @Override
        public int kvLength(int slot) {
            return real.kvLength(slot);
        }

        @Override
        public void close() {
        }
    }
}
