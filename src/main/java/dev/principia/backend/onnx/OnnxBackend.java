package dev.principia.backend.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.principia.backend.Backend;
import dev.principia.backend.BackendException;
import dev.principia.backend.BackendInfo;
import dev.principia.backend.Batch;
import dev.principia.backend.BatchResult;
import dev.principia.model.ModelConfig;
import dev.principia.model.onnx.OnnxExporter;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;

/**
 * Runs a decoder exported by {@link OnnxExporter} (or an Optimum-style export with the same I/O names)
 * on ONNX Runtime's CPU provider.
 *
 * <p>KV layout: each used slot holds, per layer, one key and one value array laid out
 * {@code [numKvHeads, capacity, headDim]} (see {@link KvSlot}); positions {@code [0, length)} are valid.
 * Capacity doubles on demand up to {@code maxPositions}.
 *
 * <p>Execution: entries with one token are run together in one call, their pasts left-padded to the
 * longest past P and the padding hidden by {@code attention_mask} zeros; entries with several tokens
 * run one call each (B = 1). Every input and output tensor lies in a reused direct buffer that ONNX
 * Runtime reads or writes in place ({@link KvBuffers}). Copy costs per call, per layer and K/V, in floats
 * (T = P + S): the graph's Concat writes {@code present} ({@code B*kvHeads*T*headDim}); the S new
 * positions go into the slots ({@code B*kvHeads*S*headDim}); the pasts are packed from the slots
 * ({@code B*kvHeads*P*headDim}) except for a decode call that continues the previous one — same slots,
 * same order, each one position further, untouched in between ({@link DecodeLayout}) — which reads the
 * previous call's {@code present} as its past. Logits cost {@code B*vocab} floats (last-position
 * exports; else {@code B*S*vocab}). {@link #copyKv} copies {@code numTokens} positions of every layer;
 * growing a slot re-lays its arrays.
 *
 * <p>Not thread-safe, as {@link Backend} allows.
 */
public final class OnnxBackend implements Backend {

    /**
     * @param intraOpThreads ONNX Runtime intra-op threads; 0 lets the runtime choose
     * @param maxSlots       number of addressable KV slots
     * @param maxPositions   longest sequence; at most the model's {@code max_position_embeddings}
     * @param allowSpinning  whether idle intra-op threads spin for work instead of sleeping; spinning shaves
     *                       wake-up latency on dedicated cores but takes them from the caller and other
     *                       processes: on a shared 2-core machine at 16 decoding sequences, median steps
     *                       were ~1.5-2x slower with it
     */
    public record Options(int intraOpThreads, int maxSlots, int maxPositions, boolean allowSpinning) {
        public Options {
            if (intraOpThreads < 0) throw new IllegalArgumentException("intraOpThreads must be >= 0, got " + intraOpThreads);
            if (maxSlots <= 0) throw new IllegalArgumentException("maxSlots must be > 0, got " + maxSlots);
            if (maxPositions <= 0) throw new IllegalArgumentException("maxPositions must be > 0, got " + maxPositions);
        }

        /** Without spinning. */
        public Options(int intraOpThreads, int maxSlots, int maxPositions) {
            this(intraOpThreads, maxSlots, maxPositions, false);
        }
    }

    private final OrtEnvironment env;
    private final OrtSession session;
    private final BackendInfo info;
    private final int numLayers, numKvHeads, headDim, vocabSize;
    private final KvSlot[] slots;
    private final boolean lastPositionLogitsOnly;
    /** Decode calls read past from one and write present to the other, then swap; prefill calls use their own pair. */
    private KvBuffers decodePast, decodePresent;
    private final KvBuffers prefillPast, prefillPresent;
    /** What {@link #decodePast} holds, or null when it may hold nothing usable. */
    private DecodeLayout layout;
    private ByteBuffer logitsBuffer;

    public OnnxBackend(Path onnxFile, ModelConfig config, Options options) {
        if (options.maxPositions() > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("maxPositions " + options.maxPositions() + " exceeds the model's max_position_embeddings "
                    + config.maxPositionEmbeddings());
        }
        this.numLayers = config.numHiddenLayers();
        this.numKvHeads = config.numKeyValueHeads();
        this.headDim = config.headDim();
        this.vocabSize = config.vocabSize();
        this.info = new BackendInfo("onnxruntime-cpu", vocabSize, numLayers, numKvHeads, headDim,
                options.maxPositions(), options.maxSlots());
        this.slots = new KvSlot[options.maxSlots()];
        this.decodePast = new KvBuffers(numLayers);
        this.decodePresent = new KvBuffers(numLayers);
        this.prefillPast = new KvBuffers(numLayers);
        this.prefillPresent = new KvBuffers(numLayers);
        this.env = OrtEnvironment.getEnvironment();
        this.session = OrtSessions.open(onnxFile, options.intraOpThreads(), options.allowSpinning());
        checkNames(onnxFile);
        this.lastPositionLogitsOnly = logitsPositionsFixedAtOne();
    }

