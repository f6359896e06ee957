package dev.principia.model.onnx;

import dev.principia.model.DType;
import dev.principia.model.ExportKey;
import dev.principia.model.ModelConfig;
import dev.principia.model.TestModels;
import dev.principia.model.WeightPrecision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@link OnnxExporter.Attention#PORTABLE} export: standard operators only, its options, and ONNX Runtime's in-place path. */
class PortableExportTest {
    /** What ONNX Runtime 1.29's TensorScatter logs when present is not past's memory. */
    static final String COPY_WARNING = "TensorScatter: in-place optimization not activated";
    private static final OnnxExporter.Options PORTABLE = OnnxExporter.Options.defaults().withAttention(OnnxExporter.Attention.PORTABLE);
    @TempDir
    Path dir;

    /** Every node is in the standard domain, the only opset import is ("", 24), and the IR version is opset 24's; plain stays at 17. */
    @Test
    void graphUsesOnlyTheStandardDomainAtOpset24() throws Exception {
        TestModels.generate(TestModels.gemma2Quirks(), 21, dir);
        for (DType dtype : new DType[]{DType.F32, DType.F16}) {
            Path onnx = dir.resolve(dtype + ".onnx");
            OnnxExporter.exportDecoder(dir, onnx, PORTABLE.withDtype(dtype));
            Summary g = Summary.of(onnx);
            assertEquals(List.of(":" + OnnxExporter.PORTABLE_OPSET), g.opsets);
            assertEquals(OnnxGraph.IR_VERSION_OPSET_24, g.ir);
            assertTrue(g.domains.stream().allMatch(String::isEmpty), "non-standard domains: " + new TreeSet<>(g.domains));
            assertTrue(g.opTypes.contains("TensorScatter") && g.opTypes.contains("ReduceMean"), g.opTypes.toString());
            assertTrue(g.domains.size() > 100, "nodes read: " + g.domains.size());
            System.out.printf("portable %s graph: %d nodes, IR %d, opsets %s, operators %s%n", dtype, g.domains.size(), g.ir, g.opsets, g.opTypes);
        }
        Path plain = dir.resolve("plain.onnx");
        OnnxExporter.exportDecoder(dir, plain, OnnxExporter.Options.defaults());
        assertEquals(List.of(":" + OnnxExporter.OPSET), Summary.of(plain).opsets);
        assertEquals(OnnxGraph.IR_VERSION, Summary.of(plain).ir);
    }

    @Test
    void optionsRefuseQuantizedWeightsAndDescribeThemselves() {
        for (WeightPrecision quantized : new WeightPrecision[]{WeightPrecision.INT8, WeightPrecision.INT4}) {
            var e = assertThrows(IllegalArgumentException.class, () -> PORTABLE.withWeights(quantized));
            assertTrue(e.getMessage().contains("MatMulNBits") && e.getMessage().contains(quantized.configName()), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> OnnxExporter.Options.defaults().withWeights(quantized).withAttention(OnnxExporter.Attention.PORTABLE));
        }
        assertEquals(DType.F16, PORTABLE.withDtype(DType.F16).dtype());
        assertEquals(WeightPrecision.BF16, PORTABLE.withWeights(WeightPrecision.BF16).weights());
        assertEquals("fp16 weights, f16 activations, portable attention", PORTABLE.withDtype(DType.F16).describe());
        assertEquals(OnnxExporter.Attention.PLAIN, PORTABLE.forClassifier().attention());
    }

    /** The export cache keys on the exporter version and the options, so portable and plain exports never share an entry. */
    @Test
    void cacheKeysDifferByAttentionAndVersion() throws Exception {
        TestModels.generate(TestModels.llamaQuirks(), 21, dir);
        String plain = ExportKey.of(dir, OnnxExporter.VERSION, OnnxExporter.Options.defaults().toString());
        String portable = ExportKey.of(dir, OnnxExporter.VERSION, PORTABLE.toString());
        assertNotEquals(plain, portable);
        assertNotEquals(portable, ExportKey.of(dir, OnnxExporter.VERSION, PORTABLE.withDtype(DType.F16).toString()));
        assertNotEquals(portable, ExportKey.of(dir, "2026.11.30.2", PORTABLE.toString()), "graphs before PORTABLE had another version");
        assertNotEquals("2026.11.30.2", OnnxExporter.VERSION);
    }

