package dev.principia.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a safetensors file: tensors are registered with their shape and a {@link FloatSource}, then
 * {@link #write(Path)} writes the header (offsets computed from the shapes, padded to 8 bytes) and
 * streams each tensor's data in registration order, converted to its dtype. Nothing is buffered whole.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Entry(String name, DType dtype, long[] shape, FloatSource data) {
    }

    private final List<Entry> entries = new ArrayList<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /** Registers a tensor; {@code data.size()} must equal the product of {@code shape}. */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, FloatSource data) {
        if (name == null || name.isEmpty() || name.equals("__metadata__")) throw new IllegalArgumentException("bad tensor name '" + name + "'");
        if (!dtype.isFloat()) throw new IllegalArgumentException("tensor '" + name + "': only float dtypes can be written, got " + dtype);
        long numel = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("tensor '" + name + "': negative dimension in shape");
            numel = Math.multiplyExact(numel, d);
        }
        if (numel != data.size()) {
            throw new IllegalArgumentException("tensor '" + name + "': shape holds " + numel + " elements, data has " + data.size());
        }
        for (Entry e : entries) {
            if (e.name.equals(name)) throw new IllegalArgumentException("tensor '" + name + "' added twice");
        }
        entries.add(new Entry(name, dtype, shape.clone(), data));
        return this;
    }

    /** Adds a string pair to {@code __metadata__}. */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    public void write(Path file) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Entry e : entries) {
            long bytes = e.data.size() * e.dtype.byteSize();
            ObjectNode t = header.putObject(e.name);
            t.put("dtype", e.dtype.name());
            var shape = t.putArray("shape");
            for (long d : e.shape) shape.add(d);
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(json);
            for (int i = json.length; i < padded; i++) out.write(' ');
            for (Entry e : entries) writeData(out, e.dtype, e.data);
        }
    }

    /** Streams {@code data} to {@code out} as little-endian elements of {@code dtype}. */
    static void writeData(OutputStream out, DType dtype, FloatSource data) throws IOException {
        ByteBuffer[] buf = {null};
        data.forEachChunk((chunk, length) -> {
            int need = length * dtype.byteSize();
            if (buf[0] == null || buf[0].capacity() < need) buf[0] = ByteBuffer.allocate(need).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer b = buf[0];
            b.clear();
            switch (dtype) {
                case F32 -> b.asFloatBuffer().put(chunk, 0, length);
                case F64 -> {
                    for (int i = 0; i < length; i++) b.putDouble(8 * i, chunk[i]);
                }
                case F16 -> {
                    for (int i = 0; i < length; i++) b.putShort(2 * i, DType.floatToHalf(chunk[i]));
                }
                case BF16 -> {
                    for (int i = 0; i < length; i++) b.putShort(2 * i, DType.floatToBf16(chunk[i]));
                }
                default -> throw new IllegalStateException("not a float dtype: " + dtype);
            }
            out.write(b.array(), 0, need);
        });
    }
}
