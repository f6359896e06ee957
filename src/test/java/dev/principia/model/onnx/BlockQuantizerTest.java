package dev.principia.model.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.principia.model.DType;
import dev.principia.model.FloatSource;
import dev.principia.model.onnx.OnnxGraph.Attr;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link BlockQuantizer}: error bounds, bit packing against a slow reference, and ONNX Runtime's MatMulNBits reading it. */
class BlockQuantizerTest {
    @TempDir
    Path dir;

    /** |w - dequant(q)| <= scale / 2 per element (round to nearest; 0 inside every block's range). */
    @ParameterizedTest
    @CsvSource({"4, 32", "8, 32", "4, 128", "8, 128"})
    void dequantizedErrorIsAtMostHalfAStep(int bits, int blockSize) throws IOException {
        int rows = 5, cols = 300; // 300 is not a multiple of the block: the last block of each row is padded
        float[] w = gaussian(rows * cols, 1);
        w[7] = 40f; // an outlier widens only its own block
        var l = new BlockQuantizer.Layout(rows, cols, bits, blockSize, OnnxGraph.FLOAT);
        float[] back = new float[w.length];
        float[] scales = new float[(int) l.scaleCount()];
        BlockQuantizer.quantize(FloatSource.of(w), l, (row, b, q, scale, zp) -> {
            scales[row * l.kBlocks() + b] = scale;
            for (int i = 0; i < blockSize && b * blockSize + i < cols; i++) back[row * cols + b * blockSize + i] = (q[i] - zp) * scale;
        });
        for (int i = 0; i < w.length; i++) {
            float scale = scales[(i / cols) * l.kBlocks() + (i % cols) / blockSize];
            assertTrue(Math.abs(w[i] - back[i]) <= scale / 2 * 1.0001f, "element " + i + ": " + w[i] + " -> " + back[i] + ", scale " + scale);
        }
        float typical = scales[l.kBlocks() + 1]; // row 1: no outlier
        assertTrue(typical < 8f / l.levels(), "Gaussian block of " + blockSize + " spans < 8 sigma, scale " + typical);
    }

    /** Hand-made blocks: levels, zero points and nibble order against a slow reference. */
    @Test
    void packsAsMatMulNBitsReads() throws IOException {
        // one row, K = 48 with blocks of 16 -> 3 blocks, odd: the zero-point byte's high nibble pads
        float[] w = new float[48];
        for (int i = 0; i < 16; i++) w[i] = i;            // block 0: lo 0, hi 15 -> scale 1, zp 0, q = i
        for (int i = 0; i < 16; i++) w[16 + i] = -i;      // block 1: lo -15, hi 0 -> scale 1, zp 15, q = 15 - i
        for (int i = 0; i < 16; i++) w[32 + i] = i - 5;   // block 2: lo -5, hi 10 -> scale 1, zp 5, q = i
        var l = new BlockQuantizer.Layout(1, 48, 4, 16, OnnxGraph.FLOAT);
        byte[] data = bytes(BlockQuantizer.data(FloatSource.of(w), l));
        byte[] zps = bytes(BlockQuantizer.zeroPoints(FloatSource.of(w), l));
        byte[] scales = bytes(BlockQuantizer.scales(FloatSource.of(w), l));
        int[] q = new int[48];
        for (int i = 0; i < 16; i++) {
            q[i] = i;
            q[16 + i] = 15 - i;
            q[32 + i] = i;
        }
        assertArrayEquals(slowPack4(q), data);
        assertArrayEquals(new byte[]{(byte) (0 | 15 << 4), 5}, zps);
        FloatBuffer fb = ByteBuffer.wrap(scales).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        for (int b = 0; b < 3; b++) assertEquals(1f, fb.get(b));

        var l8 = new BlockQuantizer.Layout(1, 48, 8, 16, OnnxGraph.FLOAT);
        byte[] data8 = bytes(BlockQuantizer.data(FloatSource.of(w), l8));
        assertEquals(48, data8.length);
        // 8 bits: scale 15/255, so q = round(w * 17) + zp with zp = 0, 255, 85
        assertEquals(17 * 15, data8[15] & 0xff);
        assertEquals(255 - 17 * 15, data8[31] & 0xff);
        assertArrayEquals(new byte[]{0, (byte) 255, 85}, bytes(BlockQuantizer.zeroPoints(FloatSource.of(w), l8)));
    }

