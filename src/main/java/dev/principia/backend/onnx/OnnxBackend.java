package dev.principia.backend.onnx;

import ai.onnxruntime.OnnxJavaType;
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
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;

/**
 * Runs a decoder exported by {@link OnnxExporter} (or an Optimum-style export with the same I/O names)
 * on ONNX Runtime's CPU provider. The KV cache is a {@link PagedKvCache}: blocks of 16 positions in direct
 * memory, off the Java heap, in the graph's {@code past_key_values} element type (fp32, fp16 or bf16), sized in
 * bytes ({@link Options#kvCacheBytes}); this class holds only the ORT call.
 *
 * <p>Execution: entries with one token are run together in one call, their pasts left-padded to the
 * longest past P and the padding hidden by {@code attention_mask} zeros; entries with several tokens
 * run one call each (B = 1). Every input and output tensor lies in a reused direct buffer that ONNX
 * Runtime reads or writes in place ({@link KvBuffers}). Copy costs per call, per layer and K/V, in elements
 * (T = P + S): the graph's Concat writes {@code present} ({@code B*kvHeads*T*headDim}); the S new
 * positions go into the slots ({@code B*kvHeads*S*headDim}); the pasts are packed from the slots
 * ({@code B*kvHeads*P*headDim}) except for a decode call that continues the previous one — same slots,
 * same order, each one position further, untouched in between ({@link DecodeLayout}) — which reads the
 * previous call's {@code present} as its past. Logits cost {@code B*vocab} floats (last-position
 * exports; else {@code B*S*vocab}). {@link #copyKv} copies whole blocks; growth takes blocks, never moves.
 *
 * <p>A GroupQueryAttention export ({@link OnnxExporter.Attention#GQA}, recognised by its {@code seqlens_k} input)
 * runs the same groups through {@link GqaStaging} instead: rows right-aligned in buffers that are both past and
 * present, so ONNX Runtime writes the new positions in place and a continuing decode call copies no past at all.
 * {@link #attention()} says which graph runs.
 *
 * <p>Staging limit: no per-layer past/present buffer nor the logits buffer passes
 * {@link KvBuffers#MAX_BUFFER_BYTES} (1 GiB). A decode group that would need more is split into several calls;
 * a single entry that would need more (B = 1: {@code kvHeads*T*headDim*elementBytes}, or its logits) is refused
 * with a {@link BackendException} before anything changes.
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
     * @param kvCacheBytes   KV pool in bytes of direct memory, allocated up front (rounded down to whole blocks; see
     *                       {@link BackendInfo#kvCacheTokens()} for what it holds); 0 derives enough for every slot at
     *                       {@code maxPositions}, allocated as used. Direct memory is capped by
     *                       {@code -XX:MaxDirectMemorySize} (default: the maximum heap)
     */
    public record Options(int intraOpThreads, int maxSlots, int maxPositions, boolean allowSpinning, long kvCacheBytes) {
        public Options {
            if (intraOpThreads < 0) throw new IllegalArgumentException("intraOpThreads must be >= 0, got " + intraOpThreads);
            if (maxSlots <= 0) throw new IllegalArgumentException("maxSlots must be > 0, got " + maxSlots);
            if (maxPositions <= 0) throw new IllegalArgumentException("maxPositions must be > 0, got " + maxPositions);
            if (kvCacheBytes < 0) throw new IllegalArgumentException("kvCacheBytes must be >= 0 (0 = derived), got " + kvCacheBytes);
        }

        /** KV pool derived from the slots and positions. */
        public Options(int intraOpThreads, int maxSlots, int maxPositions, boolean allowSpinning) {
            this(intraOpThreads, maxSlots, maxPositions, allowSpinning, 0);
        }

        /** Without spinning; KV pool derived from the slots and positions. */
        public Options(int intraOpThreads, int maxSlots, int maxPositions) {
            this(intraOpThreads, maxSlots, maxPositions, false, 0);
        }
    }

    private final OrtEnvironment env;
    private final OrtSession session;
    private final BackendInfo info;
    private final int numLayers, numKvHeads, headDim, vocabSize;
    private final OnnxJavaType kvType;
    private final int kvElementBytes;
    private final PagedKvCache kv;
    private final boolean lastPositionLogitsOnly;
    /** Staging of a GroupQueryAttention graph (detected by its {@code seqlens_k} input), or null for a plain graph. */
    private final GqaStaging gqa;
    /** Decode calls read past from one and write present to the other, then swap; prefill calls use their own pair. */
    private KvBuffers decodePast, decodePresent;
    private final KvBuffers prefillPast, prefillPresent;
    /** What {@link #decodePast} holds, or null when it may hold nothing usable. */
    private DecodeLayout layout;
    private ByteBuffer logitsBuffer;

    public OnnxBackend(Path onnxFile, ModelConfig config, Options options) {
        this(onnxFile, config, options, 0);
    }

    /** @param maxSegmentBytes KV segment limit; 0 = {@link PagedKvCache}'s default */
    OnnxBackend(Path onnxFile, ModelConfig config, Options options, long maxSegmentBytes) {
        if (options.maxPositions() > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("maxPositions " + options.maxPositions() + " exceeds the model's max_position_embeddings "
                    + config.maxPositionEmbeddings());
        }
        this.numLayers = config.numHiddenLayers();
        this.numKvHeads = config.numKeyValueHeads();
        this.headDim = config.headDim();
        this.vocabSize = config.vocabSize();
        this.decodePast = new KvBuffers(numLayers);
        this.decodePresent = new KvBuffers(numLayers);
        this.prefillPast = new KvBuffers(numLayers);
        this.prefillPresent = new KvBuffers(numLayers);
        this.env = OrtEnvironment.getEnvironment();
        this.session = OrtSessions.open(onnxFile, options.intraOpThreads(), options.allowSpinning());
        try {
            OrtGraphInfo.requireInputs(session, onnxFile, inputNames());
            this.lastPositionLogitsOnly = OrtGraphInfo.lastPositionLogitsOnly(session);
            this.kvType = OrtGraphInfo.pastType(session, onnxFile, List.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16, OnnxJavaType.BFLOAT16));
            this.kvElementBytes = kvType == OnnxJavaType.FLOAT ? Float.BYTES : 2;
            this.kv = new PagedKvCache(numLayers, numKvHeads, headDim, kvElementBytes, options.maxSlots(), options.maxPositions(),
                    options.kvCacheBytes(), maxSegmentBytes);
        } catch (RuntimeException e) {
            closeQuietly();
            throw e;
        }
        this.gqa = session.getInputNames().contains("seqlens_k")
                ? new GqaStaging(kv, numLayers, numKvHeads, headDim, kvElementBytes, options.maxPositions(), kvType) : null;
        this.info = new BackendInfo("onnxruntime-cpu", vocabSize, numLayers, numKvHeads, headDim, options.maxPositions(),
                options.maxSlots(), OrtGraphInfo.kvTypeName(kvType), kv.kvCacheBytes(), kv.bytesPerToken(), kv.capacityTokens());
    }

    /** The graph's attention: {@code "gqa"} (GroupQueryAttention, KV updated in place) or {@code "plain"}. */
    public String attention() {
        return gqa != null ? "gqa" : "plain";
    }

    /** The inputs a plain or GroupQueryAttention decoder of this shape must have. */
    private List<String> inputNames() {
        var need = new ArrayList<>(session.getInputNames().contains("seqlens_k")
                ? List.of("input_ids", "seqlens_k", "total_sequence_length") : List.of("input_ids", "attention_mask", "position_ids"));
        for (int l = 0; l < numLayers; l++) {
            need.add(OnnxExporter.pastKey(l));
            need.add(OnnxExporter.pastValue(l));
        }
        return need;
    }

    @Override
    public BackendInfo info() {
        return info;
    }

    @Override
    public BatchResult execute(Batch batch) {
        List<Batch.Entry> entries = batch.entries();
        for (Batch.Entry e : entries) validate(e);
        for (Batch.Entry e : entries) kv.slot(e.slot()).truncate(e.startPosition());
        kv.reserve(entries);
        float[][] logits = new float[entries.size()][];
        var decodeIdx = new ArrayList<Integer>();
        for (int i = 0; i < entries.size(); i++) {
            if (entries.get(i).tokenIds().length == 1) {
                decodeIdx.add(i);
            } else {
                logits[i] = run(List.of(entries.get(i)))[0];
            }
        }
        for (int from = 0; from < decodeIdx.size(); ) {
            int to = decodeGroupEnd(entries, decodeIdx, from);
            List<Batch.Entry> group = new ArrayList<>(to - from);
            for (int j = from; j < to; j++) group.add(entries.get(decodeIdx.get(j)));
            float[][] out = run(group);
            for (int j = from; j < to; j++) logits[decodeIdx.get(j)] = out[j - from];
            from = to;
        }
        return new BatchResult(logits);
    }

    /** End (exclusive) of the decode call starting at {@code decodeIdx[from]}: as many entries as keep its staging within the limit. */
    private int decodeGroupEnd(List<Batch.Entry> entries, List<Integer> decodeIdx, int from) {
        int to = from, total = 0;
        while (to < decodeIdx.size()) {
            int t = Math.max(total, entries.get(decodeIdx.get(to)).startPosition() + 1);
            if (to > from && stagingBytes(to - from + 1, gqa != null ? gqa.decodeCapacity(t) : t) > KvBuffers.MAX_BUFFER_BYTES) break;
            total = t;
            to++;
        }
        return to;
    }

    /** Bytes of one layer's K (or V) {@code present} for B entries of T positions. */
    private long stagingBytes(int b, int total) {
        return (long) b * numKvHeads * total * headDim * kvElementBytes;
    }

    private void validate(Batch.Entry e) {
        if (e.slot() >= kv.numSlots()) throw new IllegalArgumentException("slot " + e.slot() + " is beyond maxSlots " + kv.numSlots());
        int have = kvLength(e.slot());
        int s = e.tokenIds().length, total = e.startPosition() + s;
        if (e.startPosition() > have) {
            throw new IllegalArgumentException("slot " + e.slot() + " holds " + have + " positions, entry starts at " + e.startPosition());
        }
        if (total > info.maxPositions()) {
            throw new IllegalArgumentException("slot " + e.slot() + ": " + total + " positions exceed maxPositions " + info.maxPositions());
        }
        for (int t : e.tokenIds()) {
            if (t < 0 || t >= vocabSize) throw new IllegalArgumentException("token id " + t + " outside [0, " + vocabSize + ")");
        }
        long staging = stagingBytes(1, total), logitsBytes = (long) logitsPositions(s) * vocabSize * Float.BYTES;
        if (staging > KvBuffers.MAX_BUFFER_BYTES || logitsBytes > KvBuffers.MAX_BUFFER_BYTES) {
            throw new BackendException("slot " + e.slot() + ": " + total + " positions need a " + staging + "-byte present buffer per layer and "
                    + logitsBytes + " bytes of logits; one staging buffer is limited to " + KvBuffers.MAX_BUFFER_BYTES + " bytes");
        }
    }

    /**
     * One ORT call for entries of equal token count S; pasts left-padded to the longest. Returns last-position logits.
     * Every output is pinned to a reused direct buffer. A decode call (S = 1) whose group continues the previous
     * decode call's ({@link DecodeLayout}) takes that call's {@code present} buffers as its past, packing nothing.
     */
    private float[][] run(List<Batch.Entry> group) {
        if (gqa != null) return runGqa(group);
        int b = group.size();
        int s = group.get(0).tokenIds().length;
        KvSlot[] groupSlots = new KvSlot[b];
        int[] lengths = new int[b];
        int past = 0;
        for (int i = 0; i < b; i++) {
            groupSlots[i] = kv.slot(group.get(i).slot());
            lengths[i] = group.get(i).startPosition();
            past = Math.max(past, lengths[i]);
        }
        int total = past + s;
        boolean decode = s == 1;
        KvBuffers pastBufs = decode ? decodePast : prefillPast, presentBufs = decode ? decodePresent : prefillPresent;
        if (!decode || layout == null || !layout.holds(group, groupSlots)) kv.gather(groupSlots, lengths, past, pastBufs);
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
            long pastBytes = stagingBytes(b, past), presentBytes = stagingBytes(b, total);
            for (int l = 0; l < numLayers; l++) {
                inputs.put(OnnxExporter.pastKey(l), tensor(pastBufs.view(l, true, pastBytes), pastShape));
                inputs.put(OnnxExporter.pastValue(l), tensor(pastBufs.view(l, false, pastBytes), pastShape));
                outputs.put(OnnxExporter.presentKey(l), tensor(presentBufs.view(l, true, presentBytes), presentShape));
                outputs.put(OnnxExporter.presentValue(l), tensor(presentBufs.view(l, false, presentBytes), presentShape));
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
        kv.scatter(presentBufs, group, groupSlots, past, s);
        if (decode) {
            decodePresent = decodePast;
            decodePast = presentBufs;
            layout = DecodeLayout.of(group, groupSlots);
        }
        return out;
    }

    /** One ORT call of a GroupQueryAttention graph ({@link GqaStaging}); entries as for {@link #run}. */
    private float[][] runGqa(List<Batch.Entry> group) {
        int b = group.size(), s = group.get(0).tokenIds().length;
        KvSlot[] groupSlots = new KvSlot[b];
        for (int i = 0; i < b; i++) groupSlots[i] = kv.slot(group.get(i).slot());
        var inputs = new HashMap<String, OnnxTensor>();
        var outputs = new HashMap<String, OnnxTensor>();
        try {
            gqa.prepare(env, group, groupSlots, inputs, outputs);
            outputs.put("logits", OnnxTensor.createTensor(env, logitsView(b * logitsPositions(s) * vocabSize),
                    new long[]{b, logitsPositions(s), vocabSize}));
            session.run(inputs, outputs).close();
        } catch (OrtException e) {
            throw new BackendException("ONNX Runtime step failed (batch " + b + ", tokens " + s + ", GQA): " + e.getMessage(), e);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
            outputs.values().forEach(OnnxTensor::close);
        }
        float[][] out = readLogits(b, logitsPositions(s));
        gqa.finish(group, groupSlots);
        return out;
    }

    private OnnxTensor tensor(ByteBuffer data, long[] shape) throws OrtException {
        return OnnxTensor.createTensor(env, data, shape, kvType);
    }

    /** Positions per entry in {@code logits}: 1 for a last-position-only export, else S. */
    private int logitsPositions(int s) {
        return lastPositionLogitsOnly ? 1 : s;
    }

    private FloatBuffer logitsView(int numFloats) {
        if (logitsBuffer == null || logitsBuffer.capacity() < (long) numFloats * Float.BYTES) {
            logitsBuffer = DirectMemory.allocate((long) numFloats * Float.BYTES, "logits");
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

    @Override
    public void copyKv(int srcSlot, int dstSlot, int numTokens) {
        int have = kvLength(srcSlot);
        if (numTokens < 0 || numTokens > have) {
            throw new IllegalArgumentException("cannot copy " + numTokens + " positions from slot " + srcSlot + " holding " + have);
        }
        kvLength(dstSlot);
        kv.copy(srcSlot, dstSlot, numTokens);
    }

    @Override
    public void freeKv(int slot) {
        kv.free(slot);
    }

    @Override
    public int kvLength(int slot) {
        return kv.length(slot);
    }

    /** GroupQueryAttention staging (null for a plain graph), for tests in this package. */
    GqaStaging gqaStaging() {
        return gqa;
    }

    /** The KV store, for tests in this package. */
    PagedKvCache kvCache() {
        return kv;
    }

    @Override
    public void close() {
        OrtSessions.close(session);
    }

    private void closeQuietly() {
        try {
            session.close();
        } catch (OrtException ignored) {
            // already failing construction; the original error is reported
        }
    }
}
