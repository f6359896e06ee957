package dev.principia.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import dev.principia.backend.Backend;
import dev.principia.backend.BackendInfo;
import dev.principia.backend.Batch;
import dev.principia.backend.BatchResult;

/**
 * A CPU-only {@link Backend} with scripted logits: a slot's "KV" is the token ids at its positions,
 * and the next token is a hash of the whole history in the slot ({@link #next}). A wrong KV copy,
 * a gap or a stale slot therefore changes the generated tokens, and {@link #reference} (the slow
 * twin: the same hash over prompt + generated, no KV at all) says what a correct engine produces.
 * Enforces the {@link Backend} contract like ONNX Runtime does: copying more positions than a slot
 * holds and feeding past a gap throw.
 */
final class ScriptedBackend implements Backend {
    static final int VOCAB = 64;
    /** Never produced by {@link #next}: a stop token for tests that want one. */
    static final int NEVER = 1;

    private final BackendInfo info;
    private final int[][] slots;
    private final int[] lengths;
    /** A failure to throw instead of running a batch, or null to run it. */
    private volatile Function<Batch, RuntimeException> fault = b -> null;
    private volatile Error errorToThrow;
    private volatile CountDownLatch gate;
    private volatile CountDownLatch entered;
    private final List<Batch> batches = new ArrayList<>();
    private final List<int[]> copies = new ArrayList<>();
    private volatile boolean inExecute;
    private volatile boolean closed;
    private volatile int callsAfterClose;

    ScriptedBackend(int maxSlots, int maxPositions) {
        this.info = new BackendInfo("scripted", VOCAB, 1, 1, 1, maxPositions, maxSlots);
        this.slots = new int[maxSlots][];
        this.lengths = new int[maxSlots];
    }

    /** The token a correct model predicts after {@code history[0, n)}. */
    static int next(int[] history, int n) {
        long h = 1469598103934665603L;
        for (int i = 0; i < n; i++) h = (h ^ history[i]) * 1099511628211L;
        return 2 + (int) Math.floorMod(h >>> 17, (long) (VOCAB - 2));
    }

    /** Slow reference: greedy generation by recomputing {@link #next} over the whole history. */
    static int[] reference(int[] prompt, int maxNew) {
        int[] all = Arrays.copyOf(prompt, prompt.length + maxNew);
        for (int i = 0; i < maxNew; i++) all[prompt.length + i] = next(all, prompt.length + i);
        return Arrays.copyOfRange(all, prompt.length, all.length);
    }

    void failWhen(Function<Batch, RuntimeException> fault) {
        this.fault = fault;
    }

    /** Every batch that feeds {@code token} fails: a poison input (use a token no other prompt holds and {@link #next} never makes). */
    void failOnToken(int token) {
        failWhen(batch -> batch.entries().stream().anyMatch(e -> Arrays.stream(e.tokenIds()).anyMatch(t -> t == token))
                ? new dev.principia.backend.BackendException("poisoned input") : null);
    }

    /** The next {@code execute} throws this Error (once). */
    void throwError(Error e) {
        this.errorToThrow = e;
    }

    /** Every {@code execute} counts {@code entered} down, then waits for {@code gate}. */
    void gate(CountDownLatch entered, CountDownLatch gate) {
        this.entered = entered;
        this.gate = gate;
    }

    synchronized List<Batch> batches() {
        return new ArrayList<>(batches);
    }

    synchronized List<int[]> copies() {
        return new ArrayList<>(copies);
    }

    boolean inExecute() {
        return inExecute;
    }

    int callsAfterClose() {
        return callsAfterClose;
    }

    @Override
    public BackendInfo info() {
        return info;
    }

    @Override
    public BatchResult execute(Batch batch) {
        if (closed) callsAfterClose++;
        inExecute = true;
        try {
            CountDownLatch g = gate; // read before signalling: a test may swap the gate once this step entered
            CountDownLatch e = entered;
            if (e != null) e.countDown();
            if (g != null && !g.await(60, TimeUnit.SECONDS)) throw new IllegalStateException("gate never opened");
            synchronized (this) {
                batches.add(batch);
            }
            Error err = errorToThrow;
            if (err != null) {
                errorToThrow = null;
                throw err;
            }
            RuntimeException f = fault.apply(batch);
            if (f != null) throw f;
            float[][] logits = new float[batch.entries().size()][];
            for (int i = 0; i < logits.length; i++) {
                Batch.Entry entry = batch.entries().get(i);
                int s = entry.slot();
                if (entry.startPosition() > lengths[s]) {
                    throw new IllegalArgumentException("slot " + s + " holds " + lengths[s] + " positions; cannot feed at " + entry.startPosition());
                }
                int n = entry.startPosition() + entry.tokenIds().length;
                if (slots[s] == null || slots[s].length < n) slots[s] = Arrays.copyOf(slots[s] == null ? new int[0] : slots[s], n * 2);
                System.arraycopy(entry.tokenIds(), 0, slots[s], entry.startPosition(), entry.tokenIds().length);
                lengths[s] = n;
                logits[i] = new float[VOCAB];
                logits[i][next(slots[s], n)] = 10f;
            }
            return new BatchResult(logits);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            inExecute = false;
        }
    }

    @Override
    public synchronized void copyKv(int srcSlot, int dstSlot, int numTokens) {
        if (closed) callsAfterClose++;
        if (numTokens < 0 || numTokens > lengths[srcSlot]) {
            throw new IllegalArgumentException("cannot copy " + numTokens + " positions from slot " + srcSlot + " holding " + lengths[srcSlot]);
        }
        copies.add(new int[] {srcSlot, dstSlot, numTokens});
        slots[dstSlot] = numTokens == 0 ? new int[1] : Arrays.copyOf(slots[srcSlot], numTokens);
        lengths[dstSlot] = numTokens;
    }

    @Override
    public void freeKv(int slot) {
        slots[slot] = null;
        lengths[slot] = 0;
    }

    @Override
    public int kvLength(int slot) {
        return lengths[slot];
    }

    @Override
    public void close() {
        closed = true;
    }
}
