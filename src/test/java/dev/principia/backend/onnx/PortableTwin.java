package dev.principia.backend.onnx;

import dev.principia.backend.Batch;
import dev.principia.backend.fixedkv.FixedKvBackend;
import dev.principia.backend.fixedkv.RunPlanner;
import dev.principia.model.DType;
import dev.principia.model.ModelConfig;
import dev.principia.model.TestModels;
import dev.principia.model.onnx.OnnxExporter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Test driver: the same weights exported plain and portable, run side by side — {@link OnnxBackend} on the plain
 * graph (the reference) and {@link FixedKvBackend} over {@link OrtFixedKvDevice} on the portable graph — fed the
 * same batches, every entry's logits compared ({@code max|portable - plain| / max|plain|}, the worst kept), and the
 * slots' lengths compared after every change. {@link #randomWalk} drives both through random interleavings.
 */
final class PortableTwin implements AutoCloseable {
    final OnnxBackend plain;
    final FixedKvBackend portable;
    final OrtFixedKvDevice device;
    final int slots, capacity, vocab;
    private final double bound;
    /** Tokens each slot holds, as both backends should. */
    final List<List<Integer>> seqs = new ArrayList<>();
    double worst, worstAbs;
    int calls;

    private PortableTwin(OnnxBackend plain, OrtFixedKvDevice device, RunPlanner.Limits limits, int vocab, double bound) {
        this.plain = plain;
        this.device = device;
        this.portable = new FixedKvBackend(device, device.layout(), limits);
        this.slots = device.layout().maxSlots();
        this.capacity = device.layout().capacity();
        this.vocab = vocab;
        this.bound = bound;
        for (int s = 0; s < slots; s++) seqs.add(new ArrayList<>());
    }

    /** Exports {@code config} (seeded weights in {@code dir}) both ways and opens both backends; {@code maxSegmentBytes} as for OrtFixedKvDevice. */
    static PortableTwin open(ModelConfig config, DType dtype, Path dir, int slots, int capacity, RunPlanner.Limits limits, long maxSegmentBytes,
                             double bound) throws IOException {
        TestModels.generate(config, 9, dir);
        Path plainOnnx = dir.resolve("plain-" + dtype + ".onnx"), portableOnnx = dir.resolve("portable-" + dtype + ".onnx");
        var options = new OnnxExporter.Options(false, true).withDtype(dtype);
        OnnxExporter.exportDecoder(dir, plainOnnx, options);
        OnnxExporter.exportDecoder(dir, portableOnnx, options.withAttention(OnnxExporter.Attention.PORTABLE));
        var backendOptions = new OnnxBackend.Options(1, slots, capacity);
        OnnxBackend plain = new OnnxBackend(plainOnnx, config, backendOptions);
        try {
            return new PortableTwin(plain, OrtFixedKvDevice.device(portableOnnx, config, backendOptions, maxSegmentBytes), limits,
                    config.vocabSize(), bound);
        } catch (RuntimeException e) {
            plain.close();
            throw e;
        }
    }

    /** Runs {@code entries} on both, compares, and records the tokens. */
    void both(List<Batch.Entry> entries, String what) {
        float[][] ref = plain.execute(new Batch(entries)).logits();
        float[][] got = portable.execute(new Batch(entries)).logits();
        calls++;
        for (int i = 0; i < entries.size(); i++) {
            double maxRef = 0, maxDiff = 0;
            for (int j = 0; j < ref[i].length; j++) {
                maxRef = Math.max(maxRef, Math.abs(ref[i][j]));
                maxDiff = Math.max(maxDiff, Math.abs(ref[i][j] - got[i][j]));
            }
            worst = Math.max(worst, maxDiff / maxRef);
            worstAbs = Math.max(worstAbs, maxDiff);
            assertTrue(maxDiff / maxRef <= bound, what + ", entry " + i + " (slot " + entries.get(i).slot() + "): " + maxDiff / maxRef);
        }
        for (Batch.Entry e : entries) {
            List<Integer> seq = seqs.get(e.slot());
            seq.subList(e.startPosition(), seq.size()).clear();
            for (int t : e.tokenIds()) seq.add(t);
        }
        checkLengths(what);
    }

