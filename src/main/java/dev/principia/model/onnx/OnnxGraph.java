package dev.principia.model.onnx;

import dev.principia.model.DType;
import dev.principia.model.FloatSource;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds an ONNX {@code ModelProto} from nodes, initializers and graph I/O, using the field numbers
 * of {@code onnx.proto} (IR version 8, or the one {@link #irVersion} gives for newer opsets).
 *
 * <p>Float initializers are {@link FloatSource}s: inline they become a lazy {@code raw_data} blob
 * (read while {@link #writeModel} streams the file, never held whole); with an {@link ExternalData}
 * file they are copied there when added, and the tensor carries {@code data_location = EXTERNAL} with
 * {@code location/offset/length} entries — the form ONNX requires for models above 2 GiB.
 *
 * <p>Nodes are in the default ONNX domain unless added with {@link #node} in another one (ONNX Runtime's
 * {@value #CONTRIB_DOMAIN}); every domain used is imported at version 1.
 */
public final class OnnxGraph {
    /** The IR version of graphs up to opset 18 (ONNX 1.10 to 1.13); see {@link #irVersion}. */
    public static final int IR_VERSION = 8;
    /** The IR version of opset-24 graphs (ONNX 1.20). */
    public static final int IR_VERSION_OPSET_24 = 12;
    /** {@code TensorProto.DataType} values. */
    public static final int FLOAT = 1, UINT8 = 2, INT32 = 6, INT64 = 7, BOOL = 9, FLOAT16 = 10, BFLOAT16 = 16;
    /** ONNX Runtime's contrib operator domain ({@code MatMulNBits}, {@code GroupQueryAttention}, ...). */
    public static final String CONTRIB_DOMAIN = "com.microsoft";

    // ModelProto
    private static final int MODEL_IR_VERSION = 1, MODEL_PRODUCER_NAME = 2, MODEL_PRODUCER_VERSION = 3,
            MODEL_DOC_STRING = 6, MODEL_GRAPH = 7, MODEL_OPSET_IMPORT = 8;
    // OperatorSetIdProto
    private static final int OPSET_DOMAIN = 1, OPSET_VERSION = 2;
    // GraphProto
    private static final int GRAPH_NODE = 1, GRAPH_NAME = 2, GRAPH_INITIALIZER = 5, GRAPH_INPUT = 11, GRAPH_OUTPUT = 12;
    // NodeProto
    private static final int NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_NAME = 3, NODE_OP_TYPE = 4, NODE_ATTRIBUTE = 5, NODE_DOMAIN = 7;
    // AttributeProto and AttributeProto.AttributeType
    private static final int ATTR_NAME = 1, ATTR_F = 2, ATTR_I = 3, ATTR_INTS = 8, ATTR_TYPE = 20;
    private static final int ATTR_TYPE_FLOAT = 1, ATTR_TYPE_INT = 2, ATTR_TYPE_INTS = 7;
    // TensorProto, StringStringEntryProto
    private static final int TENSOR_DIMS = 1, TENSOR_DATA_TYPE = 2, TENSOR_NAME = 8, TENSOR_RAW_DATA = 9,
            TENSOR_EXTERNAL_DATA = 13, TENSOR_DATA_LOCATION = 14, DATA_LOCATION_EXTERNAL = 1;
    private static final int ENTRY_KEY = 1, ENTRY_VALUE = 2;
    // ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, TensorShapeProto.Dimension
    private static final int VALUE_NAME = 1, VALUE_TYPE = 2, TYPE_TENSOR = 1, TENSOR_TYPE_ELEM = 1, TENSOR_TYPE_SHAPE = 2,
            SHAPE_DIM = 1, DIM_VALUE = 1, DIM_PARAM = 2;

    /** One node attribute. */
    public record Attr(ProtoMessage proto) {
        public static Attr i(String name, long v) {
            return new Attr(new ProtoMessage().string(ATTR_NAME, name).varint(ATTR_I, v).varint(ATTR_TYPE, ATTR_TYPE_INT));
        }

        public static Attr f(String name, float v) {
            return new Attr(new ProtoMessage().string(ATTR_NAME, name).float32(ATTR_F, v).varint(ATTR_TYPE, ATTR_TYPE_FLOAT));
        }

        public static Attr ints(String name, long... v) {
            var m = new ProtoMessage().string(ATTR_NAME, name);
            for (long x : v) m.varint(ATTR_INTS, x);
            return new Attr(m.varint(ATTR_TYPE, ATTR_TYPE_INTS));
        }
    }

    /** Side file for initializer data; offsets are aligned to 4 KiB so runtimes can map them. */
    public static final class ExternalData implements Closeable {
        private static final int ALIGN = 4096;
        private final String location;
        private final OutputStream out;
        private long offset;

        /** {@code file} must sit next to the .onnx file; the graph refers to it by file name. */
        public ExternalData(Path file) throws IOException {
            this.location = file.getFileName().toString();
            this.out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
        }

        long append(ProtoMessage.Blob data) throws IOException {
            while (offset % ALIGN != 0) {
                out.write(0);
                offset++;
            }
            long start = offset;
            data.writeTo(out);
            offset += data.length();
            return start;
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }

    private final List<ProtoMessage> nodes = new ArrayList<>();
    private final List<ProtoMessage> initializers = new ArrayList<>();
    private final List<ProtoMessage> inputs = new ArrayList<>();
    private final List<ProtoMessage> outputs = new ArrayList<>();
    private final ExternalData external;
    /** The inline payload of the initializer added last, or null when it went to external data. */
    private HookedBlob lastInline;
    private final java.util.Set<String> domains = new java.util.TreeSet<>();
    private int counter;

    /** @param external side file for float initializers, or null to store them inline */
    public OnnxGraph(ExternalData external) {
        this.external = external;
    }

    /** Adds a node with one auto-named output, which it returns. */
    public String op(String opType, List<String> in, Attr... attrs) {
        return op(opType, 1, in, attrs)[0];
    }

    /** Adds a node with {@code numOutputs} auto-named outputs. */
    public String[] op(String opType, int numOutputs, List<String> in, Attr... attrs) {
        String base = opType + "_" + (counter++);
        String[] out = new String[numOutputs];
        for (int i = 0; i < numOutputs; i++) out[i] = base + (numOutputs == 1 ? "" : "_" + i);
        nodes.add(nodeProto(base, opType, in, List.of(out), attrs));
        return out;
    }

    /** Adds a node of the {@value #CONTRIB_DOMAIN} domain with one auto-named output, which it returns. */
    public String contribOp(String opType, List<String> in, Attr... attrs) {
        String out = op(opType, in, attrs);
        nodes.get(nodes.size() - 1).string(NODE_DOMAIN, CONTRIB_DOMAIN);
        domains.add(CONTRIB_DOMAIN);
        return out;
    }

    /** Adds a node whose single output has a given name (e.g. a graph output). */
    public String opNamed(String output, String opType, List<String> in, Attr... attrs) {
        nodes.add(nodeProto(opType + "_" + (counter++), opType, in, List.of(output), attrs));
        return output;
    }

    /** A fresh value name starting with {@code prefix}. */
    public String fresh(String prefix) {
        return prefix + "_" + (counter++);
    }

    /**
     * Adds a node of operator set {@code domain} ("" for ONNX's) whose outputs are named {@code out}; an
     * empty name (as an input or an output) leaves an optional one out.
     */
    public void node(String domain, String opType, List<String> in, List<String> out, Attr... attrs) {
        if (!domain.isEmpty()) domains.add(domain);
        var n = nodeProto(opType + "_" + (counter++), opType, in, out, attrs);
        if (!domain.isEmpty()) n.string(NODE_DOMAIN, domain);
        nodes.add(n);
    }

    private static ProtoMessage nodeProto(String name, String opType, List<String> in, List<String> out, Attr... attrs) {
        var n = new ProtoMessage();
        for (String s : in) n.string(NODE_INPUT, s);
        for (String s : out) n.string(NODE_OUTPUT, s);
        n.string(NODE_NAME, name).string(NODE_OP_TYPE, opType);
        for (Attr a : attrs) n.message(NODE_ATTRIBUTE, a.proto());
        return n;
    }

    /** A float initializer of shape {@code dims} with data from {@code src}; returns its name. */
    public String floatInitializer(String name, long[] dims, FloatSource src) throws IOException {
        return initializer(name, FLOAT, dims, src);
    }

    /**
     * An initializer of {@code dataType} ({@link #FLOAT}, or {@link #FLOAT16} / {@link #BFLOAT16}
     * converted with round to nearest even) of shape {@code dims} with data from {@code src}; returns its name.
     */
    public String initializer(String name, int dataType, long[] dims, FloatSource src) throws IOException {
        long numel = 1;
        for (long d : dims) numel *= d;
        if (numel != src.size()) throw new IllegalArgumentException("initializer '" + name + "': shape needs " + numel + " floats, source has " + src.size());
        long bytes = src.size() * elementBytes(dataType);
        return rawInitializer(name, dataType, dims, new ProtoMessage.Blob() {
            @Override
            public long length() {
                return bytes;
            }

            @Override
            public void writeTo(OutputStream out) throws IOException {
                writeFloats(out, src, dataType);
            }
        });
    }

    /**
     * An initializer of any {@code dataType} whose little-endian bytes {@code data} produces (exactly
     * {@code numel * elementSize} of them, not checked here); streamed like float initializers.
     */
    public String rawInitializer(String name, int dataType, long[] dims, ProtoMessage.Blob data) throws IOException {
        var t = tensorHeader(name, dataType, dims);
        if (external != null) {
            long offset = external.append(data);
            t.message(TENSOR_EXTERNAL_DATA, entry("location", external.location));
            t.message(TENSOR_EXTERNAL_DATA, entry("offset", Long.toString(offset)));
            t.message(TENSOR_EXTERNAL_DATA, entry("length", Long.toString(data.length())));
            t.varint(TENSOR_DATA_LOCATION, DATA_LOCATION_EXTERNAL);
            lastInline = null;
        } else {
            lastInline = new HookedBlob(data);
            t.blob(TENSOR_RAW_DATA, lastInline);
        }
        initializers.add(t);
        return name;
    }

    /**
     * Runs {@code hook} once the data of the initializer added last is written: now with external data
     * (written as it is added), else while {@link #writeModel} streams the file, right after that data.
     */
    public void afterLastInitializerWritten(Runnable hook) {
        if (lastInline == null) {
            hook.run();
        } else {
            lastInline.after.add(hook);
        }
    }

    /** An inline payload that runs hooks after writing itself. */
    private static final class HookedBlob implements ProtoMessage.Blob {
        private final ProtoMessage.Blob data;
        private final List<Runnable> after = new ArrayList<>();

        HookedBlob(ProtoMessage.Blob data) {
            this.data = data;
        }

        @Override
        public long length() {
            return data.length();
        }

        @Override
        public void writeTo(OutputStream out) throws IOException {
            data.writeTo(out);
            for (Runnable r : after) r.run();
        }
    }

    /** An int64 constant of shape {@code [values.length]}. */
    public String int64s(long... values) {
        return int64Initializer(new long[]{values.length}, values);
    }

    /** A 0-d int64 constant. */
    public String int64Scalar(long value) {
        return int64Initializer(new long[0], new long[]{value});
    }

    private String int64Initializer(long[] dims, long[] values) {
        String name = "const_" + (counter++);
        ByteBuffer b = ByteBuffer.allocate(values.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) b.putLong(v);
        initializers.add(tensorHeader(name, INT64, dims).bytes(TENSOR_RAW_DATA, b.array()));
        return name;
    }

    /** A 0-d float constant. */
    public String floatScalar(float value) {
        return scalar(value, FLOAT);
    }

    /** A 0-d constant of {@code dataType} ({@link #FLOAT}, {@link #FLOAT16} or {@link #BFLOAT16}). */
    public String scalar(float value, int dataType) {
        String name = "const_" + (counter++);
        ByteBuffer b = ByteBuffer.allocate(elementBytes(dataType)).order(ByteOrder.LITTLE_ENDIAN);
        if (dataType == FLOAT16) {
            b.putShort(DType.floatToHalf(value));
        } else if (dataType == BFLOAT16) {
            b.putShort(DType.floatToBf16(value));
        } else {
            b.putFloat(value);
        }
        initializers.add(tensorHeader(name, dataType, new long[0]).bytes(TENSOR_RAW_DATA, b.array()));
        return name;
    }

    static int elementBytes(int dataType) {
        return switch (dataType) {
            case FLOAT -> Float.BYTES;
            case FLOAT16, BFLOAT16 -> 2;
            default -> throw new IllegalArgumentException("not a float data type: " + dataType);
        };
    }

    private static ProtoMessage tensorHeader(String name, int dataType, long[] dims) {
        var t = new ProtoMessage();
        for (long d : dims) t.varint(TENSOR_DIMS, d);
        return t.varint(TENSOR_DATA_TYPE, dataType).string(TENSOR_NAME, name);
    }

    private static ProtoMessage entry(String key, String value) {
        return new ProtoMessage().string(ENTRY_KEY, key).string(ENTRY_VALUE, value);
    }

    /** Declares a graph input; each dim is a Long/Integer (fixed) or a String (symbolic). */
    public void input(String name, int elemType, Object... dims) {
        inputs.add(valueInfo(name, elemType, dims));
    }

    /** Declares a graph output; dims as for {@link #input}. */
    public void output(String name, int elemType, Object... dims) {
        outputs.add(valueInfo(name, elemType, dims));
    }

    private static ProtoMessage valueInfo(String name, int elemType, Object... dims) {
        var shape = new ProtoMessage();
        for (Object d : dims) {
            var dim = new ProtoMessage();
            if (d instanceof String s) {
                dim.string(DIM_PARAM, s);
            } else {
                dim.varint(DIM_VALUE, ((Number) d).longValue());
            }
            shape.message(SHAPE_DIM, dim);
        }
        var tensorType = new ProtoMessage().varint(TENSOR_TYPE_ELEM, elemType).message(TENSOR_TYPE_SHAPE, shape);
        return new ProtoMessage().string(VALUE_NAME, name)
                .message(VALUE_TYPE, new ProtoMessage().message(TYPE_TENSOR, tensorType));
    }

    /** Writes the whole model to {@code file}; fails when inline data would exceed protobuf's 2 GiB limit. */
    public void writeModel(Path file, String graphName, int opsetVersion, String producer, String docString) throws IOException {
        var graph = new ProtoMessage();
        for (ProtoMessage n : nodes) graph.message(GRAPH_NODE, n);
        graph.string(GRAPH_NAME, graphName);
        for (ProtoMessage t : initializers) graph.message(GRAPH_INITIALIZER, t);
        for (ProtoMessage v : inputs) graph.message(GRAPH_INPUT, v);
        for (ProtoMessage v : outputs) graph.message(GRAPH_OUTPUT, v);
        var model = new ProtoMessage()
                .varint(MODEL_IR_VERSION, irVersion(opsetVersion))
                .string(MODEL_PRODUCER_NAME, producer)
                .string(MODEL_PRODUCER_VERSION, "1")
                .string(MODEL_DOC_STRING, docString)
                .message(MODEL_GRAPH, graph)
                .message(MODEL_OPSET_IMPORT, new ProtoMessage().string(OPSET_DOMAIN, "").varint(OPSET_VERSION, opsetVersion));
        for (String d : domains) model.message(MODEL_OPSET_IMPORT, new ProtoMessage().string(OPSET_DOMAIN, d).varint(OPSET_VERSION, 1));
        if (model.size() >= Integer.MAX_VALUE) {
            throw new IOException(file + ": model of " + model.size() + " bytes exceeds the 2 GiB protobuf limit; export with external data");
        }
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
            model.writeTo(out);
        }
    }

    /** The IR version a model importing ONNX's {@code opset} declares: the one the ONNX release that introduced the opset wrote. */
    static int irVersion(int opset) {
        if (opset <= 18) return IR_VERSION;
        if (opset <= 20) return 9;
        if (opset <= 22) return 10;
        if (opset == 23) return 11;
        if (opset == 24) return IR_VERSION_OPSET_24;
        throw new IllegalArgumentException("no IR version known for opset " + opset);
    }

    /** Streams {@code src} as little-endian {@code dataType} elements, one chunk at a time. */
    static void writeFloats(OutputStream out, FloatSource src, int dataType) throws IOException {
        int es = elementBytes(dataType);
        ByteBuffer[] buf = {null};
        src.forEachChunk((chunk, length) -> {
            if (buf[0] == null || buf[0].capacity() < length * es) {
                buf[0] = ByteBuffer.allocate(length * es).order(ByteOrder.LITTLE_ENDIAN);
            }
            ByteBuffer b = buf[0].clear();
            if (dataType == FLOAT16) {
                for (int i = 0; i < length; i++) b.putShort(2 * i, DType.floatToHalf(chunk[i]));
            } else if (dataType == BFLOAT16) {
                for (int i = 0; i < length; i++) b.putShort(2 * i, DType.floatToBf16(chunk[i]));
            } else {
                b.asFloatBuffer().put(chunk, 0, length);
            }
            out.write(b.array(), 0, length * es);
        });
    }
}