    /**
     * ONNX Runtime's Java API activates TensorScatter's in-place path when past and present are tensors over the
     * same direct buffer (pinned outputs): no copy is logged; bound to separate buffers, it copies and logs so.
     * Each case runs in its own JVM, whose native stderr carries ONNX Runtime's log.
     */
    @Test
    void pastAndPresentOverOneDirectBufferAreUpdatedInPlace() throws Exception {
        ModelConfig config = TestModels.generate(TestModels.llamaQuirks(), 21, dir);
        OnnxExporter.exportDecoder(dir, dir.resolve("portable.onnx"), PORTABLE);
        String same = runProbe("same"), separate = runProbe("separate");
        assertTrue(same.contains("probe done") && !same.contains(COPY_WARNING), same);
        assertTrue(separate.contains("probe done") && separate.contains(COPY_WARNING), separate);
        assertEquals(2 * config.numHiddenLayers(), separate.split(COPY_WARNING, -1).length - 1, separate);
    }

    /** Two B = 1 prompts on one shared buffer, then a batch decode call: present bound to past's buffers, or to separate ones. */
    static final class InPlaceProbe {
        public static void main(String[] args) throws Exception {
            Path model = Path.of(args[0]);
            try (var run = new OrtPortableRun(model.resolve("portable.onnx"), ModelConfig.read(model), DType.F32, 2, 16, 0f)) {
                run.prompt(0, new int[]{5, 17, 300});
                run.prompt(1, new int[]{0, 99, 256, 3, 128});
                if (!args[1].equals("same")) System.err.println("separate present:");
                run.batch(new int[][]{{9}, {10}}, !args[1].equals("same"));
            }
            System.err.println("probe done");
        }
    }

    private String runProbe(String mode) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        // -Xss16m: on this machine a bare JVM (1 MiB thread stacks) dies of SIGSEGV in ONNX Runtime 1.29's environment
        // creation unless the creating thread's stack is at least 8 MiB (measured; the surefire JVM is unaffected)
        Process p = new ProcessBuilder(java.toString(), "-Xss16m", "-cp", System.getProperty("java.class.path"), InPlaceProbe.class.getName(), dir.toString(), mode)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "probe did not finish");
        return out;
    }

    /** A model's IR version, opset imports ("domain:version"), the domain of each node and the operator types used. */
    private record Summary(long ir, List<String> opsets, List<String> domains, Set<String> opTypes) {
        static Summary of(Path onnx) throws IOException {
            ByteBuffer m = ByteBuffer.wrap(Files.readAllBytes(onnx));
            var s = new Summary(-1, new ArrayList<>(), new ArrayList<>(), new TreeSet<>());
            long ir = -1;
            while (m.hasRemaining()) {
                long key = varint(m);
                if (key >>> 3 == 1) {
                    ir = varint(m);
                } else if (key >>> 3 == 8) {
                    ByteBuffer opset = sub(m);
                    String domain = "";
                    long version = -1;
                    while (opset.hasRemaining()) {
                        long k = varint(opset);
                        if (k >>> 3 == 1) domain = string(sub(opset));
                        else if (k >>> 3 == 2) version = varint(opset);
                        else skip(opset, (int) (k & 7));
                    }
                    s.opsets.add(domain + ":" + version);
                } else if (key >>> 3 == 7) {
                    ByteBuffer graph = sub(m);
                    while (graph.hasRemaining()) {
                        long k = varint(graph);
                        if (k >>> 3 == 1) s.node(sub(graph));
                        else skip(graph, (int) (k & 7));
                    }
                } else {
                    skip(m, (int) (key & 7));
                }
            }
            return new Summary(ir, s.opsets, s.domains, s.opTypes);
        }

        private void node(ByteBuffer node) {
            String domain = "";
            while (node.hasRemaining()) {
                long k = varint(node);
                if (k >>> 3 == 4) opTypes.add(string(sub(node)));
                else if (k >>> 3 == 7) domain = string(sub(node));
                else skip(node, (int) (k & 7));
            }
            domains.add(domain);
        }
    }

    private static long varint(ByteBuffer b) {
        long v = 0;
        for (int shift = 0; ; shift += 7) {
            byte x = b.get();
            v |= (long) (x & 0x7f) << shift;
            if (x >= 0) return v;
        }
    }

    private static ByteBuffer sub(ByteBuffer b) {
        int len = (int) varint(b);
        ByteBuffer s = b.slice(b.position(), len).order(ByteOrder.LITTLE_ENDIAN);
        b.position(b.position() + len);
        return s;
    }

    private static String string(ByteBuffer b) {
        byte[] bytes = new byte[b.remaining()];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static void skip(ByteBuffer b, int wireType) {
        switch (wireType) {
            case 0 -> varint(b);
            case 1 -> b.position(b.position() + 8);
            case 2 -> sub(b);
            case 5 -> b.position(b.position() + 4);
            default -> throw new IllegalStateException("wire type " + wireType);
        }
    }
}
