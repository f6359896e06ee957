package dev.principia.backend.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reused direct buffers, one per layer and K/V, that ONNX Runtime reads ({@code past_key_values}) or
 * writes ({@code present}) in place. Each holds a {@code [B, kvHeads, T, headDim]} tensor of the graph's KV
 * element type for the current call; capacity grows by 1.5x on demand (growing drops the contents) and never
 * passes {@link #MAX_BUFFER_BYTES}: a call that would need more is refused or split by the backend before it
 * asks ({@link OnnxBackend}).
 */
final class KvBuffers {
    /** Largest staging buffer: 1 GiB, well inside a direct buffer's int-indexed 2 GiB. */
    static final long MAX_BUFFER_BYTES = 1L << 30;
    /** Index 2 * layer + (0 key, 1 value). */
    private final ByteBuffer[] buffers;

    KvBuffers(int numLayers) {
        this.buffers = new ByteBuffer[2 * numLayers];
    }

    /** A native-order view of exactly the first {@code bytes} bytes of one buffer, position 0; grows (dropping contents) when too small. */
    ByteBuffer view(int layer, boolean key, long bytes) {
        if (bytes > MAX_BUFFER_BYTES) throw new IllegalStateException(bytes + " staging bytes exceed " + MAX_BUFFER_BYTES);
        int i = 2 * layer + (key ? 0 : 1);
        if (buffers[i] == null || buffers[i].capacity() < bytes) {
            long grown = Math.min(Math.max(bytes * 3 / 2, 64), MAX_BUFFER_BYTES);
            buffers[i] = DirectMemory.allocate(grown, "KV staging buffer");
        }
        return buffers[i].duplicate().clear().limit((int) bytes).slice().order(ByteOrder.nativeOrder());
    }
}
