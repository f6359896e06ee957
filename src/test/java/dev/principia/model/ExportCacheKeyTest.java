package dev.principia.model;

import dev.principia.model.onnx.OnnxExporter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Server exports are cached by content: new weights under an unchanged config export again, a copy of
 * the same directory elsewhere reuses the export, options are part of the key, publication is atomic
 * and abandoned partial exports are cleaned up.
 */
class ExportCacheKeyTest {
    private static final TinyModel.Spec SPEC = new TinyModel.Spec("qwen3", 151936, 16, 32, 1, 2, 1, 8, 64, 1e6, true, null,
            List.of(151645), 0.02);
    @TempDir
    Path tmp;

    private ModelDirectory model(Path dir, long seed) throws IOException {
        DefaultModel.deleteTree(dir);
        TinyModel.generate(SPEC.toConfig(), 0.02, seed, dir, TinyModel.Output.F32_SINGLE_FILE);
        for (String f : new String[]{"tokenizer.json", "tokenizer_config.json"}) Files.copy(TestTokenizers.qwen3().resolve(f), dir.resolve(f));
        ModelDirectory m = ModelDirectory.open(dir, false);
        m.tokenizer().close();
        return m;
    }

    private List<String> exportsIn(Path cache) throws IOException {
        try (Stream<Path> s = Files.list(cache.resolve("exports"))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void newWeightsUnderTheSameConfigExportAgain() throws Exception {
        Path cache = tmp.resolve("cache"), dir = tmp.resolve("grm");
        var log = new ArrayList<String>();
        Path first = ExportCache.ensure(model(dir, 1), cache, ExportCache.SERVING, log::add).onnx();
        byte[] config = Files.readAllBytes(dir.resolve("config.json"));
        Path again = ExportCache.ensure(model(dir, 1), cache, ExportCache.SERVING, log::add).onnx();
        assertEquals(first, again, "same weights reuse the export");
        assertEquals(1, log.stream().filter(l -> l.startsWith("exporting")).count(), log.toString());

        Path changed = ExportCache.ensure(model(dir, 2), cache, ExportCache.SERVING, log::add).onnx();
        assertTrue(java.util.Arrays.equals(config, Files.readAllBytes(dir.resolve("config.json"))), "the config did not change");
        assertNotEquals(first, changed, "new weights under the same config must not reuse the stale export");
        assertEquals(2, log.stream().filter(l -> l.startsWith("exporting")).count(), log.toString());
    }

    @Test
    void aCopyElsewhereReusesTheExportAndOptionsAreKeyed() throws Exception {
        Path cache = tmp.resolve("cache");
        var log = new ArrayList<String>();
        Path a = ExportCache.ensure(model(tmp.resolve("a/grm"), 7), cache, ExportCache.SERVING, log::add).onnx();
        Path b = ExportCache.ensure(model(tmp.resolve("b/grm"), 7), cache, ExportCache.SERVING, log::add).onnx();
        assertEquals(a, b, "the key comes from content, not the path");
        Path f16 = ExportCache.ensure(model(tmp.resolve("b/grm"), 7), cache, ExportCache.SERVING.withDtype(DType.F16), log::add).onnx();
        assertNotEquals(a, f16);
        assertEquals(2, exportsIn(cache).size(), exportsIn(cache).toString());
    }

    /** A pre-exported graph is a plain one: a portable decoder is exported from the weights beside it. */
    @Test
    void aPortableDecoderIsExportedEvenBesideAPreExportedGraph() throws Exception {
        Path cache = tmp.resolve("cache"), dir = tmp.resolve("grm");
        ModelDirectory m = model(dir, 4);
        Path inside = dir.resolve(ExportCache.ONNX_SUBDIR).resolve(ExportCache.ONNX_FILE);
        Files.createDirectories(inside.getParent());
        OnnxExporter.exportDecoder(dir, inside, ExportCache.SERVING);
        var log = new ArrayList<String>();
        assertEquals(inside, ExportCache.ensure(m, cache, ExportCache.SERVING, log::add).onnx());
        var portable = ExportCache.ensure(m, cache, ExportCache.SERVING.withAttention(OnnxExporter.Attention.PORTABLE), log::add);
        assertFalse(portable.preExported());
        assertTrue(portable.onnx().startsWith(cache), portable.onnx().toString());
        var inputs = dev.principia.model.onnx.OnnxGraphInputs.read(portable.onnx()).keySet();
        assertTrue(inputs.contains("position_ids") && !inputs.contains("attention_mask"), inputs.toString());
    }

    @Test
    void progressIsLoggedByTenthsAndPartialExportsOfDeadProcessesAreRemoved() throws Exception {
        Path cache = tmp.resolve("cache"), dir = tmp.resolve("grm");
        ModelDirectory m = model(dir, 3);
        String key = ExportKey.of(dir, OnnxExporter.VERSION, ExportCache.SERVING.toString());
        Path abandoned = cache.resolve("exports").resolve(".grm-" + key + ".partial-" + Long.MAX_VALUE);
        Files.createDirectories(abandoned);
        Files.writeString(abandoned.resolve("model.onnx"), "half");
        var log = new ArrayList<String>();
        ExportCache.Export e = ExportCache.ensure(m, cache, ExportCache.SERVING, log::add);
        assertFalse(Files.exists(abandoned), "the dead process's partial export is removed");
        assertEquals(List.of("grm-" + key), exportsIn(cache), "only the published export remains");
        assertFalse(e.preExported());
        List<String> progress = log.stream().filter(l -> l.startsWith("export ")).toList();
        assertTrue(progress.size() >= 2 && progress.size() <= 10, progress.toString());
        assertTrue(progress.get(progress.size() - 1).startsWith("export 100% - "), progress.toString());
        assertTrue(progress.get(progress.size() - 1).contains(WeightLayout.of(m.config()).size() + "/" + WeightLayout.of(m.config()).size() + " tensors"),
                progress.toString());
    }

    @Test
    void graphsAboveTheThresholdAreEstimatedForExternalData() {
        ModelConfig tinyLlama = new TinyModel.Spec("llama", 32000, 2048, 5632, 22, 32, 4, 64, 2048, 10000.0, false, 1,
                List.of(2), 0.02).toConfig();
        long fp32 = ExportCache.estimatedGraphBytes(tinyLlama, ExportCache.SERVING);
        assertTrue(fp32 > ExportCache.EXTERNAL_DATA_ABOVE_BYTES, "1.1 B parameters in fp32: " + fp32);
        assertTrue(ExportCache.estimatedGraphBytes(SPEC.toConfig(), ExportCache.SERVING) < ExportCache.EXTERNAL_DATA_ABOVE_BYTES);
    }
}
