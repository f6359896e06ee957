package dev.principia.backend.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
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
 * run one call each (B = 1). Copy costs per call, per layer and K/V, in floats (T = P + S): the
 * pasts are packed into reused direct buffers that ONNX Runtime reads in place ({@code B*kvHeads*P*headDim});
 * the graph's Concat writes {@code present} ({@code B*kvHeads*T*headDim}); reading {@code present} back
 * copies it to the Java heap ({@code B*kvHeads*T*headDim}); only the S new positions then go into the
 * slots. Logits cost {@code B*S*vocab} floats. {@link #copyKv} copies {@code numTokens} positions of
 * every layer; growing a slot re-lays its arrays.
 *
 * <p>Not thread-safe, as {@link Backend} allows.
 */
public final class OnnxBackend implements Backend {

    /**
     * @param intraOpThreads ONNX Runtime intra-op threads; 0 lets the runtime choose
     * @param maxSlots       number of addressable KV slots
     * @param maxPositions   longest sequence; at most the model's {@code max_position_embeddings}
     */
    public record Options(int intraOpThreads, int maxSlots, int maxPositions) {
        public Options {
            if (intraOpThreads < 0) throw new IllegalArgumentException("intraOpThreads must be >= 0, got " + intraOpThreads);
            if (maxSlots <= 0) throw new IllegalArgumentException("maxSlots must be > 0, got " + maxSlots);
            if (maxPositions <= 0) throw new IllegalArgumentException("maxPositions must be > 0, got " + maxPositions);
        }
    }

    private final OrtEnvironment env;
    private final OrtSession session;
    private final BackendInfo info;
    private final int numLayers, numKvHeads, headDim, vocabSize;
    private final KvSlot[] slots;
    /** Reused direct input buffers, index 2 * layer + (0 key, 1 value); grown on demand. */
    private final ByteBuffer[] pastBuffers;

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
        this.pastBuffers = new ByteBuffer[2 * numLayers];
        this.env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setIntraOpNumThreads(options.intraOpThreads());
            so.setInterOpNumThreads(1);
            so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            this.session = env.createSession(onnxFile.toString(), so);
        } catch (OrtException e) {
            throw new BackendException(onnxFile + ": cannot create ONNX Runtime session: " + e.getMessage(), e);
        }
        checkNames(onnxFile);
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

    /** One ORT call for entries of equal token count S; pasts left-padded to the longest. Returns last-position logits. */
    private float[][] run(List<Batch.Entry> group) {
        int b = group.size();
        int s = group.get(0).tokenIds().length;
        int past = 0;
        for (Batch.Entry e : group) past = Math.max(past, e.startPosition());
        int total = past + s;
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
        try {
            inputs.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[]{b, s}));
            inputs.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[]{b, total}));
            inputs.put("position_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(pos), new long[]{b, s}));
            long[] pastShape = {b, numKvHeads, past, headDim};
            for (int l = 0; l < numLayers; l++) {
                inputs.put(OnnxExporter.pastKey(l), OnnxTensor.createTensor(env, packPast(group, l, true, past), pastShape));
                inputs.put(OnnxExporter.pastValue(l), OnnxTensor.createTensor(env, packPast(group, l, false, past), pastShape));
            }
            try (OrtSession.Result result = session.run(inputs)) {
                return unpack(result, group, past, s);
            }
        } catch (OrtException e) {
            throw new BackendException("ONNX Runtime step failed (batch " + b + ", tokens " + s + ", past " + past + "): " + e.getMessage(), e);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    /** Direct buffer [B, kvHeads, past, headDim]; entry i's positions sit at [past - len_i, past), padding is 0. */
    private FloatBuffer packPast(List<Batch.Entry> group, int layer, boolean key, int past) {
        int numFloats = group.size() * numKvHeads * past * headDim;
        int bi = 2 * layer + (key ? 0 : 1);
        if (pastBuffers[bi] == null || pastBuffers[bi].capacity() < numFloats * Float.BYTES) {
            pastBuffers[bi] = ByteBuffer.allocateDirect(Math.max(numFloats * Float.BYTES * 3 / 2, 64)).order(ByteOrder.nativeOrder());
        }
        FloatBuffer buf = pastBuffers[bi].clear().asFloatBuffer().limit(numFloats);
        for (int i = 0; i < group.size(); i++) {
            int len = group.get(i).startPosition();
            KvSlot slot = slot(group.get(i).slot());
            for (int h = 0; h < numKvHeads; h++) {
                buf.position((i * numKvHeads + h) * past * headDim);
                for (int j = (past - len) * headDim; j > 0; j--) buf.put(0f);
                if (len > 0) slot.readHead(layer, key, h, len, buf);
            }
        }
        buf.rewind();
        return buf;
    }

    private float[][] unpack(OrtSession.Result result, List<Batch.Entry> group, int past, int s) throws OrtException {
        int b = group.size();
        int total = past + s;
        float[][] out = new float[b][vocabSize];
        OnnxTensor logits = (OnnxTensor) result.get("logits").orElseThrow();
        long[] shape = logits.getInfo().getShape();
        int positions = (int) shape[1];
        FloatBuffer lf = logits.getFloatBuffer();
        for (int i = 0; i < b; i++) {
            lf.position((i * positions + positions - 1) * vocabSize);
            lf.get(out[i]);
        }
        for (int l = 0; l < numLayers; l++) {
            for (int kv = 0; kv < 2; kv++) {
                boolean key = kv == 0;
                OnnxValue v = result.get(key ? OnnxExporter.presentKey(l) : OnnxExporter.presentValue(l)).orElseThrow();
                FloatBuffer present = ((OnnxTensor) v).getFloatBuffer();
                for (int i = 0; i < b; i++) {
                    Batch.Entry e = group.get(i);
                    KvSlot slot = slot(e.slot());
                    for (int h = 0; h < numKvHeads; h++) {
                        present.position(((i * numKvHeads + h) * total + past) * headDim);
                        slot.writeHead(l, key, h, e.startPosition(), s, present);
                    }
                }
            }
        }
        for (Batch.Entry e : group) slot(e.slot()).setLength(e.startPosition() + s);
        return out;
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
