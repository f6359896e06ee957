package dev.principia.model.onnx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the declared inputs of an ONNX file ({@code ModelProto.graph.input}) without loading it: the
 * protobuf is walked field by field and everything else (initializers included, however large) is
 * skipped by seeking. Lets a pre-exported graph be checked against {@code config.json} before ONNX
 * Runtime spends time and memory on it.
 */
public final class OnnxGraphInputs {
    /** One graph input: element type ({@code TensorProto.DataType}) and dims (Long fixed, String symbolic, null unknown). */
    public record Input(String name, int elemType, List<Object> dims) {
        public Input {
            dims = java.util.Collections.unmodifiableList(new ArrayList<>(dims));
        }
    }

    private static final int MODEL_GRAPH = 7, GRAPH_INPUT = 11, VALUE_NAME = 1, VALUE_TYPE = 2, TYPE_TENSOR = 1,
            TENSOR_ELEM = 1, TENSOR_SHAPE = 2, SHAPE_DIM = 1, DIM_VALUE = 1, DIM_PARAM = 2;
    private static final long MAX_SMALL_FIELD = 1 << 20;

    private OnnxGraphInputs() {
    }

    /** Inputs by name, in declaration order; initializers listed as inputs (IR < 4) appear too. */
    public static Map<String, Input> read(Path onnxFile) throws IOException {
        try (FileChannel ch = FileChannel.open(onnxFile, StandardOpenOption.READ)) {
            var r = new Reader(ch);
            var out = new LinkedHashMap<String, Input>();
            long end = ch.size();
            while (r.pos < end) {
                long key = r.varint();
                if ((int) (key >>> 3) == MODEL_GRAPH && (key & 7) == 2) {
                    long len = r.varint();
                    long graphEnd = r.pos + len;
                    while (r.pos < graphEnd) {
                        long k = r.varint();
                        if ((int) (k >>> 3) == GRAPH_INPUT && (k & 7) == 2) {
                            Input in = valueInfo(r.bytes(r.varint()));
                            out.put(in.name(), in);
                        } else {
                            r.skip(k);
                        }
                    }
                } else {
                    r.skip(key);
                }
            }
            return out;
        } catch (IOException | RuntimeException e) {
            throw new IOException(onnxFile + ": not a readable ONNX model: " + e.getMessage(), e);
        }
    }

    private static Input valueInfo(ByteBuffer b) {
        String name = "";
        int elem = 0;
        List<Object> dims = new ArrayList<>();
        for (var f : fields(b)) {
            if (f.number == VALUE_NAME) name = utf8(f.payload);
            if (f.number == VALUE_TYPE) {
                for (var t : fields(f.payload)) {
                    if (t.number != TYPE_TENSOR) continue;
                    for (var tt : fields(t.payload)) {
                        if (tt.number == TENSOR_ELEM) elem = (int) tt.value;
                        if (tt.number == TENSOR_SHAPE) {
                            for (var d : fields(tt.payload)) {
                                if (d.number != SHAPE_DIM) continue;
                                Object dim = null;
                                for (var dv : fields(d.payload)) {
                                    if (dv.number == DIM_VALUE) dim = dv.value;
                                    if (dv.number == DIM_PARAM) dim = utf8(dv.payload);
                                }
                                dims.add(dim);
                            }
                        }
                    }
                }
            }
        }
        return new Input(name, elem, dims);
    }

    private record Field(int number, long value, ByteBuffer payload) {
    }

    /** Fields of a small in-memory message: varints carry {@code value}, length-delimited ones {@code payload}. */
    private static List<Field> fields(ByteBuffer b) {
        var out = new ArrayList<Field>();
        b = b.duplicate();
        while (b.hasRemaining()) {
            long key = varint(b);
            int wire = (int) (key & 7);
            int number = (int) (key >>> 3);
            switch (wire) {
                case 0 -> out.add(new Field(number, varint(b), null));
                case 1 -> b.position(b.position() + 8);
                case 5 -> b.position(b.position() + 4);
                case 2 -> {
                    int len = (int) varint(b);
                    ByteBuffer p = b.slice(b.position(), len);
                    b.position(b.position() + len);
                    out.add(new Field(number, 0, p));
                }
                default -> throw new IllegalStateException("unsupported wire type " + wire);
            }
        }
        return out;
    }

    private static long varint(ByteBuffer b) {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            byte x = b.get();
            v |= (long) (x & 0x7f) << shift;
            if (x >= 0) return v;
        }
        throw new IllegalStateException("malformed varint");
    }

    private static String utf8(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return new String(a, java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Sequential reader over a file channel that can skip fields without reading them. */
    private static final class Reader {
        private final FileChannel ch;
        private final ByteBuffer one = ByteBuffer.allocate(1);
        long pos;

        Reader(FileChannel ch) {
            this.ch = ch;
        }

        long varint() throws IOException {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                one.clear();
                if (ch.read(one, pos++) != 1) throw new IOException("unexpected end of file");
                byte x = one.get(0);
                v |= (long) (x & 0x7f) << shift;
                if (x >= 0) return v;
            }
            throw new IOException("malformed varint");
        }

        ByteBuffer bytes(long len) throws IOException {
            if (len > MAX_SMALL_FIELD) throw new IOException("graph input of " + len + " bytes");
            ByteBuffer b = ByteBuffer.allocate((int) len).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining()) {
                if (ch.read(b, pos + b.position()) < 0) throw new IOException("unexpected end of file");
            }
            pos += len;
            return b.flip();
        }

        void skip(long key) throws IOException {
            switch ((int) (key & 7)) {
                case 0 -> varint();
                case 1 -> pos += 8;
                case 5 -> pos += 4;
                case 2 -> {
                    long len = varint();
                    pos += len;
                }
                default -> throw new IOException("unsupported wire type " + (key & 7) + " at byte " + pos);
            }
        }
    }
}