    /** ONNX Runtime's MatMulNBits on the quantizer's tensors equals x · dequant(W)^T computed here. */
    @ParameterizedTest
    @CsvSource({"4, 32, 1", "8, 32, 1", "4, 128, 1", "8, 32, 10", "4, 32, 10"})
    void onnxRuntimeReadsTheLayout(int bits, int blockSize, int scaleType) throws Exception {
        int n = 24, k = 200, m = 3;
        float[] w = gaussian(n * k, 2);
        float[] x = gaussian(m * k, 3);
        var l = new BlockQuantizer.Layout(n, k, bits, blockSize, scaleType);
        float[] deq = new float[n * k];
        BlockQuantizer.quantize(FloatSource.of(w), l, (row, b, q, scale, zp) -> {
            for (int i = 0; i < blockSize && b * blockSize + i < k; i++) deq[row * k + b * blockSize + i] = (q[i] - zp) * scale;
        });
        var g = new OnnxGraph(null);
        g.input("x", scaleType, "m", k);
        g.output("y", OnnxGraph.FLOAT, "m", n);
        g.rawInitializer("B", OnnxGraph.UINT8, new long[]{n, l.kBlocks(), l.blobBytes()}, BlockQuantizer.data(FloatSource.of(w), l));
        g.rawInitializer("S", scaleType, new long[]{l.scaleCount()}, BlockQuantizer.scales(FloatSource.of(w), l));
        g.rawInitializer("Z", OnnxGraph.UINT8, new long[]{l.zeroPointBytes()}, BlockQuantizer.zeroPoints(FloatSource.of(w), l));
        String y = g.contribOp("MatMulNBits", List.of("x", "B", "S", "Z"), Attr.i("K", k), Attr.i("N", n), Attr.i("bits", bits), Attr.i("block_size", blockSize));
        g.opNamed("y", scaleType == OnnxGraph.FLOAT ? "Identity" : "Cast", List.of(y), scaleType == OnnxGraph.FLOAT ? new Attr[0] : new Attr[]{Attr.i("to", OnnxGraph.FLOAT)});
        Path onnx = dir.resolve("mm.onnx");
        g.writeModel(onnx, "mm", OnnxExporter.OPSET, "test", "");
        var env = OrtEnvironment.getEnvironment();
        float[] got = new float[m * n];
        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
             OnnxTensor in = scaleType == OnnxGraph.FLOAT
                     ? OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[]{m, k})
                     : OnnxTensor.createTensor(env, half(x), new long[]{m, k}, ai.onnxruntime.OnnxJavaType.FLOAT16);
             OrtSession.Result r = s.run(Map.of("x", in))) {
            ((OnnxTensor) r.get(0)).getFloatBuffer().get(got);
        }
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double ref = 0, mag = 0;
                for (int t = 0; t < k; t++) {
                    float xv = scaleType == OnnxGraph.FLOAT ? x[i * k + t] : DType.halfToFloat(DType.floatToHalf(x[i * k + t]));
                    ref += (double) xv * deq[j * k + t];
                    mag += Math.abs((double) xv * deq[j * k + t]);
                }
                double tol = (scaleType == OnnxGraph.FLOAT ? 1e-5 : 2e-3) * mag;
                assertEquals(ref, got[i * n + j], tol, "y[" + i + "][" + j + "]");
            }
        }
    }

    private static byte[] slowPack4(int[] q) {
        byte[] out = new byte[q.length / 2];
        for (int i = 0; i < q.length; i++) {
            int shift = i % 2 == 0 ? 0 : 4;
            out[i / 2] |= (byte) ((q[i] & 0xf) << shift);
        }
        return out;
    }

    private static java.nio.ShortBuffer half(float[] x) {
        short[] h = new short[x.length];
        for (int i = 0; i < x.length; i++) h[i] = DType.floatToHalf(x[i]);
        return java.nio.ShortBuffer.wrap(h);
    }

    private static byte[] bytes(ProtoMessage.Blob blob) throws IOException {
        var out = new ByteArrayOutputStream();
        blob.writeTo(out);
        assertEquals(blob.length(), out.size(), "blob writes its declared length");
        return out.toByteArray();
    }

    private static float[] gaussian(int n, long seed) {
        var rnd = new SplittableRandom(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) rnd.nextGaussian();
        return out;
    }
}
