package dev.principia.model.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.principia.model.DType;
import dev.principia.model.ModelConfig;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Test driver for one B = 1 sequence through an exported decoder of either dtype: feeds {@code present}
 * back as the next step's {@code past}. The cache is held as floats [layer][kv][kvHeads * T * headDim];
 * for fp16 exports it is converted to half on the way in (exact: the values came out as half).
 */
final class OrtDecoderRun implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final ModelConfig c;
    private final boolean fp16;
    private float[][][] cache;
    private int length;

    OrtDecoderRun(Path onnx, ModelConfig c, DType dtype) throws OrtException {
        this.session = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
        this.c = c;
        this.fp16 = dtype == DType.F16;
        this.cache = new float[c.numHiddenLayers()][2][0];
    }

    /** Runs {@code tokens} at positions [length, length + n); returns logits [n][vocab] and extends the cache. */
    float[][] step(int[] tokens) throws OrtException {
        int n = tokens.length, total = length + n;
        long[] ids = new long[n], pos = new long[n], mask = new long[total];
        for (int i = 0; i < n; i++) {
            ids[i] = tokens[i];
            pos[i] = length + i;
        }
        Arrays.fill(mask, 1);
        Map<String, OnnxTensor> in = new HashMap<>();
        try {
            in.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[]{1, n}));
            in.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[]{1, total}));
            in.put("position_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(pos), new long[]{1, n}));
            long[] shape = {1, c.numKeyValueHeads(), length, c.headDim()};
            for (int l = 0; l < c.numHiddenLayers(); l++) {
                in.put(OnnxExporter.pastKey(l), tensor(cache[l][0], shape));
                in.put(OnnxExporter.pastValue(l), tensor(cache[l][1], shape));
            }
            try (OrtSession.Result r = session.run(in)) {
                OnnxTensor logits = (OnnxTensor) r.get("logits").orElseThrow();
                int positions = (int) logits.getInfo().getShape()[1];
                FloatBuffer fb = logits.getFloatBuffer();
                float[][] out = new float[positions][c.vocabSize()];
                for (float[] row : out) fb.get(row);
                for (int l = 0; l < c.numHiddenLayers(); l++) {
                    cache[l][0] = read((OnnxTensor) r.get(OnnxExporter.presentKey(l)).orElseThrow());
                    cache[l][1] = read((OnnxTensor) r.get(OnnxExporter.presentValue(l)).orElseThrow());
                }
                length = total;
                return out;
            }
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

    private OnnxTensor tensor(float[] values, long[] shape) throws OrtException {
        if (!fp16) return OnnxTensor.createTensor(env, FloatBuffer.wrap(values), shape);
        short[] half = new short[values.length];
        for (int i = 0; i < half.length; i++) half[i] = DType.floatToHalf(values[i]);
        return OnnxTensor.createTensor(env, ShortBuffer.wrap(half), shape, OnnxJavaType.FLOAT16);
    }

    private float[] read(OnnxTensor t) {
        if (!fp16) {
            FloatBuffer fb = t.getFloatBuffer();
            float[] out = new float[fb.remaining()];
            fb.get(out);
            return out;
        }
        ShortBuffer sb = t.getShortBuffer();
        float[] out = new float[sb.remaining()];
        for (int i = 0; i < out.length; i++) out[i] = DType.halfToFloat(sb.get());
        return out;
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