    /** Whether the graph's {@code logits} is {@code [B, 1, vocab]} (a last-position-only export) rather than {@code [B, S, vocab]}. */
    private boolean logitsPositionsFixedAtOne() {
        try {
            var info = (ai.onnxruntime.TensorInfo) session.getOutputInfo().get("logits").getInfo();
            return info.getShape().length == 3 && info.getShape()[1] == 1;
        } catch (OrtException | NullPointerException e) {
            closeQuietly();
            throw new IllegalArgumentException("graph has no float output 'logits'", e);
        }
    }

    private void checkNames(Path onnxFile) {
        var need = new ArrayList<>(List.of("input_ids", "attention_mask", "position_ids"));
        for (int l = 0; l < numLayers; l++) {
            need.add(OnnxExporter.pastKey(l));
            need.add(OnnxExporter.pastValue(l));
        }
        for (String n : need) {
            if (!session.getInputNames().contains(n)) {
                closeQuietly();
                throw new IllegalArgumentException(onnxFile + ": graph has no input '" + n + "' (inputs: " + session.getInputNames() + ")");
            }
        }
    }

    @Override
    public BackendInfo info() {
        return info;
    }

    @Override
    public BatchResult execute(Batch batch) {
        List<Batch.Entry> entries = batch.entries();
        for (Batch.Entry e : entries) validate(e);
        float[][] logits = new float[entries.size()][];
        var decodeIdx = new ArrayList<Integer>();
        for (int i = 0; i < entries.size(); i++) {
            Batch.Entry e = entries.get(i);
            slot(e.slot()).truncate(e.startPosition());
            if (e.tokenIds().length == 1) {
                decodeIdx.add(i);
            } else {
                logits[i] = run(List.of(e))[0];
            }
        }
        if (!decodeIdx.isEmpty()) {
            List<Batch.Entry> group = new ArrayList<>(decodeIdx.size());
            for (int i : decodeIdx) group.add(entries.get(i));
            float[][] out = run(group);
            for (int j = 0; j < decodeIdx.size(); j++) logits[decodeIdx.get(j)] = out[j];
        }
        return new BatchResult(logits);
    }

    private void validate(Batch.Entry e) {
        if (e.slot() >= slots.length) throw new IllegalArgumentException("slot " + e.slot() + " is beyond maxSlots " + slots.length);
        int have = kvLength(e.slot());
        if (e.startPosition() > have) {
            throw new IllegalArgumentException("slot " + e.slot() + " holds " + have + " positions, entry starts at " + e.startPosition());
        }
        if (e.startPosition() + e.tokenIds().length > info.maxPositions()) {
            throw new IllegalArgumentException("slot " + e.slot() + ": " + (e.startPosition() + e.tokenIds().length)
                    + " positions exceed maxPositions " + info.maxPositions());
        }
        for (int t : e.tokenIds()) {
            if (t < 0 || t >= vocabSize) throw new IllegalArgumentException("token id " + t + " outside [0, " + vocabSize + ")");
        }
    }

