package dev.principia.model.onnx;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A protobuf message under construction, encoded by hand: fields keep their insertion order; nested
 * messages are length-delimited with sizes computed before writing, so {@link #writeTo(OutputStream)}
 * streams once. Large payloads are {@link Blob}s, produced only while writing.
 *
 * <p>Repeated scalars are written unpacked (valid for the proto2 {@code onnx.proto}).
 */
public final class ProtoMessage {
    private static final int VARINT = 0;
    private static final int LEN = 2;
    private static final int FIXED32 = 5;

    /** A length-delimited payload of known length, written on demand. */
    public interface Blob {
        long length();

        /** Writes exactly {@link #length()} bytes. */
        void writeTo(OutputStream out) throws IOException;
    }

    private sealed interface Field permits Varint, Fixed32, Bytes, Nested, Lazy {
    }

    private record Varint(int number, long value) implements Field {
    }

    private record Fixed32(int number, int bits) implements Field {
    }

    private record Bytes(int number, byte[] value) implements Field {
    }

    private record Nested(int number, ProtoMessage value) implements Field {
    }

    private record Lazy(int number, Blob value) implements Field {
    }

    private final List<Field> fields = new ArrayList<>();
    private long cachedSize = -1;

    public ProtoMessage varint(int number, long value) {
        return add(new Varint(number, value));
    }

    public ProtoMessage float32(int number, float value) {
        return add(new Fixed32(number, Float.floatToRawIntBits(value)));
    }

    public ProtoMessage bytes(int number, byte[] value) {
        return add(new Bytes(number, value.clone()));
    }

    public ProtoMessage string(int number, String value) {
        return add(new Bytes(number, value.getBytes(StandardCharsets.UTF_8)));
    }

    public ProtoMessage message(int number, ProtoMessage value) {
        return add(new Nested(number, value));
    }

    public ProtoMessage blob(int number, Blob value) {
        return add(new Lazy(number, value));
    }

    private ProtoMessage add(Field f) {
        cachedSize = -1;
        fields.add(f);
        return this;
    }

    /** Encoded size in bytes; nested messages must not change after this is called. */
    public long size() {
        if (cachedSize >= 0) return cachedSize;
        long n = 0;
        for (Field f : fields) {
            if (f instanceof Varint v) {
                n += tagSize(v.number) + varintSize(v.value);
            } else if (f instanceof Fixed32 x) {
                n += tagSize(x.number) + 4;
            } else if (f instanceof Bytes b) {
                n += tagSize(b.number) + varintSize(b.value.length) + b.value.length;
            } else if (f instanceof Nested m) {
                n += tagSize(m.number) + varintSize(m.value.size()) + m.value.size();
            } else if (f instanceof Lazy l) {
                n += tagSize(l.number) + varintSize(l.value.length()) + l.value.length();
            }
        }
        cachedSize = n;
        return n;
    }

    /** Writes the encoding (without an outer length prefix). */
    public void writeTo(OutputStream out) throws IOException {
        for (Field f : fields) {
            if (f instanceof Varint v) {
                writeVarint(out, tag(v.number, VARINT));
                writeVarint(out, v.value);
            } else if (f instanceof Fixed32 x) {
                writeVarint(out, tag(x.number, FIXED32));
                out.write(x.bits);
                out.write(x.bits >>> 8);
                out.write(x.bits >>> 16);
                out.write(x.bits >>> 24);
            } else if (f instanceof Bytes b) {
                writeVarint(out, tag(b.number, LEN));
                writeVarint(out, b.value.length);
                out.write(b.value);
            } else if (f instanceof Nested m) {
                writeVarint(out, tag(m.number, LEN));
                writeVarint(out, m.value.size());
                m.value.writeTo(out);
            } else if (f instanceof Lazy l) {
                writeVarint(out, tag(l.number, LEN));
                writeVarint(out, l.value.length());
                CountingStream counted = new CountingStream(out);
                l.value.writeTo(counted);
                if (counted.count != l.value.length()) {
                    throw new IOException("blob of field " + l.number + " wrote " + counted.count + " bytes, declared " + l.value.length());
                }
            }
        }
    }

    /** The encoding as an array; for small messages. */
    public byte[] toByteArray() {
        var out = new java.io.ByteArrayOutputStream((int) Math.min(size(), Integer.MAX_VALUE - 8));
        try {
            writeTo(out);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toByteArray();
    }

    private static long tag(int number, int wireType) {
        if (number <= 0) throw new IllegalArgumentException("field number must be > 0, got " + number);
        return ((long) number << 3) | wireType;
    }

    private static int tagSize(int number) {
        return varintSize((long) number << 3);
    }

    static int varintSize(long v) {
        int n = 1;
        while ((v & ~0x7FL) != 0) {
            v >>>= 7;
            n++;
        }
        return n;
    }

    static void writeVarint(OutputStream out, long v) throws IOException {
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }

    private static final class CountingStream extends OutputStream {
        private final OutputStream out;
        long count;

        CountingStream(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }
    }
}
