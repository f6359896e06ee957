package dev.principia.model.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.principia.model.ModelConfig;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Test driver for a {@link OnnxExporter.Attention#GQA} decoder over {@code rows} sequences: per layer one key
 * and one value direct buffer {@code [rows, kvHeads, capacity, headDim]}, bound as both {@code past} and
 * {@code present} of every call (in place). Row r's slice is itself a {@code [1, kvHeads, capacity, headDim]}
 * tensor, so a prompt or chunk runs B = 1 on the slice and decode runs all rows on the whole buffer.
 * With {@code separatePresent}, present goes to other buffers instead, copied back after each call.
 */
final class OrtGqaRun implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final ModelConfig c;
    private final int rows, capacity;
    /** [layer][0 key, 1 value], each [rows, kvHeads, capacity, headDim]. */
    final ByteBuffer[][] cache;
    final int[] lengths;

    OrtGqaRun(Path onnx, ModelConfig c, int rows, int capacity, float fill) throws OrtException {
        this.session = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
        this.c = c;
        this.rows = rows;
        this.capacity = capacity;
        this.lengths = new int[rows];
        this.cache = new ByteBuffer[c.numHiddenLayers()][2];
        for (ByteBuffer[] layer : cache) {
            for (int kv = 0; kv < 2; kv++) {
                layer[kv] = ByteBuffer.allocateDirect(rowFloats() * rows * Float.BYTES).order(ByteOrder.nativeOrder());
                FloatBuffer f = layer[kv].asFloatBuffer();
                while (f.hasRemaining()) f.put(fill);
            }
        }
    }

    int rowFloats() {
        return c.numKeyValueHeads() * capacity * c.headDim();
    }

    /** Row r's cached value at (layer, kv, head, position, 0). */
    float at(int layer, int kv, int r, int head, int position) {
        return cache[layer][kv].asFloatBuffer().get(((r * c.numKeyValueHeads() + head) * capacity + position) * c.headDim());
    }

    /** Runs {@code tokens} of row r at positions [L_r, L_r + n) with B = 1; returns logits [n or 1][vocab]. */
    float[][] prompt(int r, int[] tokens) throws OrtException {
        ByteBuffer[][] views = new ByteBuffer[cache.length][2];
        for (int l = 0; l < cache.length; l++) {
            for (int kv = 0; kv < 2; kv++) {
                views[l][kv] = cache[l][kv].slice(r * rowFloats() * Float.BYTES, rowFloats() * Float.BYTES).order(ByteOrder.nativeOrder());
            }
        }
        float[][] out = run(views, 1, new int[]{lengths[r]}, tokens, false);
        lengths[r] += tokens.length;
        return out;
    }

    /** One token per row, all rows in one call; returns logits [rows][vocab]. */
    float[][] decode(int[] tokens, boolean separatePresent) throws OrtException {
        float[][] out = run(cache, rows, lengths.clone(), tokens, separatePresent);
        for (int r = 0; r < rows; r++) lengths[r]++;
        return out;
    }

    private float[][] run(ByteBuffer[][] kvBufs, int b, int[] past, int[] tokens, boolean separatePresent) throws OrtException {
        int s = tokens.length / b, total = 0;
        long[] ids = new long[tokens.length];
        for (int i = 0; i < ids.length; i++) ids[i] = tokens[i];
        int[] seqlens = new int[b];
        for (int i = 0; i < b; i++) {
            seqlens[i] = past[i] + s - 1;
            total = Math.max(total, past[i] + s);
        }
        long[] shape = {b, c.numKeyValueHeads(), capacity, c.headDim()};
        Map<String, OnnxTensor> in = new HashMap<>(), out = new HashMap<>();
        ByteBuffer[][] present = new ByteBuffer[kvBufs.length][2];
        try {
            in.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[]{b, s}));
            in.put("seqlens_k", OnnxTensor.createTensor(env, IntBuffer.wrap(seqlens), new long[]{b}));
            in.put("total_sequence_length", OnnxTensor.createTensor(env, IntBuffer.wrap(new int[]{total}), new long[0]));
            for (int l = 0; l < kvBufs.length; l++) {
                for (int kv = 0; kv < 2; kv++) {
                    present[l][kv] = separatePresent
                            ? ByteBuffer.allocateDirect(kvBufs[l][kv].capacity()).order(ByteOrder.nativeOrder()) : kvBufs[l][kv];
                }
                in.put(OnnxExporter.pastKey(l), OnnxTensor.createTensor(env, kvBufs[l][0].asFloatBuffer(), shape));
                in.put(OnnxExporter.pastValue(l), OnnxTensor.createTensor(env, kvBufs[l][1].asFloatBuffer(), shape));
                out.put(OnnxExporter.presentKey(l), OnnxTensor.createTensor(env, present[l][0].asFloatBuffer(), shape));
                out.put(OnnxExporter.presentValue(l), OnnxTensor.createTensor(env, present[l][1].asFloatBuffer(), shape));
            }
            try (OrtSession.Result r = session.run(in, java.util.Set.of("logits"), out)) {
                OnnxTensor logits = (OnnxTensor) r.get("logits").orElseThrow();
                int positions = (int) logits.getInfo().getShape()[1];
                FloatBuffer fb = logits.getFloatBuffer();
                float[][] result = new float[b * positions][c.vocabSize()];
                for (float[] row : result) fb.get(row);
                if (separatePresent) {
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

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
