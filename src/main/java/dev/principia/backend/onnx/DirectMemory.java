package dev.principia.backend.onnx;

import dev.principia.backend.BackendException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Direct (off-heap) buffers, with an exhausted direct memory limit reported as what to change. */
final class DirectMemory {
    private DirectMemory() {
    }

    /**
     * A zeroed native-order direct buffer of {@code bytes} (at most {@code Integer.MAX_VALUE - 8}).
     *
     * @throws BackendException naming the bytes asked for and {@code -XX:MaxDirectMemorySize} when the JVM refuses
     */
    static ByteBuffer allocate(long bytes, String what) {
        if (bytes < 0 || bytes > Integer.MAX_VALUE - 8) throw new IllegalArgumentException(what + ": " + bytes + " bytes do not fit one buffer");
        try {
            return ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
        } catch (OutOfMemoryError e) {
            throw new BackendException("cannot allocate " + bytes + " bytes of direct memory for " + what + " (" + e.getMessage()
                    + "): raise the JVM's limit with -XX:MaxDirectMemorySize=<bytes> (it defaults to the maximum heap, -Xmx) "
                    + "above the KV cache size plus staging, or lower kvCacheBytes", e);
        }
    }
}