    void copyKv(int src, int dst, int n) {
        plain.copyKv(src, dst, n);
        portable.copyKv(src, dst, n);
        seqs.set(dst, new ArrayList<>(seqs.get(src).subList(0, n)));
        checkLengths("copy " + src + " -> " + dst);
    }

    void freeKv(int slot) {
        plain.freeKv(slot);
        portable.freeKv(slot);
        seqs.get(slot).clear();
        checkLengths("free " + slot);
    }

    private void checkLengths(String what) {
        for (int s = 0; s < slots; s++) {
            assertEquals(seqs.get(s).size(), plain.kvLength(s), what + ": plain slot " + s);
            assertEquals(seqs.get(s).size(), portable.kvLength(s), what + ": portable slot " + s);
        }
    }

    private int[] tokens(Random rnd, int n) {
        return rnd.ints(n, 0, vocab).toArray();
    }

    /** An entry of {@code n} tokens on {@code slot}, truncating first when the slot would pass the capacity (or, at random, anyway). */
    private Batch.Entry entry(Random rnd, int slot, int n) {
        int len = seqs.get(slot).size();
        int start = len + n > capacity || (len > 0 && rnd.nextInt(8) == 0) ? rnd.nextInt(Math.min(len, capacity - n) + 1) : len;
        return new Batch.Entry(slot, tokens(rnd, n), start);
    }

    /**
     * {@code ops} random changes: prompts and chunks (with truncation), decodes of consecutive and of scattered slots in
     * one step, mixed batches, forks followed by diverging continuations, frees and reuse.
     */
    void randomWalk(long seed, int ops) {
        Random rnd = new Random(seed);
        for (int op = 0; op < ops; op++) {
            int kind = rnd.nextInt(10);
            String what = "op " + op + " (kind " + kind + ", seed " + seed + ")";
            if (kind <= 1) {
                both(List.of(entry(rnd, rnd.nextInt(slots), 1 + rnd.nextInt(12))), what + " prompt or chunk");
            } else if (kind <= 5) {
                List<Integer> chosen = new ArrayList<>();
                if (kind <= 3) {
                    int first = rnd.nextInt(slots), n = 1 + rnd.nextInt(slots - first);
                    for (int s = first; s < first + n; s++) chosen.add(s);
                } else {
                    for (int s = 0; s < slots; s++) if (rnd.nextBoolean()) chosen.add(s);
                    Collections.shuffle(chosen, rnd);
                    if (chosen.isEmpty()) chosen.add(rnd.nextInt(slots));
                }
                List<Batch.Entry> entries = new ArrayList<>();
                for (int s : chosen) entries.add(entry(rnd, s, 1));
                both(entries, what + " decode of " + chosen);
            } else if (kind == 6) {
                List<Batch.Entry> entries = new ArrayList<>();
                for (int s = 0; s < slots; s++) if (rnd.nextInt(3) > 0) entries.add(entry(rnd, s, rnd.nextBoolean() ? 1 : 2 + rnd.nextInt(6)));
                if (!entries.isEmpty()) both(entries, what + " mixed batch");
            } else if (kind <= 8) {
                int src = rnd.nextInt(slots), dst = (src + 1 + rnd.nextInt(slots - 1)) % slots, len = seqs.get(src).size();
                if (len == 0) continue;
                copyKv(src, dst, kind == 7 ? len : rnd.nextInt(len + 1));
                both(List.of(entry(rnd, src, 1), entry(rnd, dst, 1)), what + " diverging after fork " + src + " -> " + dst);
            } else {
                freeKv(rnd.nextInt(slots));
            }
        }
    }

    @Override
    public void close() {
        try (OnnxBackend p = plain; FixedKvBackend f = portable) {
            // both closed
        }
    }
}
