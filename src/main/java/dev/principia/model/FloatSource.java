package dev.principia.model;

import java.io.IOException;

/**
 * A sequence of {@link #size()} floats produced in order, chunk by chunk, so that writers can stream
 * tensors far larger than one Java array.
 */
public interface FloatSource {

    /** Receives consecutive chunks; {@code chunk[0, length)} is valid only during the call. */
    @FunctionalInterface
    interface Sink {
        void accept(float[] chunk, int length) throws IOException;
    }

    /** Number of floats. */
    long size();

    /** Delivers all floats, in order, to {@code sink}; may be called more than once with the same result. */
    void forEachChunk(Sink sink) throws IOException;

    /** A source over an array; the array is not copied and must not change while in use. */
    static FloatSource of(float[] values) {
        return new FloatSource() {
            @Override
            public long size() {
                return values.length;
            }

            @Override
            public void forEachChunk(Sink sink) throws IOException {
                sink.accept(values, values.length);
            }
        };
    }

    /** Collects all floats into one array; for sources below 2^31 elements. */
    default float[] toArray() throws IOException {
        long n = size();
        if (n > Integer.MAX_VALUE - 8) throw new IllegalStateException("source of " + n + " floats does not fit in an array");
        float[] out = new float[(int) n];
        int[] pos = {0};
        forEachChunk((chunk, length) -> {
            System.arraycopy(chunk, 0, out, pos[0], length);
            pos[0] += length;
        });
        return out;
    }
}
