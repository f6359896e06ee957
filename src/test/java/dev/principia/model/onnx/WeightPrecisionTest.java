package dev.principia.model.onnx;

import dev.principia.model.DType;
import dev.principia.model.ModelConfig;
import dev.principia.model.TinyModel;
import dev.principia.model.WeightLayout;
import dev.principia.model.WeightPrecision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link WeightPrecision}'s parsing and auto rule, {@code weightBytes} against real exports, and the exporter's options. */
class WeightPrecisionTest {
    @TempDir
    Path dir;

    @Test
    void parsesConfigValuesAndResolvesAuto() {
        for (WeightPrecision p : WeightPrecision.values()) assertEquals(p, WeightPrecision.parse(p.configName()));
        assertEquals(WeightPrecision.INT4, WeightPrecision.parse(" INT4 "));
        assertThrows(IllegalArgumentException.class, () -> WeightPrecision.parse("auto"));
        assertThrows(IllegalArgumentException.class, () -> WeightPrecision.parse("q4_k"));
        assertEquals(WeightPrecision.FP32, WeightPrecision.resolve("auto", 1_000_000_000L));
        assertEquals(WeightPrecision.INT8, WeightPrecision.resolve("auto", 1_000_000_001L));
        assertEquals(WeightPrecision.FP16, WeightPrecision.resolve("fp16", 7_000_000_000L));
    }

    @Test
    void optionsValidateAndKeepOldMeanings() {
        var old = new OnnxExporter.Options(true, true, DType.F16);
        assertEquals(WeightPrecision.FP16, old.weights());
        assertEquals(OnnxExporter.DEFAULT_BLOCK_SIZE, old.blockSize());
        assertEquals(WeightPrecision.FP32, OnnxExporter.Options.defaults().weights());
        assertEquals(DType.F32, OnnxExporter.Options.defaults().withWeights(WeightPrecision.BF16).dtype());
        assertEquals(DType.F16, OnnxExporter.Options.defaults().withWeights(WeightPrecision.FP16).dtype());
        assertEquals(128, OnnxExporter.Options.defaults().withWeights(WeightPrecision.INT4).withBlockSize(128).blockSize());
        new OnnxExporter.Options(false, false, DType.F16, WeightPrecision.INT8, 32); // fp16 activations and scales
        assertThrows(IllegalArgumentException.class, () -> new OnnxExporter.Options(false, false, DType.F32, WeightPrecision.INT4, 64));
        assertThrows(IllegalArgumentException.class, () -> new OnnxExporter.Options(false, false, DType.F16, WeightPrecision.BF16, 32));
        assertThrows(IllegalArgumentException.class, () -> new OnnxExporter.Options(false, false, DType.F32, WeightPrecision.FP16, 32));
        assertThrows(IllegalArgumentException.class, () -> new OnnxExporter.Options(false, false, DType.BF16, WeightPrecision.BF16, 32));
    }

    /**
     * Inline: the .onnx file is the weights plus graph framing (nodes, names, small constants: well
     * under 1 % at this size). External data: the .data file is the weights plus alignment padding.
     */
    @ParameterizedTest
    @CsvSource({"fp32, false", "fp16, false", "bf16, false", "int8, false", "int4, false", "int4, true", "int8, true"})
    void weightBytesMatchesTheExport(String precision, boolean tied) throws Exception {
        WeightPrecision p = WeightPrecision.parse(precision);
        // qwen2 has q/k/v biases; tied heads of quantized models get their own 8-bit copy
        var spec = new TinyModel.Spec(tied ? "qwen3" : "qwen2", 4096, 256, 512, 2, 8, 4, 32, 256, 10000.0, tied, null, List.of(2), 0.05);
        ModelConfig c = TinyModel.generate(spec, 3, dir);
        long expected = p.weightBytes(c, 32);
        Path onnx = dir.resolve("inline.onnx");
        OnnxExporter.exportDecoder(dir, onnx, OnnxExporter.Options.defaults().withWeights(p));
        long file = Files.size(onnx);
        assertTrue(file >= expected && file <= expected * 1.01, p + ": weightBytes " + expected + ", export " + file);

        Path ext = dir.resolve("ext.onnx");
        OnnxExporter.exportDecoder(dir, ext, new OnnxExporter.Options(true, false).withWeights(p));
        long data = Files.size(dir.resolve("ext.onnx.data"));
        long maxPadding = 4096L * (WeightLayout.of(c).size() * 3 + 2);
        assertTrue(data >= expected - 4096 && data <= expected + maxPadding, p + ": weightBytes " + expected + ", data file " + data);
    }

    @Test
    void blockSizeChangesQuantizedBytesOnly() {
        ModelConfig c = TestModelsShapes.qwen2_7b();
        assertEquals(WeightPrecision.FP32.weightBytes(c, 32), WeightPrecision.FP32.weightBytes(c, 128));
        assertTrue(WeightPrecision.INT4.weightBytes(c, 128) < WeightPrecision.INT4.weightBytes(c, 32));
        // 7.6 B parameters: int4 with blocks of 32 (fp16 embedding, int8 head) lands near 5.5 GB, fp32 near 30 GB
        long int4 = WeightPrecision.INT4.weightBytes(c, 32), fp32 = WeightPrecision.FP32.weightBytes(c, 32);
        assertTrue(int4 > 4.5e9 && int4 < 6.5e9, "int4 " + int4);
        assertTrue(fp32 > 29e9 && fp32 < 32e9, "fp32 " + fp32);
    }

    /** Real shapes, config only. */
    static final class TestModelsShapes {
        static ModelConfig qwen2_7b() {
            return dev.principia.model.TestModels.config("""
                    {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 152064, "hidden_size": 3584,
                     "intermediate_size": 18944, "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4,
                     "max_position_embeddings": 32768, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "tie_word_embeddings": false,
                     "eos_token_id": 151643}
                    """);
        }
    }
}
