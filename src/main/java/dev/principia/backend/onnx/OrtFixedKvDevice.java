package dev.principia.backend.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.principia.backend.BackendException;
import dev.principia.backend.fixedkv.FixedKvBackend;
import dev.principia.backend.fixedkv.FixedKvDevice;
import dev.principia.backend.fixedkv.FixedKvLayout;
import dev.principia.backend.fixedkv.Run;
import dev.principia.backend.fixedkv.RunPlanner;
import dev.principia.model.ModelConfig;
import dev.principia.model.onnx.OnnxExporter;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the portable decoder ({@link OnnxExporter.Attention#PORTABLE}) on ONNX Runtime's CPU provider for a
 * {@link FixedKvBackend}. Per layer one key and one value direct buffer per segment of the {@link FixedKvLayout}
 * (zeroed: masked positions are multiplied by probability 0), in the element type of the graph's {@code past}
 * input. A {@link Run}'s rows are one slice of each buffer, bound as both {@code past_key_values.{i}.*} and the
 * pinned {@code present.{i}.*}: TensorScatter then writes the new positions into the cache in place (ONNX Runtime
 * 1.29 skips its past-to-present copy when both have one address) and no KV is copied per call. Logits go to a
 * reused direct buffer. Called from one thread at a time.
 */
public final class OrtFixedKvDevice implements FixedKvDevice {
    /** Largest segment of one layer's key (or value) buffer: a Java direct buffer holds at most 2 GiB. */
    static final long MAX_SEGMENT_BYTES = 1L << 30;

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final FixedKvLayout layout;
    private final OnnxJavaType kvType;
    private final int vocabSize;
    private final boolean lastPositionLogitsOnly;
    /** [layer][0 key, 1 value][segment]. */
    private final ByteBuffer[][][] cache;
    private ByteBuffer logitsBuffer;

    private OrtFixedKvDevice(OrtSession session, FixedKvLayout layout, OnnxJavaType kvType, int vocabSize, boolean lastPositionLogitsOnly) {
        this.session = session;
        this.layout = layout;
        this.kvType = kvType;
        this.vocabSize = vocabSize;
        this.lastPositionLogitsOnly = lastPositionLogitsOnly;
        this.cache = new ByteBuffer[layout.numLayers()][2][layout.numSegments()];
        for (int l = 0; l < layout.numLayers(); l++) {
            for (int kv = 0; kv < 2; kv++) {
                for (int s = 0; s < layout.numSegments(); s++) {
                    cache[l][kv][s] = DirectMemory.allocate(layout.slotsInSegment(s) * layout.slotBytes(), "portable KV segment " + (s + 1)
                            + " of " + layout.numSegments() + " (layer " + l + (kv == 0 ? " keys" : " values") + ", cache " + layout.totalBytes() + " bytes)");
                }
            }
        }
    }

    /**
     * Opens {@code onnxFile}, a portable decoder of {@code config}, as a backend named {@code onnxruntime-cpu}. Every slot
     * owns {@code options.maxPositions()} positions; with {@code options.kvCacheBytes() > 0} the slots are reduced to as
     * many as that holds ({@link dev.principia.backend.BackendInfo#maxSlots()} says how many), else there are
     * {@code options.maxSlots()}. The cache is allocated now, in direct memory ({@code -XX:MaxDirectMemorySize}).
     *
     * @throws IllegalArgumentException when the graph is not a portable decoder of {@code config}, {@code maxPositions}
     *                                  exceeds the model's, or {@code kvCacheBytes} cannot hold one slot (naming the bytes one needs)
     */
    public static FixedKvBackend open(Path onnxFile, ModelConfig config, OnnxBackend.Options options, RunPlanner.Limits limits) {
        return open(onnxFile, config, options, limits, MAX_SEGMENT_BYTES);
    }

    /** @param maxSegmentBytes segment limit of one layer's key (or value) buffer, at most {@link #MAX_SEGMENT_BYTES} */
    static FixedKvBackend open(Path onnxFile, ModelConfig config, OnnxBackend.Options options, RunPlanner.Limits limits, long maxSegmentBytes) {
        OrtFixedKvDevice device = device(onnxFile, config, options, maxSegmentBytes);
        return new FixedKvBackend(device, device.layout, limits);
    }

    /** The device {@link #open} wraps, for tests in this package. */
    static OrtFixedKvDevice device(Path onnxFile, ModelConfig config, OnnxBackend.Options options, long maxSegmentBytes) {
        if (maxSegmentBytes <= 0 || maxSegmentBytes > MAX_SEGMENT_BYTES) {
            throw new IllegalArgumentException("maxSegmentBytes must be in (0, " + MAX_SEGMENT_BYTES + "], got " + maxSegmentBytes);
        }
        if (options.maxPositions() > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("maxPositions " + options.maxPositions() + " exceeds the model's max_position_embeddings "
                    + config.maxPositionEmbeddings());
        }
        OrtSession session = OrtSessions.open(onnxFile, options.intraOpThreads(), options.allowSpinning());
        try {
            OnnxJavaType kvType = checkGraph(session, onnxFile, config);
            int elementBytes = kvType == OnnxJavaType.FLOAT ? Float.BYTES : 2;
            var layout = new FixedKvLayout(config.numHiddenLayers(), config.numKeyValueHeads(), config.headDim(), options.maxPositions(),
                    slots(config, options, elementBytes), elementBytes).withMaxSegmentBytes(maxSegmentBytes);
            return new OrtFixedKvDevice(session, layout, kvType, config.vocabSize(), OrtGraphInfo.lastPositionLogitsOnly(session));
        } catch (RuntimeException e) {
            try {
                session.close();
            } catch (OrtException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** Slots the cache holds: {@code maxSlots}, or fewer when {@code kvCacheBytes} is set and holds fewer. */
    static int slots(ModelConfig c, OnnxBackend.Options options, int elementBytes) {
        return FixedKvLayout.slotsFitting(options.kvCacheBytes(), 2L * c.numHiddenLayers() * c.numKeyValueHeads() * c.headDim() * elementBytes,
                options.maxPositions(), options.maxSlots());
    }

    /** Checks the portable decoder's inputs against the config; returns the element type of its cache. */
    private static OnnxJavaType checkGraph(OrtSession session, Path onnxFile, ModelConfig c) {
        try {
            OrtGraphInfo.requireInputs(session, onnxFile, List.of("input_ids", "position_ids"));
            var inputs = session.getInputInfo();
            if (inputs.containsKey("attention_mask") || inputs.containsKey("seqlens_k")) {
                throw new IllegalArgumentException(onnxFile + ": not a portable decoder (inputs: " + inputs.keySet() + "); export it with attention portable");
            }
            OnnxJavaType type = null;
            for (int l = 0; l < c.numHiddenLayers(); l++) {
                for (String n : List.of(OnnxExporter.pastKey(l), OnnxExporter.pastValue(l))) {
                    if (!inputs.containsKey(n)) {
                        throw new IllegalArgumentException(onnxFile + ": graph has no input '" + n + "', but the config has " + c.numHiddenLayers() + " layers");
                    }
                    TensorInfo info = (TensorInfo) inputs.get(n).getInfo();
                    long[] shape = info.getShape();
                    if (shape.length != 4 || (shape[1] > 0 && shape[1] != c.numKeyValueHeads()) || (shape[3] > 0 && shape[3] != c.headDim())) {
                        throw new IllegalArgumentException(onnxFile + ": input '" + n + "' has shape " + java.util.Arrays.toString(shape)
                                + ", expected [batch, " + c.numKeyValueHeads() + ", capacity, " + c.headDim() + "]");
                    }
                    if (type == null) type = info.type;
                    if (info.type != type || (type != OnnxJavaType.FLOAT && type != OnnxJavaType.FLOAT16)) {
                        throw new IllegalArgumentException(onnxFile + ": input '" + n + "' of type " + info.type + "; expected float or float16 throughout");
                    }
                }
            }
            return type;
        } catch (OrtException | ClassCastException e) {
            throw new IllegalArgumentException(onnxFile + ": cannot read the graph's inputs: " + e.getMessage(), e);
        }
    }

    @Override
    public String name() {
        return "onnxruntime-cpu";
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public String kvElementType() {
        return OrtGraphInfo.kvTypeName(kvType);
    }

    FixedKvLayout layout() {
        return layout;
    }

    @Override
    public float[][] execute(Run run) {
        int b = run.rows(), s = run.tokensPerRow(), positions = lastPositionLogitsOnly ? 1 : s;
        int segment = layout.segmentOf(run.firstSlot());
        long offset = layout.slotOffset(run.firstSlot()), bytes = b * layout.slotBytes();
        long[] shape = {b, layout.numKvHeads(), layout.capacity(), layout.headDim()};
        var inputs = new HashMap<String, OnnxTensor>();
        var outputs = new HashMap<String, OnnxTensor>();
        try {
            inputs.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(run.inputIds()), new long[]{b, s}));
            inputs.put("position_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(run.positionIds()), new long[]{b, s}));
            for (int l = 0; l < layout.numLayers(); l++) {
                ByteBuffer k = slice(cache[l][0][segment], offset, bytes), v = slice(cache[l][1][segment], offset, bytes);
                inputs.put(OnnxExporter.pastKey(l), OnnxTensor.createTensor(env, k, shape, kvType));
                inputs.put(OnnxExporter.pastValue(l), OnnxTensor.createTensor(env, v, shape, kvType));
                outputs.put(OnnxExporter.presentKey(l), OnnxTensor.createTensor(env, k, shape, kvType));
                outputs.put(OnnxExporter.presentValue(l), OnnxTensor.createTensor(env, v, shape, kvType));
            }
            outputs.put("logits", OnnxTensor.createTensor(env, logitsView(b * positions * vocabSize), new long[]{b, positions, vocabSize}));
            session.run(inputs, outputs).close();
        } catch (OrtException e) {
            throw new BackendException("ONNX Runtime portable step failed (slots " + run.firstSlot() + ".." + (run.firstSlot() + b - 1) + ", "
                    + s + " tokens each, first write position " + run.writePosition(0) + "): " + e.getMessage(), e);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
            outputs.values().forEach(OnnxTensor::close);
        }
        float[][] out = new float[b][vocabSize];
        FloatBuffer lf = logitsBuffer.duplicate().clear().order(ByteOrder.nativeOrder()).asFloatBuffer();
        for (int r = 0; r < b; r++) lf.get((r * positions + positions - 1) * vocabSize, out[r]);
        return out;
    }

    /** A native-order view of {@code [offset, offset + bytes)} of {@code buffer}. */
    private static ByteBuffer slice(ByteBuffer buffer, long offset, long bytes) {
        return buffer.slice((int) offset, (int) bytes).order(ByteOrder.nativeOrder());
    }

    private FloatBuffer logitsView(int numFloats) {
        if (logitsBuffer == null || logitsBuffer.capacity() < (long) numFloats * Float.BYTES) {
            logitsBuffer = DirectMemory.allocate((long) numFloats * Float.BYTES, "logits");
        }
        return logitsBuffer.duplicate().clear().order(ByteOrder.nativeOrder()).asFloatBuffer().limit(numFloats);
    }

    @Override
    public void copy(List<FixedKvLayout.Copy> copies) {
        for (ByteBuffer[][] layer : cache) {
            for (ByteBuffer[] segments : layer) {
                for (FixedKvLayout.Copy c : copies) {
                    segments[c.dstSegment()].put((int) c.dstOffset(), segments[c.srcSegment()], (int) c.srcOffset(), (int) c.bytes());
                }
            }
        }
    }

    /** One layer's key ({@code kv} 0) or value (1) buffer segment, for tests in this package. */
    ByteBuffer segment(int layer, int kv, int segment) {
        return cache[layer][kv][segment].duplicate().order(ByteOrder.nativeOrder());
    }

    @Override
    public void close() {
        OrtSessions.close(session);
    }
}
