package dev.principia.backend.onnx;

import dev.principia.model.DType;
import dev.principia.model.ModelConfig;
import dev.principia.model.ReferenceDecoder;
import dev.principia.model.TestModels;
import dev.principia.model.onnx.OnnxExporter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sequence-classification exports of every family (quirks on), fp32 and fp16, scored in one padded
 * batch of different lengths against the float64 reference on each unpadded sequence. Relative error =
 * max|ort - ref| / max|ref| over a row's logits (over all rows for one label); bounds 1e-4 / 2e-2.
 */
class OnnxClassifierTest {
    private static final int[] LONG = {5, 17, 300, 42, 7, 511, 0, 99, 256, 3, 128, 64, 1, 2, 450};
    private static final List<int[]> BATCH = List.of(Arrays.copyOf(LONG, 3), LONG, Arrays.copyOf(LONG, 8), new int[]{77},
            Arrays.copyOfRange(LONG, 4, 13));
    @TempDir
    Path dir;

    static Stream<Arguments> families() {
        return Stream.of(DType.F32, DType.F16).flatMap(dt -> Stream.of(
                Arguments.of("llama", TestModels.classifier(TestModels.llamaQuirks(), 1), dt),
                Arguments.of("qwen2", TestModels.classifier(TestModels.qwen2Quirks(), 3), dt),
                Arguments.of("qwen3", TestModels.classifier(TestModels.qwen3Quirks(), 1), dt),
                Arguments.of("gemma2", TestModels.classifier(TestModels.gemma2Quirks(), 2), dt)));
    }

    private Path export(ModelConfig config, DType dtype) throws Exception {
        TestModels.generate(config, 5, dir);
        Path onnx = dir.resolve("classifier.onnx");
        OnnxExporter.exportClassifier(dir, onnx, OnnxExporter.Options.defaults().withDtype(dtype), OnnxExporter.Progress.NONE);
        return onnx;
    }

    @ParameterizedTest(name = "{0} {2}")
    @MethodSource("families")
    void paddedBatchMatchesReference(String family, ModelConfig config, DType dtype) throws Exception {
        Path onnx = export(config, dtype);
        ReferenceDecoder ref = new ReferenceDecoder(dir);
        float[][] got;
        try (var classifier = new OnnxClassifier(onnx, config, new OnnxClassifier.Options(1, 4))) {
            got = classifier.logits(BATCH);
        }
        double[] expected = new double[BATCH.size() * config.numLabels()];
        float[] flat = new float[expected.length];
        for (int i = 0; i < BATCH.size(); i++) {
            System.arraycopy(ref.classify(BATCH.get(i)), 0, expected, i * config.numLabels(), config.numLabels());
            System.arraycopy(got[i], 0, flat, i * config.numLabels(), config.numLabels());
        }
        double err = ReferenceDecoder.relativeError(flat, expected);
        System.out.printf("classifier %s %s (%d labels): max relative error %.2e%n", family, dtype, config.numLabels(), err);
        assertTrue(err <= (dtype == DType.F16 ? 2e-2 : 1e-4), family + " " + dtype + ": " + err);
    }

    @Test
    void scoreGivesOneLogitPerSequence() throws Exception {
        ModelConfig config = TestModels.classifier(TestModels.gemma2Quirks(), 1);
        Path onnx = export(config, DType.F32);
        ReferenceDecoder ref = new ReferenceDecoder(dir);
        try (var classifier = new OnnxClassifier(onnx, config, new OnnxClassifier.Options(0, 2))) {
            float[] scores = classifier.score(BATCH);
            assertEquals(BATCH.size(), scores.length);
            for (int i = 0; i < scores.length; i++) assertEquals(ref.classify(BATCH.get(i))[0], scores[i], 1e-4);
            var e = assertThrows(IllegalArgumentException.class, () -> classifier.score(List.of(new int[]{1}, new int[0])));
            assertTrue(e.getMessage().contains("sequence 1"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> classifier.score(List.of(new int[]{config.vocabSize()})));
        }
    }

    @Test
    void scoreNeedsASingleLabelAndDecoderExportNeedsACausalLm() throws Exception {
        ModelConfig config = TestModels.classifier(TestModels.qwen3Quirks(), 3);
        Path onnx = export(config, DType.F32);
        try (var classifier = new OnnxClassifier(onnx, config, new OnnxClassifier.Options(1, 8))) {
            assertThrows(IllegalStateException.class, () -> classifier.score(BATCH));
        }
        var e = assertThrows(IllegalArgumentException.class, () -> OnnxExporter.exportDecoder(dir, dir.resolve("d.onnx")));
        assertTrue(e.getMessage().contains("exportClassifier"), e.getMessage());
    }
}
