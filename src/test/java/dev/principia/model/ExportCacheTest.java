package dev.principia.model;

import dev.principia.model.onnx.OnnxExporter;
import dev.principia.model.onnx.OnnxGraph;
import dev.principia.model.onnx.OnnxGraphInputs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Pre-exported graphs inside a model directory are found and checked against config.json before loading. */
class ExportCacheTest {
    @TempDir
    Path dir;

    private Path exported(DType dtype) throws Exception {
        TestModels.generate(TestModels.qwen3Quirks(), 3, dir);
        Path onnx = dir.resolve("model.onnx");
        OnnxExporter.exportDecoder(dir, onnx, new OnnxExporter.Options(true, true, dtype));
        return onnx;
    }

    @Test
    void readsDeclaredInputsWithoutLoadingWeights() throws Exception {
        Path onnx = exported(DType.F32);
        var inputs = OnnxGraphInputs.read(onnx);
        var expected = new ArrayList<>(List.of("input_ids", "attention_mask", "position_ids"));
        for (int l = 0; l < 2; l++) expected.addAll(List.of(OnnxExporter.pastKey(l), OnnxExporter.pastValue(l)));
        assertEquals(expected, List.copyOf(inputs.keySet()));
        var past = inputs.get(OnnxExporter.pastKey(1));
        assertEquals(OnnxGraph.FLOAT, past.elemType());
        assertEquals(List.of("batch", 2L, "past", 32L), past.dims());
        assertEquals(OnnxGraph.INT64, inputs.get("input_ids").elemType());
        ExportCache.checkPreExported(onnx, TestModels.qwen3Quirks(), dir.resolve("config.json"));
    }

    @Test
    void mismatchesNameGraphConfigAndDifference() throws Exception {
        Path onnx = exported(DType.F32);
        Path cfg = dir.resolve("config.json");
        ModelConfig base = TestModels.qwen3Quirks();
        String heads = message(onnx, TestModels.edit(base, o -> o.put("num_key_value_heads", 4)), cfg);
        assertTrue(heads.contains(onnx.toString()) && heads.contains(cfg.toString()), heads);
        assertTrue(heads.contains("has 2 KV heads, config.json implies 4"), heads);
        assertTrue(message(onnx, TestModels.edit(base, o -> o.put("head_dim", 16)), cfg).contains("has 32 head_dim, config.json implies 16"));
        assertTrue(message(onnx, TestModels.edit(base, o -> o.put("num_hidden_layers", 3)), cfg)
                .contains("no input 'past_key_values.2.key', but config.json has 3 layers"));
        assertTrue(message(onnx, TestModels.edit(base, o -> o.put("num_hidden_layers", 1)), cfg)
                .contains("unexpected input 'past_key_values.1.key' (more layers"));
    }

    @Test
    void fp16GraphIsAcceptedForTheCpuBackend() throws Exception {
        Path onnx = exported(DType.F16);
        ExportCache.checkPreExported(onnx, TestModels.qwen3Quirks(), dir.resolve("config.json"));
        assertEquals(OnnxGraph.FLOAT16, OnnxGraphInputs.read(onnx).get(OnnxExporter.pastKey(0)).elemType());
    }

    @Test
    void notAnOnnxFileIsNamed() throws Exception {
        Path bogus = dir.resolve("model.onnx");
        Files.write(bogus, new byte[]{(byte) 0xff, (byte) 0xff, (byte) 0xff});
        var e = assertThrows(java.io.IOException.class, () -> OnnxGraphInputs.read(bogus));
        assertTrue(e.getMessage().contains(bogus.toString()) && e.getMessage().contains("not a readable ONNX model"), e.getMessage());
    }

    private static String message(Path onnx, ModelConfig c, Path cfg) {
        return assertThrows(IllegalArgumentException.class, () -> ExportCache.checkPreExported(onnx, c, cfg)).getMessage();
    }
}
