package dev.principia.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsTest {
    @TempDir
    Path dir;

    @Test
    void f32RoundTrip() throws IOException {
        float[] a = {1f, -2.5f, 3.25f, 0f, Float.MIN_VALUE, 1e30f};
        float[] b = {7f};
        Path f = dir.resolve("t.safetensors");
        new SafetensorsWriter().metadata("format", "pt")
                .add("a", DType.F32, new long[]{2, 3}, FloatSource.of(a))
                .add("b", DType.F32, new long[]{1}, FloatSource.of(b))
                .write(f);
        try (Safetensors st = Safetensors.open(f)) {
            assertEquals(List.of("a", "b"), List.copyOf(st.names()));
            assertArrayEquals(new long[]{2, 3}, st.tensor("a").shape());
            assertEquals(DType.F32, st.tensor("a").dtype());
            assertArrayEquals(a, st.tensor("a").toFloatArray());
            assertArrayEquals(b, st.tensor("b").toFloatArray());
            var e = assertThrows(IllegalArgumentException.class, () -> st.tensor("c"));
            assertTrue(e.getMessage().contains("'c'"));
        }
    }

    @Test
    void readsHandWrittenF16AndBf16() throws IOException {
        // 1.0, -2.0, 0.5, 65504 (max half), 2^-24 (smallest subnormal)
        short[] f16 = {0x3C00, (short) 0xC000, 0x3800, 0x7BFF, 0x0001};
        // 1.0, -2.0, 0.5, 3.140625
        short[] bf16 = {0x3F80, (short) 0xC000, 0x3F00, 0x4049};
        ByteBuffer data = ByteBuffer.allocate(2 * (f16.length + bf16.length)).order(ByteOrder.LITTLE_ENDIAN);
        for (short s : f16) data.putShort(s);
        for (short s : bf16) data.putShort(s);
        String header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[0,10]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[10,18]}}";
        Path f = writeRaw(header, data.array());
        try (Safetensors st = Safetensors.open(f)) {
            assertArrayEquals(new float[]{1f, -2f, 0.5f, 65504f, 0x1p-24f}, st.tensor("h").toFloatArray());
            assertArrayEquals(new float[]{1f, -2f, 0.5f, 3.140625f}, st.tensor("b").toFloatArray());
        }
    }

    @Test
    void halfAndBf16WritersRoundTripRepresentableValues() throws IOException {
        float[] v = {1f, -0.375f, 1024f, 0.0009765625f};
        Path f = dir.resolve("h.safetensors");
        new SafetensorsWriter().add("h", DType.F16, new long[]{4}, FloatSource.of(v))
                .add("b", DType.BF16, new long[]{4}, FloatSource.of(v)).write(f);
        try (Safetensors st = Safetensors.open(f)) {
            assertArrayEquals(v, st.tensor("h").toFloatArray());
            assertArrayEquals(v, st.tensor("b").toFloatArray());
        }
        assertEquals(0x3C00, DType.floatToHalf(1f + 0x1p-11f) & 0xffff);
        assertEquals(0x3C02, DType.floatToHalf(1f + 0x3p-11f) & 0xffff);
        assertEquals(0x0001, DType.floatToHalf(0x1p-24f) & 0xffff);
        assertEquals(0x7C00, DType.floatToHalf(1e6f) & 0xffff);
        assertEquals(0x3F80, DType.floatToBf16(1.001f) & 0xffff);
    }

    @Test
    void corruptHeadersNameTheFile() throws IOException {
        Path tooLong = dir.resolve("long.safetensors");
        Files.write(tooLong, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).array());
        assertCorrupt(tooLong, "header length");
        assertCorrupt(writeRaw("{not json", new byte[0]), "not valid JSON");
        assertCorrupt(writeRaw("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,8]}}", new byte[8]), "needs 16");
        assertCorrupt(writeRaw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[4]), "outside the data section");
        assertCorrupt(writeRaw("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]), "unknown dtype");
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[3]);
        assertCorrupt(tiny, "fewer than 8");
    }

    private static void assertCorrupt(Path f, String detail) {
        var e = assertThrows(IOException.class, () -> Safetensors.open(f).close());
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(detail), e.getMessage());
    }

    @Test
    void readsShardedDirectories() throws IOException {
        new SafetensorsWriter().add("x", DType.F32, new long[]{2}, FloatSource.of(new float[]{1, 2})).write(dir.resolve("model-00001-of-00002.safetensors"));
        new SafetensorsWriter().add("y", DType.BF16, new long[]{1}, FloatSource.of(new float[]{3})).write(dir.resolve("model-00002-of-00002.safetensors"));
        Files.writeString(dir.resolve(Safetensors.INDEX_FILE), "{\"metadata\":{},\"weight_map\":{"
                + "\"x\":\"model-00001-of-00002.safetensors\",\"y\":\"model-00002-of-00002.safetensors\"}}");
        try (Safetensors st = Safetensors.open(dir)) {
            assertArrayEquals(new float[]{1, 2}, st.tensor("x").toFloatArray());
            assertArrayEquals(new float[]{3}, st.tensor("y").toFloatArray());
        }
        Files.writeString(dir.resolve(Safetensors.INDEX_FILE), "{\"weight_map\":{\"z\":\"model-00001-of-00002.safetensors\"}}");
        var e = assertThrows(IOException.class, () -> Safetensors.open(dir));
        assertTrue(e.getMessage().contains("'z'"), e.getMessage());
    }

    private Path writeRaw(String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Path f = Files.createTempFile(dir, "raw", ".safetensors");
        Files.write(f, b.array());
        return f;
    }
}
