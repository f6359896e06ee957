package dev.principia.backend.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Reused direct buffers, one per layer and K/V, that ONNX Runtime reads ({@code past_key_values}) or
 * writes ({@code present}) in place. Each holds a {@code [B, kvHeads, T, headDim]} tensor for the
 * current call; capacity grows by 1.5x on demand, and growing drops the contents.
 */
final class KvBuffers {
    private static final float[] ZEROS = new float[4096];
    private final int numLayers;
    /** Index 2 * layer + (0 key, 1 value). */
    private final ByteBuffer[] buffers;

    KvBuffers(int numLayers) {
        this.numLayers = numLayers;
        this.buffers = new ByteBuffer[2 * numLayers];
    }

    /** A view of the first {@code numFloats} floats of one buffer, position 0; grows (dropping contents) when too small. */
    FloatBuffer view(int layer, boolean key, int numFloats) {
        int i = 2 * layer + (key ? 0 : 1);
        long bytes = (long) numFloats * Float.BYTES;
        if (buffers[i] == null || buffers[i].capacity() < bytes) {
            long grown = Math.max(bytes * 3 / 2, 64);
            buffers[i] = ByteBuffer.allocateDirect((int) Math.min(grown, Integer.MAX_VALUE - 8)).order(ByteOrder.nativeOrder());
        }
        return buffers[i].clear().asFloatBuffer().limit(numFloats);
    }

    /**
     * Packs the slots' pasts into every buffer as {@code [B, kvHeads, past, headDim]}: entry i's positions
     * {@code [0, lengths[i])} sit at {@code [past - lengths[i], past)}; the left padding is 0 (finite, so
     * that masked value rows weigh in as 0).
     */
    void pack(KvSlot[] slots, int[] lengths, int past, int numKvHeads, int headDim) {
        int b = slots.length;
        for (int l = 0; l < numLayers; l++) {
            for (int kv = 0; kv < 2; kv++) {
                boolean key = kv == 0;
                FloatBuffer buf = view(l, key, b * numKvHeads * past * headDim);
                for (int i = 0; i < b; i++) {
                    for (int h = 0; h < numKvHeads; h++) {
                        buf.position((i * numKvHeads + h) * past * headDim);
                        for (int pad = (past - lengths[i]) * headDim; pad > 0; pad -= ZEROS.length) buf.put(ZEROS, 0, Math.min(pad, ZEROS.length));
                        if (lengths[i] > 0) slots[i].readHead(l, key, h, lengths[i], buf);
                    }
                }
            }
        }
    }
}
