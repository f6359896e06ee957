package dev.principia.backend.onnx;

import java.nio.FloatBuffer;

/**
 * One sequence's KV cache: per layer, a key and a value array laid out
 * {@code [numKvHeads, capacity, headDim]}; positions {@code [0, length)} are valid. Capacity grows by
 * doubling (from 16) up to {@code maxPositions}; growth re-lays every array. {@code generation} counts
 * changes of length, so that a copy of the contents elsewhere can tell whether it is still current.
 */
final class KvSlot {
    private static final int MIN_CAPACITY = 16;
    private final int numLayers, numKvHeads, headDim, maxPositions;
    private float[][] keys, values;
    private int capacity, length;
    private long generation;

    KvSlot(int numLayers, int numKvHeads, int headDim, int maxPositions) {
        this.numLayers = numLayers;
        this.numKvHeads = numKvHeads;
        this.headDim = headDim;
        this.maxPositions = maxPositions;
        this.keys = new float[numLayers][0];
        this.values = new float[numLayers][0];
    }

    int length() {
        return length;
    }

    long generation() {
        return generation;
    }

    void setLength(int newLength) {
        if (newLength > capacity) throw new IllegalStateException("length " + newLength + " exceeds capacity " + capacity);
        length = newLength;
        generation++;
    }

    void truncate(int newLength) {
        if (newLength < length) {
            length = newLength;
            generation++;
        }
    }

    /** Appends positions {@code [0, len)} of head h to {@code dst} at its position. */
    void readHead(int layer, boolean key, int h, int len, FloatBuffer dst) {
        dst.put((key ? keys : values)[layer], h * capacity * headDim, len * headDim);
    }

    /** Reads {@code n} positions for head h from {@code src} into positions {@code [start, start + n)}. */
    void writeHead(int layer, boolean key, int h, int start, int n, FloatBuffer src) {
        ensureCapacity(start + n);
        src.get((key ? keys : values)[layer], (h * capacity + start) * headDim, n * headDim);
    }

    private void ensureCapacity(int needed) {
        if (needed <= capacity) return;
        if (needed > maxPositions) throw new IllegalArgumentException("needs " + needed + " positions, maxPositions is " + maxPositions);
        int newCap = Math.max(MIN_CAPACITY, capacity);
        while (newCap < needed) newCap *= 2;
        newCap = Math.min(newCap, maxPositions);
        for (int l = 0; l < numLayers; l++) {
            keys[l] = relayout(keys[l], capacity, newCap, length);
            values[l] = relayout(values[l], capacity, newCap, length);
        }
        capacity = newCap;
    }

    private float[] relayout(float[] src, int oldCap, int newCap, int valid) {
        float[] dst = new float[numKvHeads * newCap * headDim];
        for (int h = 0; h < numKvHeads; h++) {
            System.arraycopy(src, h * oldCap * headDim, dst, h * newCap * headDim, valid * headDim);
        }
        return dst;
    }

    /** A new slot holding positions {@code [0, n)} of this one. */
    KvSlot copy(int n) {
        KvSlot c = new KvSlot(numLayers, numKvHeads, headDim, maxPositions);
        if (n == 0) return c;
        c.ensureCapacity(n);
        for (int l = 0; l < numLayers; l++) {
            for (int h = 0; h < numKvHeads; h++) {
                System.arraycopy(keys[l], h * capacity * headDim, c.keys[l], h * c.capacity * headDim, n * headDim);
                System.arraycopy(values[l], h * capacity * headDim, c.values[l], h * c.capacity * headDim, n * headDim);
            }
        }
        c.length = n;
        return c;
    }
}
