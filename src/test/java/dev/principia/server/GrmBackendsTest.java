package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;

import org.junit.jupiter.api.Test;

import dev.principia.model.ModelConfig;
import dev.principia.model.TestModels;
import dev.principia.model.WeightPrecision;
import dev.principia.model.onnx.OnnxExporter;

/** principia.backend.attention resolved: portable only when asked for, from weights, dense; auto never picks it. */
class GrmBackendsTest {
    private static final ModelConfig C = TestModels.llama().toConfig();
    private static final OnnxExporter.Options FP32 = new OnnxExporter.Options(false, true);

    @Test
    void portableIsChosenOnlyWhenConfigured() {
        var log = new ArrayList<String>();
        assertEquals(OnnxExporter.Attention.PORTABLE, GrmBackends.attention("Portable ", FP32, C, false, true, log::add));
        assertEquals(OnnxExporter.Attention.PORTABLE, GrmBackends.attention("portable", FP32, C, true, true, log::add),
                "exported from the weights beside a pre-exported graph");
        assertEquals(OnnxExporter.Attention.GQA, GrmBackends.attention("auto", FP32, C, false, true, log::add));
        assertEquals(OnnxExporter.Attention.PLAIN, GrmBackends.attention("auto", FP32, C, true, true, log::add));
    }

    @Test
    void portableIsRefusedForQuantizedWeightsAndWithoutWeights() {
        var int8 = FP32.withWeights(WeightPrecision.INT8);
        var quantized = assertThrows(IllegalArgumentException.class, () -> GrmBackends.attention("portable", int8, C, false, true, s -> { }));
        assertTrue(quantized.getMessage().contains("principia.backend.weights"), quantized.getMessage());
        var noWeights = assertThrows(IllegalArgumentException.class, () -> GrmBackends.attention("portable", FP32, C, true, false, s -> { }));
        assertTrue(noWeights.getMessage().contains("no safetensors weights"), noWeights.getMessage());
        var unknown = assertThrows(IllegalArgumentException.class, () -> GrmBackends.attention("fast", FP32, C, false, true, s -> { }));
        assertTrue(unknown.getMessage().contains("auto, plain, gqa, portable"), unknown.getMessage());
    }
}
