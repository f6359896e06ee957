package dev.principia.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Read-only view of safetensors weights: one file, or a directory with {@code model.safetensors} or a
 * sharded {@code model.safetensors.index.json}.
 *
 * <p>File layout: {@code u64 LE headerLength}, then {@code headerLength} bytes of JSON
 * ({@code name -> {dtype, shape, data_offsets: [begin, end)}} relative to the data start, plus an
 * optional {@code __metadata__}), then the data. Tensor data is memory-mapped on demand, in windows of
 * at most 1 GiB, so files and tensors above 2 GiB work.
 */
public final class Safetensors implements Closeable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";
    private static final long MAX_HEADER_BYTES = 100L << 20;
    private static final long MAP_WINDOW_BYTES = 1L << 30;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Tensor> tensors;
    private final List<FileChannel> channels;

    private Safetensors(Map<String, Tensor> tensors, List<FileChannel> channels) {
        this.tensors = Collections.unmodifiableMap(tensors);
        this.channels = channels;
    }

    /** Opens a {@code .safetensors} file, or a model directory (index file first, else {@value #SINGLE_FILE}). */
    public static Safetensors open(Path path) throws IOException {
        if (!Files.isDirectory(path)) {
            var channels = new ArrayList<FileChannel>();
            var map = new LinkedHashMap<String, Tensor>();
            readFile(path, map, channels);
            return new Safetensors(map, channels);
        }
        Path index = path.resolve(INDEX_FILE);
        if (Files.exists(index)) return openSharded(path, index);
        Path single = path.resolve(SINGLE_FILE);
        if (!Files.exists(single)) {
            throw new IOException(path + ": neither " + INDEX_FILE + " nor " + SINGLE_FILE + " found");
        }
        return open(single);
    }

    private static Safetensors openSharded(Path dir, Path index) throws IOException {
        JsonNode weightMap;
        try {
            weightMap = JSON.readTree(index.toFile()).get("weight_map");
        } catch (IOException e) {
            throw new IOException(index + ": not valid JSON: " + e.getMessage(), e);
        }
        if (weightMap == null || !weightMap.isObject()) throw new IOException(index + ": missing object field 'weight_map'");
        var channels = new ArrayList<FileChannel>();
        var byFile = new LinkedHashMap<String, Tensor>();
        var seenFiles = new java.util.HashSet<String>();
        var out = new LinkedHashMap<String, Tensor>();
        try {
            for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
                var e = it.next();
                String shard = e.getValue().asText();
                if (seenFiles.add(shard)) {
                    if (!Files.isRegularFile(dir.resolve(shard))) {
                        throw new IOException(dir.resolve(shard) + ": shard listed in " + INDEX_FILE + " is missing");
                    }
                    readFile(dir.resolve(shard), byFile, channels);
                }
                Tensor t = byFile.get(e.getKey());
                if (t == null || !t.file().getFileName().toString().equals(Path.of(shard).getFileName().toString())) {
                    throw new IOException(index + ": tensor '" + e.getKey() + "' is not in " + shard);
                }
                out.put(e.getKey(), t);
            }
        } catch (IOException | RuntimeException e) {
            closeAll(channels);
            throw e;
        }
        return new Safetensors(out, channels);
    }

    private static void readFile(Path file, Map<String, Tensor> out, List<FileChannel> channels) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException(file + ": safetensors file not found");
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        channels.add(ch);
        long fileSize = ch.size();
        if (fileSize < 8) throw new IOException(file + ": corrupt safetensors header: file has " + fileSize + " bytes, fewer than 8");
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0);
        long headerLen = lenBuf.getLong(0);
        if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || headerLen > fileSize - 8) {
            throw new IOException(file + ": corrupt safetensors header: header length " + headerLen
                    + " does not fit the file size " + fileSize);
        }
        ByteBuffer hdr = ByteBuffer.allocate((int) headerLen);
        readFully(ch, hdr, 8);
        JsonNode root;
        try {
            root = JSON.readTree(hdr.array());
        } catch (IOException e) {
            throw new IOException(file + ": corrupt safetensors header: not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) throw new IOException(file + ": corrupt safetensors header: not a JSON object");
        long dataStart = 8 + headerLen;
        long dataLen = fileSize - dataStart;
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            var e = it.next();
            if (e.getKey().equals("__metadata__")) continue;
            out.put(e.getKey(), parseEntry(file, ch, e.getKey(), e.getValue(), dataStart, dataLen));
        }
    }

    private static Tensor parseEntry(Path file, FileChannel ch, String name, JsonNode n, long dataStart, long dataLen)
            throws IOException {
        String where = file + ": corrupt safetensors header: tensor '" + name + "'";
        JsonNode dt = n.get("dtype");
        JsonNode shapeNode = n.get("shape");
        JsonNode offs = n.get("data_offsets");
        if (dt == null || !dt.isTextual()) throw new IOException(where + " has no dtype");
        if (shapeNode == null || !shapeNode.isArray()) throw new IOException(where + " has no shape array");
        if (offs == null || !offs.isArray() || offs.size() != 2) throw new IOException(where + " has no data_offsets [begin, end]");
        DType dtype;
        try {
            dtype = DType.parse(dt.asText());
        } catch (IllegalArgumentException e) {
            throw new IOException(where + ": " + e.getMessage());
        }
        long[] shape = new long[shapeNode.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            if (!shapeNode.get(i).canConvertToLong() || shapeNode.get(i).asLong() < 0) throw new IOException(where + " has a bad shape " + shapeNode);
            shape[i] = shapeNode.get(i).asLong();
            numel = Math.multiplyExact(numel, shape[i]);
        }
        long begin = offs.get(0).asLong(-1);
        long end = offs.get(1).asLong(-1);
        if (begin < 0 || end < begin || end > dataLen) {
            throw new IOException(where + " has data_offsets [" + begin + ", " + end + ") outside the data section of " + dataLen + " bytes");
        }
        if (end - begin != numel * dtype.byteSize()) {
            throw new IOException(where + " has " + (end - begin) + " data bytes, but shape " + shapeNode + " of " + dtype
                    + " needs " + numel * dtype.byteSize());
        }
        return new Tensor(name, dtype, shape, file, ch, dataStart + begin, numel);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos + buf.position());
            if (r < 0) throw new IOException("unexpected end of file");
        }
    }

    /** Names of all tensors, in file order. */
    public Set<String> names() {
        return tensors.keySet();
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** The tensor called {@code name}; throws naming it when absent. */
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) throw new IllegalArgumentException("no tensor named '" + name + "' in the safetensors weights");
        return t;
    }

    @Override
    public void close() {
        closeAll(channels);
    }

    private static void closeAll(List<FileChannel> channels) {
        for (FileChannel c : channels) {
            try {
                c.close();
            } catch (IOException ignored) {
                // read-only channel: nothing to flush
            }
        }
    }

    /** One stored tensor: metadata plus lazy, memory-mapped access to its elements. */
    public static final class Tensor implements FloatSource {
        private static final int CHUNK_ELEMS = 1 << 16;
        private final String name;
        private final DType dtype;
        private final long[] shape;
        private final Path file;
        private final FileChannel channel;
        private final long fileOffset;
        private final long numElements;

        Tensor(String name, DType dtype, long[] shape, Path file, FileChannel channel, long fileOffset, long numElements) {
            this.name = name;
            this.dtype = dtype;
            this.shape = shape;
            this.file = file;
            this.channel = channel;
            this.fileOffset = fileOffset;
            this.numElements = numElements;
        }

        public String name() {
            return name;
        }

        public DType dtype() {
            return dtype;
        }

        public long[] shape() {
            return shape.clone();
        }

        /** Shape as ints; throws when a dimension exceeds int range. */
        public int[] intShape() {
            int[] s = new int[shape.length];
            for (int i = 0; i < s.length; i++) s[i] = Math.toIntExact(shape[i]);
            return s;
        }

        public Path file() {
            return file;
        }

        @Override
        public long size() {
            return numElements;
        }

        /** Elements converted to float, in row-major order, in chunks of at most 64 Ki floats. */
        @Override
        public void forEachChunk(Sink sink) throws IOException {
            if (!dtype.isFloat()) throw new IOException(file + ": tensor '" + name + "' has dtype " + dtype + ", not a float type");
            int es = dtype.byteSize();
            long windowElems = MAP_WINDOW_BYTES / es;
            float[] chunk = new float[(int) Math.min(CHUNK_ELEMS, Math.max(1, numElements))];
            for (long w = 0; w < numElements; w += windowElems) {
                long n = Math.min(windowElems, numElements - w);
                MappedByteBuffer buf = channel.map(FileChannel.MapMode.READ_ONLY, fileOffset + w * es, n * es);
                buf.order(ByteOrder.LITTLE_ENDIAN);
                for (long i = 0; i < n; i += chunk.length) {
                    int len = (int) Math.min(chunk.length, n - i);
                    decode(buf, (int) (i * es), chunk, len);
                    sink.accept(chunk, len);
                }
            }
        }

        private void decode(ByteBuffer buf, int byteOffset, float[] dst, int len) {
            switch (dtype) {
                case F32 -> buf.slice(byteOffset, len * 4).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(dst, 0, len);
                case F64 -> {
                    for (int i = 0; i < len; i++) dst[i] = (float) buf.getDouble(byteOffset + 8 * i);
                }
                case F16 -> {
                    for (int i = 0; i < len; i++) dst[i] = DType.halfToFloat(buf.getShort(byteOffset + 2 * i));
                }
                case BF16 -> {
                    for (int i = 0; i < len; i++) dst[i] = DType.bf16ToFloat(buf.getShort(byteOffset + 2 * i));
                }
                default -> throw new IllegalStateException("not a float dtype: " + dtype);
            }
        }

        /** All elements as floats; for tensors below 2^31 elements. */
        public float[] toFloatArray() {
            try {
                return toArray();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public String toString() {
            return name + " " + dtype + java.util.Arrays.toString(shape);
        }
    }
}