    /**
     * One ORT call for entries of equal token count S; pasts left-padded to the longest. Returns last-position logits.
     * Every output is pinned to a reused direct buffer. A decode call (S = 1) whose group continues the previous
     * decode call's ({@link DecodeLayout}) takes that call's {@code present} buffers as its past, packing nothing.
     */
    private float[][] run(List<Batch.Entry> group) {
        int b = group.size();
        int s = group.get(0).tokenIds().length;
        KvSlot[] groupSlots = new KvSlot[b];
        int[] lengths = new int[b];
        int past = 0;
        for (int i = 0; i < b; i++) {
            groupSlots[i] = slot(group.get(i).slot());
            lengths[i] = group.get(i).startPosition();
            past = Math.max(past, lengths[i]);
        }
        int total = past + s;
        boolean decode = s == 1;
        KvBuffers pastBufs = decode ? decodePast : prefillPast, presentBufs = decode ? decodePresent : prefillPresent;
        if (!decode || layout == null || !layout.holds(group, groupSlots)) pastBufs.pack(groupSlots, lengths, past, numKvHeads, headDim);
        if (decode) layout = null; // the decode buffers are overwritten below; a failed call leaves no layout
        long[] ids = new long[b * s], pos = new long[b * s], mask = new long[b * total];
        for (int i = 0; i < b; i++) {
            Batch.Entry e = group.get(i);
            for (int j = 0; j < s; j++) {
                ids[i * s + j] = e.tokenIds()[j];
                pos[i * s + j] = e.startPosition() + j;
            }
            for (int j = past - e.startPosition(); j < total; j++) mask[i * total + j] = 1;
        }
        var inputs = new HashMap<String, OnnxTensor>();
        var outputs = new HashMap<String, OnnxTensor>();
        try {
            inputs.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[]{b, s}));
            inputs.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[]{b, total}));
            inputs.put("position_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(pos), new long[]{b, s}));
            long[] pastShape = {b, numKvHeads, past, headDim}, presentShape = {b, numKvHeads, total, headDim};
            int pastFloats = b * numKvHeads * past * headDim, presentFloats = b * numKvHeads * total * headDim;
            for (int l = 0; l < numLayers; l++) {
                inputs.put(OnnxExporter.pastKey(l), OnnxTensor.createTensor(env, pastBufs.view(l, true, pastFloats), pastShape));
                inputs.put(OnnxExporter.pastValue(l), OnnxTensor.createTensor(env, pastBufs.view(l, false, pastFloats), pastShape));
                outputs.put(OnnxExporter.presentKey(l), OnnxTensor.createTensor(env, presentBufs.view(l, true, presentFloats), presentShape));
                outputs.put(OnnxExporter.presentValue(l), OnnxTensor.createTensor(env, presentBufs.view(l, false, presentFloats), presentShape));
            }
            outputs.put("logits", OnnxTensor.createTensor(env, logitsView(b * logitsPositions(s) * vocabSize),
                    new long[]{b, logitsPositions(s), vocabSize}));
            session.run(inputs, outputs).close();
        } catch (OrtException e) {
            throw new BackendException("ONNX Runtime step failed (batch " + b + ", tokens " + s + ", past " + past + "): " + e.getMessage(), e);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
            outputs.values().forEach(OnnxTensor::close);
        }
        float[][] out = readLogits(b, logitsPositions(s));
        keepNewPositions(group, groupSlots, presentBufs, past, s);
        if (decode) {
            decodePresent = decodePast;
            decodePast = presentBufs;
            layout = DecodeLayout.of(group, groupSlots);
        }
        return out;
    }

    /** Positions per entry in {@code logits}: 1 for a last-position-only export, else S. */
    private int logitsPositions(int s) {
        return lastPositionLogitsOnly ? 1 : s;
    }

    private FloatBuffer logitsView(int numFloats) {
        if (logitsBuffer == null || logitsBuffer.capacity() < (long) numFloats * Float.BYTES) {
            logitsBuffer = ByteBuffer.allocateDirect(numFloats * Float.BYTES).order(ByteOrder.nativeOrder());
        }
        return logitsBuffer.clear().asFloatBuffer().limit(numFloats);
    }

    private float[][] readLogits(int b, int positions) {
        float[][] out = new float[b][vocabSize];
        FloatBuffer lf = logitsBuffer.clear().asFloatBuffer();
        for (int i = 0; i < b; i++) {
            lf.position((i * positions + positions - 1) * vocabSize);
            lf.get(out[i]);
        }
        return out;
    }

    /** Copies each entry's S new positions from {@code present} [B, kvHeads, T, headDim] into its slot. */
    private void keepNewPositions(List<Batch.Entry> group, KvSlot[] groupSlots, KvBuffers present, int past, int s) {
        int b = group.size(), total = past + s;
        for (int l = 0; l < numLayers; l++) {
            for (int kv = 0; kv < 2; kv++) {
                boolean key = kv == 0;
                FloatBuffer buf = present.view(l, key, b * numKvHeads * total * headDim);
                for (int i = 0; i < b; i++) {
                    for (int h = 0; h < numKvHeads; h++) {
                        buf.position(((i * numKvHeads + h) * total + past) * headDim);
                        groupSlots[i].writeHead(l, key, h, group.get(i).startPosition(), s, buf);
                    }
                }
            }
        }
        for (int i = 0; i < b; i++) groupSlots[i].setLength(group.get(i).startPosition() + s);
    }

    private KvSlot slot(int id) {
        if (id < 0 || id >= slots.length) throw new IllegalArgumentException("slot " + id + " outside [0, " + slots.length + ")");
        if (slots[id] == null) slots[id] = new KvSlot(numLayers, numKvHeads, headDim, info.maxPositions());
        return slots[id];
    }

    @Override
    public void copyKv(int srcSlot, int dstSlot, int numTokens) {
        int have = kvLength(srcSlot);
        if (numTokens < 0 || numTokens > have) {
            throw new IllegalArgumentException("cannot copy " + numTokens + " positions from slot " + srcSlot + " holding " + have);
        }
        if (srcSlot == dstSlot) {
            slot(srcSlot).truncate(numTokens);
            return;
        }
        slots[dstSlot] = slot(srcSlot).copy(numTokens);
    }

    @Override
    public void freeKv(int slot) {
        if (slot < 0 || slot >= slots.length) throw new IllegalArgumentException("slot " + slot + " outside [0, " + slots.length + ")");
        slots[slot] = null;
    }

    @Override
    public int kvLength(int slot) {
        if (slot < 0 || slot >= slots.length) throw new IllegalArgumentException("slot " + slot + " outside [0, " + slots.length + ")");
        return slots[slot] == null ? 0 : slots[slot].length();
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new BackendException("cannot close ONNX Runtime session", e);
        }
    }

    private void closeQuietly() {
        try {
            session.close();
        } catch (OrtException ignored) {
            // already failing construction; the original error is reported
        }
    }
}
