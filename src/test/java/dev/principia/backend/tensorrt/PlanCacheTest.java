package dev.principia.backend.tensorrt;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PlanCacheTest {
    static final GpuFacts FACTS = new GpuFacts("11.2.1", "NVIDIA H200", "9.0", 141L << 30, "13.3", "13.3");
    static final ProfileShapes SHAPES = ProfileShapes.decoder(8, 64, 128, 2, 2, 16);

    @TempDir
    Path dir;
    final List<String> warnings = new ArrayList<>();

    PlanCacheKey key() {
        return new PlanCacheKey("ab".repeat(32), "11.2.1", "NVIDIA H200", "9.0", SHAPES.describe(), "float16");
    }

    static byte[] payload(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (i * 31 + 7);
        return b;
    }

    PlanCache.Entry store(PlanCache cache, byte[] bytes) throws IOException {
        return cache.store(key(), out -> out.write(ByteBuffer.wrap(bytes)));
    }

    static byte[] read(PlanCache.Entry e) throws IOException {
        byte[] b = new byte[(int) e.payloadBytes()];
        ByteBuffer whole = ByteBuffer.wrap(b);
        PlanCache.readPayload(e, (off, n) -> whole.slice((int) off, n));
        return b;
    }

    @Test
    void roundTrip() throws IOException {
        PlanCache cache = new PlanCache(dir.resolve("tensorrt"), warnings::add);
        assertEquals(Optional.empty(), cache.load(key()));
        byte[] bytes = payload(100_000);
        store(cache, bytes);
        PlanCache.Entry e = cache.load(key()).orElseThrow();
        assertArrayEquals(bytes, read(e));
        assertEquals(List.of(), warnings);
        try (var files = Files.list(cache.dir())) {
            assertEquals(List.of(cache.file(key())), files.toList(), "only the published plan: no temporary file left");
        }
    }

    @Test
    void aCorruptPayloadIsDeletedWithAWarning() throws IOException {
        PlanCache cache = new PlanCache(dir, warnings::add);
        PlanCache.Entry e = store(cache, payload(5000));
        try (FileChannel ch = FileChannel.open(e.file(), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {42, 42, 42}), e.payloadOffset() + 1000);
        }
        assertEquals(Optional.empty(), cache.load(key()));
        assertFalse(Files.exists(e.file()));
        assertEquals(1, warnings.size());
        assertTrue(warnings.get(0).contains("digest mismatch") && warnings.get(0).contains("built again"), warnings.get(0));
        store(cache, payload(5000));
        assertArrayEquals(payload(5000), read(cache.load(key()).orElseThrow()), "rebuilt and usable again");
    }

    @Test
    void aTruncatedFileIsRejected() throws IOException {
        PlanCache cache = new PlanCache(dir, warnings::add);
        PlanCache.Entry e = store(cache, payload(5000));
        try (FileChannel ch = FileChannel.open(e.file(), StandardOpenOption.WRITE)) {
            ch.truncate(e.payloadOffset() + 4000);
        }
        assertEquals(Optional.empty(), cache.load(key()));
        assertTrue(warnings.get(0).contains("truncated"), warnings.get(0));
        Files.write(cache.file(key()), new byte[] {'P', 'R'});
        assertEquals(Optional.empty(), cache.load(key()));
        assertTrue(warnings.get(1).contains("truncated"), warnings.get(1));
    }

    @Test
    void wrongMagicOrAnotherKeyIsRejected() throws IOException {
        PlanCache cache = new PlanCache(dir, warnings::add);
        PlanCache.Entry e = store(cache, payload(300));
        byte[] file = Files.readAllBytes(e.file());
        file[0] = 'X';
        Files.write(e.file(), file);
        assertEquals(Optional.empty(), cache.load(key()));
        assertTrue(warnings.get(0).contains("wrong magic"), warnings.get(0));
        // a plan of another key copied under this key's name
        PlanCacheKey other = new PlanCacheKey("cd".repeat(32), "11.2.1", "NVIDIA H200", "9.0", SHAPES.describe(), "float16");
        PlanCache.Entry o = cache.store(other, out -> out.write(ByteBuffer.wrap(payload(300))));
        Files.copy(o.file(), cache.file(key()));
        assertEquals(Optional.empty(), cache.load(key()));
        assertTrue(warnings.get(1).contains("another key"), warnings.get(1));
    }

    @Test
    void aFailedBuildPublishesNothing() throws IOException {
        PlanCache cache = new PlanCache(dir, warnings::add);
        assertThrows(IllegalStateException.class, () -> cache.store(key(), out -> {
            out.write(ByteBuffer.wrap(payload(10)));
            throw new IllegalStateException("builder died");
        }));
        try (var files = Files.list(dir)) {
            assertEquals(List.of(), files.toList());
        }
        assertThrows(IOException.class, () -> cache.store(key(), out -> { }));
    }

    @Test
    void everyKeyComponentChangesTheFileName() throws IOException {
        PlanCacheKey k = key();
        List<PlanCacheKey> variants = List.of(
                new PlanCacheKey("cd".repeat(32), k.tensorRtVersion(), k.gpuName(), k.computeCapability(), k.profiles(), k.dtype()),
                new PlanCacheKey(k.graphSha256(), "11.3.0", k.gpuName(), k.computeCapability(), k.profiles(), k.dtype()),
                new PlanCacheKey(k.graphSha256(), k.tensorRtVersion(), "NVIDIA L40S", k.computeCapability(), k.profiles(), k.dtype()),
                new PlanCacheKey(k.graphSha256(), k.tensorRtVersion(), k.gpuName(), "8.9", k.profiles(), k.dtype()),
                new PlanCacheKey(k.graphSha256(), k.tensorRtVersion(), k.gpuName(), k.computeCapability(),
                        ProfileShapes.decoder(16, 64, 128, 2, 2, 16).describe(), k.dtype()),
                new PlanCacheKey(k.graphSha256(), k.tensorRtVersion(), k.gpuName(), k.computeCapability(), k.profiles(), "float32"));
        for (PlanCacheKey v : variants) assertNotEquals(k.fileName(), v.fileName(), v.toString());
        assertEquals(k.fileName(), key().fileName());
        assertTrue(k.fileName().matches("plan-[0-9a-f]{32}\\.trt"), k.fileName());
    }

    @Test
    void graphHashCoversExternalDataBesideTheGraph() throws IOException {
        Path g = dir.resolve("model.onnx");
        Files.write(g, payload(1000));
        Files.writeString(dir.resolve("notes.txt"), "ignored");
        String onlyGraph = PlanCacheKey.graphSha256(g);
        Files.write(dir.resolve("model.onnx.data"), payload(2000));
        String withData = PlanCacheKey.graphSha256(g);
        assertNotEquals(onlyGraph, withData);
        byte[] changed = payload(2000);
        changed[1999] ^= 1;
        Files.write(dir.resolve("model.onnx.data"), changed);
        assertNotEquals(withData, PlanCacheKey.graphSha256(g), "one flipped bit of external data changes the key");
        Files.writeString(dir.resolve("notes.txt"), "still ignored");
        assertEquals(PlanCacheKey.graphSha256(g), PlanCacheKey.graphSha256(g));
        assertEquals(PlanCacheKey.of(g, FACTS, SHAPES, "float16").graphSha256(), PlanCacheKey.graphSha256(g));
    }

    @Test
    void timingCacheIsPerGpuAndVersion() {
        PlanCache cache = new PlanCache(dir, warnings::add);
        Path a = cache.timingCacheFile(FACTS);
        assertEquals(dir, a.getParent());
        assertNotEquals(a, cache.timingCacheFile(new GpuFacts("11.2.1", "NVIDIA L4", "8.9", 1L << 34, "13.3", "13.3")));
        assertEquals("11.2.1", GpuFacts.tensorRtVersion(110201));
        assertEquals("13.3", GpuFacts.cudaVersion(13030));
    }
}
