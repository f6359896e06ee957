package dev.principia.model.onnx;

import dev.principia.model.DType;
import dev.principia.model.FloatSource;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Block-wise asymmetric weight quantization into the layout of ONNX Runtime's {@code com.microsoft
 * MatMulNBits}, streamed from a row-major {@code [N, K]} source (HF's {@code [out, in]}).
 *
 * <p>Each row is cut into {@code kBlocks = ceil(K / blockSize)} blocks (the last one padded). Per block,
 * with {@code lo = min(0, min w)}, {@code hi = max(0, max w)} and {@code levels = 2^bits - 1}:
 * {@code scale = (hi - lo) / levels} (rounded to the scale type, then used as rounded),
 * {@code zp = clamp(round(-lo / scale), 0, levels)}, {@code q = clamp(round(w / scale) + zp, 0, levels)};
 * the kernel computes {@code w ≈ (q - zp) * scale}. Including 0 in [lo, hi] keeps zp in range and 0 exact.
 *
 * <p>Tensors, as MatMulNBits reads them:
 * <pre>
 *   B            uint8 [N, kBlocks, blockSize * bits / 8]  4 bits: element 2i in the low nibble of byte i
 *   scales       act   [N * kBlocks]
 *   zero_points  uint8 [N * ceil(kBlocks / 2)] for 4 bits (block 2j in the low nibble, per row), [N * kBlocks] for 8
 * </pre>
 * Each tensor is a {@link ProtoMessage.Blob} that quantizes the source again while it is written, so the
 * heap holds one source chunk and one block, never a whole tensor.
 */
final class BlockQuantizer {
    /** Receives the blocks of a source in order: row-major, block index within the row ascending. */
    interface BlockSink {
        /** {@code q[0, blockSize)} holds unpacked levels (padding = zp); valid only during the call. */
        void block(int row, int blockIndex, int[] q, float scale, int zeroPoint) throws IOException;
    }

    /**
     * @param rows      N (output features)
     * @param cols      K (input features)
     * @param bits      4 or 8
     * @param blockSize a power of two >= 16 (the exporter uses 32 or 128)
     * @param scaleType {@link OnnxGraph#FLOAT} or {@link OnnxGraph#FLOAT16}
     */
    record Layout(int rows, int cols, int bits, int blockSize, int scaleType) {
        Layout {
            if (rows <= 0 || cols <= 0) throw new IllegalArgumentException("shape must be positive, got [" + rows + ", " + cols + "]");
            if (bits != 4 && bits != 8) throw new IllegalArgumentException("bits must be 4 or 8, got " + bits);
            if (blockSize < 16 || Integer.bitCount(blockSize) != 1) throw new IllegalArgumentException("blockSize must be a power of two >= 16, got " + blockSize);
            if (scaleType != OnnxGraph.FLOAT && scaleType != OnnxGraph.FLOAT16) throw new IllegalArgumentException("scale type must be FLOAT or FLOAT16");
        }

        int kBlocks() {
            return (cols + blockSize - 1) / blockSize;
        }

        int blobBytes() {
            return blockSize * bits / 8;
        }

        int levels() {
            return (1 << bits) - 1;
        }

        long dataBytes() {
            return (long) rows * kBlocks() * blobBytes();
        }

        long scaleCount() {
            return (long) rows * kBlocks();
        }

        long scaleBytes() {
            return scaleCount() * OnnxGraph.elementBytes(scaleType);
        }

        /** Bytes per row of zero points: 4 bits pack two blocks per byte. */
        int zeroPointRowBytes() {
            return bits == 4 ? (kBlocks() + 1) / 2 : kBlocks();
        }

        long zeroPointBytes() {
            return (long) rows * zeroPointRowBytes();
        }

        /** All bytes of B, scales and zero points. */
        long totalBytes() {
            return dataBytes() + scaleBytes() + zeroPointBytes();
        }

        float roundScale(float s) {
            return scaleType == OnnxGraph.FLOAT16 ? DType.halfToFloat(DType.floatToHalf(s)) : s;
        }
    }

    private BlockQuantizer() {
    }

    /** Quantizes {@code src} ({@code rows * cols} floats) and hands each block to {@code sink}. */
    static void quantize(FloatSource src, Layout l, BlockSink sink) throws IOException {
        if (src.size() != (long) l.rows() * l.cols()) {
            throw new IllegalArgumentException("source has " + src.size() + " floats, layout needs " + (long) l.rows() * l.cols());
        }
        float[] block = new float[l.blockSize()];
        int[] q = new int[l.blockSize()];
        int[] pos = {0, 0, 0}; // row, column, fill of block
        src.forEachChunk((chunk, length) -> {
            for (int i = 0; i < length; i++) {
                block[pos[2]++] = chunk[i];
                pos[1]++;
                boolean rowEnd = pos[1] == l.cols();
                if (pos[2] == l.blockSize() || rowEnd) {
                    int blockIndex = (pos[1] - 1) / l.blockSize();
                    emit(l, block, pos[2], q, pos[0], blockIndex, sink);
                    pos[2] = 0;
                    if (rowEnd) {
                        pos[0]++;
                        pos[1] = 0;
                    }
                }
            }
        });
    }

    private static void emit(Layout l, float[] block, int n, int[] q, int row, int blockIndex, BlockSink sink) throws IOException {
        float lo = 0, hi = 0;
        for (int i = 0; i < n; i++) {
            lo = Math.min(lo, block[i]);
            hi = Math.max(hi, block[i]);
        }
        int levels = l.levels();
        float scale = l.roundScale((hi - lo) / levels);
        float inv = scale == 0 ? 0 : 1 / scale;
        int zp = scale == 0 ? 0 : clamp(Math.round(-lo * inv), levels);
        for (int i = 0; i < n; i++) q[i] = clamp(Math.round(block[i] * inv) + zp, levels);
        for (int i = n; i < q.length; i++) q[i] = zp;
        sink.block(row, blockIndex, q, scale, zp);
    }

    private static int clamp(int v, int levels) {
        return Math.max(0, Math.min(levels, v));
    }

    /** The packed B tensor. */
    static ProtoMessage.Blob data(FloatSource src, Layout l) {
        return blob(l.dataBytes(), out -> {
            byte[] packed = new byte[l.blobBytes()];
            quantize(src, l, (row, b, q, scale, zp) -> {
                pack(q, l.bits(), packed);
                out.write(packed);
            });
        });
    }

    /** The scales, in the layout's scale type. */
    static ProtoMessage.Blob scales(FloatSource src, Layout l) {
        int es = OnnxGraph.elementBytes(l.scaleType());
        return blob(l.scaleBytes(), out -> {
            ByteBuffer b = ByteBuffer.allocate(es).order(ByteOrder.LITTLE_ENDIAN);
            quantize(src, l, (row, blockIndex, q, scale, zp) -> {
                if (es == 2) {
                    b.putShort(0, DType.floatToHalf(scale));
                } else {
                    b.putFloat(0, scale);
                }
                out.write(b.array());
            });
        });
    }

    /** The zero points, packed per row for 4 bits (an odd row's last high nibble is 0). */
    static ProtoMessage.Blob zeroPoints(FloatSource src, Layout l) {
        return blob(l.zeroPointBytes(), out -> {
            int[] pending = {-1};
            quantize(src, l, (row, blockIndex, q, scale, zp) -> {
                if (l.bits() == 8) {
                    out.write(zp);
                    return;
                }
                boolean last = blockIndex == l.kBlocks() - 1;
                if (blockIndex % 2 == 0) {
                    if (last) {
                        out.write(zp);
                    } else {
                        pending[0] = zp;
                    }
                } else {
                    out.write(pending[0] | (zp << 4));
                }
            });
        });
    }

    /** Packs levels {@code q} into {@code out}: bytes for 8 bits, two per byte (element 2i low) for 4. */
    static void pack(int[] q, int bits, byte[] out) {
        if (bits == 8) {
            for (int i = 0; i < q.length; i++) out[i] = (byte) q[i];
        } else {
            for (int i = 0; i < out.length; i++) out[i] = (byte) (q[2 * i] | (q[2 * i + 1] << 4));
        }
    }

    @FunctionalInterface
    private interface Writer {
        void writeTo(OutputStream out) throws IOException;
    }

    private static ProtoMessage.Blob blob(long length, Writer writer) {
        return new ProtoMessage.Blob() {
            @Override
            public long length() {
                return length;
            }

            @Override
            public void writeTo(OutputStream out) throws IOException {
                writer.writeTo(out);
            }
        };
    }
}
