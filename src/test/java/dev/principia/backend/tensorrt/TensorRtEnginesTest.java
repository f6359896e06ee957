package dev.principia.backend.tensorrt;

import dev.principia.backend.Batch;
import dev.principia.backend.ClassifierBackend;
import dev.principia.backend.fixedkv.FixedKvBackend;
import dev.principia.backend.fixedkv.FixedKvDevice;
import dev.principia.backend.fixedkv.FixedKvLayout;
import dev.principia.backend.fixedkv.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The plan-cache flow of {@link TensorRtEngines} against a stand-in for the TensorRT side (no GPU here): built once,
 * reused, rebuilt when the file is corrupt or TensorRT refuses it, keyed by the graph's content.
 */
class TensorRtEnginesTest {
    static final TensorRtEngines.DecoderSpec SPEC = new TensorRtEngines.DecoderSpec(2, 2, 8, 50, 4, 32, 64, 2);

    @TempDir
    Path dir;
    final List<String> log = new ArrayList<>();

    /** Builds a "plan" from the graph's text; refuses one open after {@code refuseNextOpen} is set; a graph saying "unsupported" fails to parse. */
    static final class StandIn implements NativeTensorRt {
        int builds;
        final List<PlanCache.Entry> opened = new ArrayList<>();
        boolean refuseNextOpen;

        @Override
        public GpuFacts facts() {
            return PlanCacheTest.FACTS;
        }

        @Override
        public void buildPlan(Path onnx, ProfileShapes shapes, Path timingCache, WritableByteChannel out, Consumer<String> log) throws IOException {
            builds++;
            if (Files.readString(onnx).contains("unsupported")) throw new IllegalArgumentException(onnx + ": node 3 (Foo, Bar): unsupported");
            out.write(ByteBuffer.wrap(("plan of " + Files.readString(onnx)).getBytes(StandardCharsets.UTF_8)));
            Files.writeString(timingCache, "timings");
        }

        @Override
        public FixedKvDevice openDecoder(PlanCache.Entry plan, FixedKvLayout layout, ProfileShapes shapes, int vocabSize, Consumer<String> log)
                throws IOException {
            if (refuseNextOpen) {
                refuseNextOpen = false;
                throw new IOException("TensorRT could not deserialize " + plan.file());
            }
            opened.add(plan);
            return new FixedKvDevice() {
                public String name() {
                    return "tensorrt";
                }

                public int vocabSize() {
                    return vocabSize;
                }

                public String kvElementType() {
                    return "float16";
                }

                public float[][] execute(Run run) {
                    return new float[run.rows()][vocabSize];
                }

                public void copy(List<FixedKvLayout.Copy> copies) {
                }

                public void close() {
                }
            };
        }

        @Override
        public ClassifierBackend openClassifier(PlanCache.Entry plan, ProfileShapes shapes, int numLabels, int maxPositions, Consumer<String> log) {
            throw new UnsupportedOperationException();
        }
    }

    Path graph(String content) throws IOException {
        Path g = dir.resolve("graph").resolve("model.onnx");
        Files.createDirectories(g.getParent());
        Files.writeString(g, content);
        return g;
    }

    @Test
    void buildsOnceThenReusesThePlan() throws IOException {
        StandIn trt = new StandIn();
        Path g = graph("graph A");
        try (FixedKvBackend b = TensorRtEngines.openDecoder(trt, g, SPEC, dir.resolve("cache"), log::add)) {
            assertEquals("tensorrt", b.info().name());
            assertEquals(SPEC.shapes().limits(), b.limits());
            assertEquals(1, b.execute(new Batch(List.of(new Batch.Entry(0, new int[] {1, 2, 3}, 0)))).logits().length);
        }
        TensorRtEngines.openDecoder(trt, g, SPEC, dir.resolve("cache"), log::add).close();
        assertEquals(1, trt.builds);
        assertEquals(trt.opened.get(0), trt.opened.get(1));
        assertTrue(Files.isRegularFile(new PlanCache(dir.resolve("cache/tensorrt"), log::add).timingCacheFile(PlanCacheTest.FACTS)));
        graph("graph B");
        TensorRtEngines.openDecoder(trt, g, SPEC, dir.resolve("cache"), log::add).close();
        assertEquals(2, trt.builds, "new graph content, new plan");
    }

    /** principia.engine.kv-cache-bytes caps the device cache's slots; the profiles (so the plan) stay the same. */
    @Test
    void kvCacheBytesCapTheDeviceSlotsNotThePlan() throws IOException {
        StandIn trt = new StandIn();
        Path g = graph("graph A");
        long perSlot = 2L * 2 * 2 * 8 * 2 * 64;
        var capped = new TensorRtEngines.DecoderSpec(2, 2, 8, 50, 4, 32, 64, 2, 2 * perSlot + 1);
        try (FixedKvBackend b = TensorRtEngines.openDecoder(trt, g, capped, dir.resolve("cache"), log::add)) {
            assertEquals(2, b.info().maxSlots());
            assertEquals(2L * 64, b.info().kvCacheTokens());
        }
        TensorRtEngines.openDecoder(trt, g, SPEC, dir.resolve("cache"), log::add).close();
        assertEquals(1, trt.builds, "one plan for both");
        assertEquals(4, SPEC.layout().maxSlots());
    }

    @Test
    void aPlanTensorRtRefusesIsRebuiltWithAWarning() throws IOException {
        StandIn trt = new StandIn();
        Path g = graph("graph A");
        TensorRtEngines.openDecoder(trt, g, SPEC, dir, log::add).close();
        trt.refuseNextOpen = true;
        TensorRtEngines.openDecoder(trt, g, SPEC, dir, log::add).close();
        assertEquals(2, trt.builds);
        assertTrue(log.stream().anyMatch(l -> l.contains("could not open the cached plan") && l.contains("built again")), log.toString());
    }

    @Test
    void aCorruptPlanFileIsRebuilt() throws IOException {
        StandIn trt = new StandIn();
        Path g = graph("graph A");
        TensorRtEngines.openDecoder(trt, g, SPEC, dir, log::add).close();
        Path plan = trt.opened.get(0).file();
        byte[] bytes = Files.readAllBytes(plan);
        bytes[bytes.length - 1] ^= 1;
        Files.write(plan, bytes);
        TensorRtEngines.openDecoder(trt, g, SPEC, dir, log::add).close();
        assertEquals(2, trt.builds);
        assertTrue(log.stream().anyMatch(l -> l.contains("digest mismatch")), log.toString());
    }

    @Test
    void aParserRefusalNamesTheNodeAndPublishesNothing() throws IOException {
        StandIn trt = new StandIn();
        Path g = graph("unsupported op");
        var e = assertThrows(IllegalArgumentException.class, () -> TensorRtEngines.openDecoder(trt, g, SPEC, dir.resolve("cache"), log::add));
        assertTrue(e.getMessage().contains("node 3"), e.getMessage());
        try (var files = Files.list(dir.resolve("cache/tensorrt"))) {
            assertEquals(List.of(), files.filter(f -> f.getFileName().toString().contains("plan-")).toList());
        }
    }
}
