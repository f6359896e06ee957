package dev.principia.model.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.principia.model.DType;
import dev.principia.model.ModelConfig;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Test driver for a {@link OnnxExporter.Attention#PORTABLE} decoder over {@code rows} sequences, fp32 or fp16:
 * per layer one key and one value direct buffer {@code [rows, kvHeads, capacity, headDim]}, filled with a
 * finite value at construction and bound as both {@code past} and {@code present} of every call (pinned
 * outputs). Row r's slice is itself a {@code [1, kvHeads, capacity, headDim]} tensor, so a prompt runs B = 1
 * on the slice and a batch call runs all rows on the whole buffers. With {@code separatePresent}, present
 * goes to fresh buffers instead, kept in {@link #lastPresent} and copied back after the call.
 */
final class OrtPortableRun implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final ModelConfig c;
    private final boolean fp16;
    private final int rows, capacity, elementBytes;
    /** [layer][0 key, 1 value], each [rows, kvHeads, capacity, headDim] of the activation type. */
    final ByteBuffer[][] cache;
    /** The present buffers of the last call with {@code separatePresent}. */
    ByteBuffer[][] lastPresent;
    final int[] lengths;

    OrtPortableRun(Path onnx, ModelConfig c, DType dtype, int rows, int capacity, float fill) throws OrtException {
        this.session = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
        this.c = c;
        this.fp16 = dtype == DType.F16;
        this.elementBytes = fp16 ? 2 : 4;
        this.rows = rows;
        this.capacity = capacity;
        this.lengths = new int[rows];
        this.cache = new ByteBuffer[c.numHiddenLayers()][2];
        for (ByteBuffer[] layer : cache) {
            for (int kv = 0; kv < 2; kv++) {
                layer[kv] = ByteBuffer.allocateDirect(rowBytes() * rows).order(ByteOrder.nativeOrder());
                for (int i = 0; i < rowBytes() * rows / elementBytes; i++) put(layer[kv], i, fill);
            }
        }
    }

    int rowBytes() {
        return c.numKeyValueHeads() * capacity * c.headDim() * elementBytes;
    }

    /** Row r's cached element (layer, kv, head, position, i) as a float. */
    float at(int layer, int kv, int r, int head, int position, int i) {
        return get(cache[layer][kv], ((r * c.numKeyValueHeads() + head) * capacity + position) * c.headDim() + i);
    }

    /** The raw bits of element {@code index} of {@code buffer}. */
    int bits(ByteBuffer buffer, int index) {
        return fp16 ? buffer.getShort(index * 2) : buffer.getInt(index * 4);
    }

    /** Runs {@code tokens} of row r at positions [L_r, L_r + n) with B = 1 on its slice; returns logits [n][vocab]. */
    float[][] prompt(int r, int[] tokens) throws OrtException {
        ByteBuffer[][] views = new ByteBuffer[cache.length][2];
        for (int l = 0; l < cache.length; l++) {
            for (int kv = 0; kv < 2; kv++) views[l][kv] = cache[l][kv].slice(r * rowBytes(), rowBytes()).order(ByteOrder.nativeOrder());
        }
        float[][] out = run(views, new int[]{lengths[r]}, new int[][]{tokens}, false);
        lengths[r] += tokens.length;
        return out;
    }

    /** {@code tokens[r]} (all of one length S) for every row in one call; returns logits [rows * S][vocab], row-major. */
    float[][] batch(int[][] tokens, boolean separatePresent) throws OrtException {
        float[][] out = run(cache, lengths.clone(), tokens, separatePresent);
        for (int r = 0; r < rows; r++) lengths[r] += tokens[r].length;
        return out;
    }

    private float[][] run(ByteBuffer[][] kvBufs, int[] past, int[][] tokens, boolean separatePresent) throws OrtException {
        int b = tokens.length, s = tokens[0].length;
        long[] ids = new long[b * s], pos = new long[b * s];
        for (int r = 0; r < b; r++) {
            if (tokens[r].length != s) throw new IllegalArgumentException("rows of one call need equal lengths");
            for (int i = 0; i < s; i++) {
                ids[r * s + i] = tokens[r][i];
                pos[r * s + i] = past[r] + i;
            }
        }
        long[] shape = {b, c.numKeyValueHeads(), capacity, c.headDim()};
        Map<String, OnnxTensor> in = new HashMap<>(), out = new HashMap<>();
        ByteBuffer[][] present = new ByteBuffer[kvBufs.length][2];
        try {
            in.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[]{b, s}));
            in.put("position_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(pos), new long[]{b, s}));
            for (int l = 0; l < kvBufs.length; l++) {
                for (int kv = 0; kv < 2; kv++) {
                    present[l][kv] = separatePresent
                            ? ByteBuffer.allocateDirect(kvBufs[l][kv].capacity()).order(ByteOrder.nativeOrder()) : kvBufs[l][kv];
                }
                in.put(OnnxExporter.pastKey(l), tensor(kvBufs[l][0], shape));
                in.put(OnnxExporter.pastValue(l), tensor(kvBufs[l][1], shape));
                out.put(OnnxExporter.presentKey(l), tensor(present[l][0], shape));
                out.put(OnnxExporter.presentValue(l), tensor(present[l][1], shape));
            }
            try (OrtSession.Result r = session.run(in, Set.of("logits"), out)) {
                OnnxTensor logits = (OnnxTensor) r.get("logits").orElseThrow();
                int positions = (int) logits.getInfo().getShape()[1];
                FloatBuffer fb = logits.getFloatBuffer();
                float[][] result = new float[b * positions][c.vocabSize()];
                for (float[] row : result) fb.get(row);
                if (separatePresent) {
                    lastPresent = present;
                    for (int l = 0; l < kvBufs.length; l++) {
                        for (int kv = 0; kv < 2; kv++) kvBufs[l][kv].duplicate().clear().put(present[l][kv].duplicate().clear());
                    }
                }
                return result;
            }
        } finally {
            in.values().forEach(OnnxTensor::close);
            out.values().forEach(OnnxTensor::close);
        }
    }

    private OnnxTensor tensor(ByteBuffer buffer, long[] shape) throws OrtException {
        return fp16 ? OnnxTensor.createTensor(env, buffer.asShortBuffer(), shape, OnnxJavaType.FLOAT16)
                : OnnxTensor.createTensor(env, buffer.asFloatBuffer(), shape);
    }

    private void put(ByteBuffer buffer, int index, float value) {
        if (fp16) {
            buffer.putShort(index * 2, DType.floatToHalf(value));
        } else {
            buffer.putFloat(index * 4, value);
        }
    }

    private float get(ByteBuffer buffer, int index) {
        return fp16 ? DType.halfToFloat(buffer.getShort(index * 2)) : buffer.getFloat(index * 4);
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
