package dev.principia.grm;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import dev.principia.budget.LoadSnapshot;
import dev.principia.engine.Outcome;
import dev.principia.engine.GenerationHandle;
import dev.principia.engine.GenerationRequest;
import dev.principia.engine.GenerationResult;
import dev.principia.engine.QueueFullException;
import dev.principia.engine.SequenceController;
import dev.principia.engine.SequenceOutput;
import dev.principia.engine.SequenceSpec;
import dev.principia.engine.SequenceStatus;

/**
 * A generator without a model: each sequence "wants" to write the text its script gives for its prompt,
 * one character token at a time, and its controller (score forcing) is driven exactly as the engine
 * drives it — forced tokens first, then masked logits, then accept. A script that returns null stalls
 * until the controller forces the score block (anytime scoring), or for at most five seconds.
 * Requests run one after another on one thread, like the engine loop.
 */
final class ScriptedGenerator implements Generator, AutoCloseable {
    private final Function<String, String> script;
    private final ExecutorService loop = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "scripted-generator");
        t.setDaemon(true);
        return t;
    });
    /** Global sample numbers (in submission order) whose generation fails as in a backend error. */
    final Set<Integer> failing = ConcurrentHashMap.newKeySet();
    final AtomicInteger numSubmittedSequences = new AtomicInteger();
    final List<GenerationRequest> requests = new ArrayList<>();
    volatile boolean full;
    /** The step time it reports, from which anytime scoring sizes its margin before a deadline. */
    volatile long stepNanos = 1_000_000;

    ScriptedGenerator(Function<String, String> script) {
        this.script = script;
    }

    @Override
    public Admission admit() {
        if (full) throw new QueueFullException("scripted queue is full; retry in about 10 ms", 10);
        return new Admission() {
            @Override
            public GenerationHandle submit(GenerationRequest request) {
                return ScriptedGenerator.this.submit(request);
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public synchronized GenerationHandle submit(GenerationRequest request) {
        if (full) throw new QueueFullException("scripted queue is full; retry in about 10 ms", 10);
        requests.add(request);
        int first = numSubmittedSequences.getAndAdd(request.sequences().size());
        CompletableFuture<GenerationResult> future = new CompletableFuture<>();
        long submitted = System.nanoTime();
        boolean[] aborted = new boolean[1];
        loop.execute(() -> {
            List<SequenceOutput> outputs = new ArrayList<>();
            for (int i = 0; i < request.sequences().size(); i++) {
                outputs.add(run(i, first + i, request, request.sequences().get(i), aborted));
            }
            future.complete(new GenerationResult(outputs, 0, System.nanoTime() - submitted));
        });
        return new GenerationHandle() {
            @Override
            public CompletableFuture<GenerationResult> result() {
                return future;
            }

            @Override
            public void abort(Outcome why, String message) {
                aborted[0] = true;
            }
        };
    }

    private SequenceOutput run(int index, int sampleNumber, GenerationRequest request, SequenceSpec spec, boolean[] aborted) {
        if (failing.contains(sampleNumber)) {
            return new SequenceOutput(index, new int[0], SequenceStatus.FINISHED_ERROR, Outcome.FAILED, "backend failed: scripted", 0);
        }
        String wanted = script.apply(CharCodec.text(spec.promptTokens()));
        SequenceController c = spec.controller();
        int maxNew = spec.params().maxNewTokens();
        List<Integer> tokens = new ArrayList<>();
        long stallUntil = System.nanoTime() + 5_000_000_000L;
        boolean forcing = false;
        while (tokens.size() < maxNew) {
            if (aborted[0]) return output(index, tokens, Outcome.CANCELLED, "cancelled by the caller");
            if (System.nanoTime() - request.deadlineNanos() >= 0) return output(index, tokens, Outcome.DEADLINE, "deadline exceeded");
            int[] forced = c.forced(tokens.size(), maxNew);
            if (forced.length > 0) {
                forcing = true;
                for (int t : forced) {
                    tokens.add(t);
                    if (c.accept(t)) return output(index, tokens, Outcome.FINISHED, null);
                }
                continue;
            }
            if (wanted == null && !forcing && System.nanoTime() < stallUntil) {
                sleep();
                continue;
            }
            float[] logits = new float[CharCodec.VOCAB];
            int pos = tokens.size();
            char next = wanted != null && pos < wanted.length() ? wanted.charAt(pos) : 'x';
            logits[next] = 1f;
            c.process(logits);
            int best = 0;
            for (int id = 1; id < logits.length; id++) if (logits[id] > logits[best]) best = id;
            tokens.add(best);
            if (c.accept(best)) return output(index, tokens, Outcome.FINISHED, null);
        }
        return new SequenceOutput(index, tokens.stream().mapToInt(Integer::intValue).toArray(), SequenceStatus.FINISHED_LENGTH,
                Outcome.FINISHED, null, 0);
    }

    /** An output stopped by its controller ({@code FINISHED}) or aborted for {@code outcome}. */
    private static SequenceOutput output(int index, List<Integer> tokens, Outcome outcome, String error) {
        SequenceStatus status = outcome == Outcome.FINISHED ? SequenceStatus.FINISHED_STOPPED : SequenceStatus.FINISHED_ABORTED;
        return new SequenceOutput(index, tokens.stream().mapToInt(Integer::intValue).toArray(), status, outcome, error, 0);
    }

    private static void sleep() {
        try {
            Thread.sleep(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public int maxModelLen() {
        return 1 << 20;
    }

    @Override
    public long lastStepNanos() {
        return stepNanos;
    }

    @Override
    public LoadSnapshot load() {
        return LoadSnapshot.IDLE;
    }

    @Override
    public void close() {
        loop.shutdownNow();
    }
}
