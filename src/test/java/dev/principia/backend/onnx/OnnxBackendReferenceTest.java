package dev.principia.backend.onnx;

import dev.principia.backend.Batch;
import dev.principia.model.ModelConfig;
import dev.principia.model.ReferenceDecoder;
import dev.principia.model.TestModels;
import dev.principia.model.TinyModel;
import dev.principia.model.onnx.OnnxExporter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ONNX Runtime through the backend's KV slots vs the float64 reference forward (full recompute):
 * two prefill chunks, then decode steps. Relative error = max|ort - ref| / max|ref| over the logits
 * of the step's last position; bound 1e-4.
 */
class OnnxBackendReferenceTest {
    private static final int[] SEQUENCE = {5, 17, 300, 42, 7, 511, 0, 99, 256, 3, 128, 64, 1, 2, 450};
    private static final int FIRST_CHUNK = 6, SECOND_CHUNK = 4;
    @TempDir
    Path dir;

    @Test
    void llama() throws Exception {
        assertMatchesReference(TestModels.llama());
    }

    @Test
    void qwen2() throws Exception {
        assertMatchesReference(TestModels.qwen2());
    }

    @Test
    void qwen3() throws Exception {
        assertMatchesReference(TestModels.qwen3());
    }

    @Test
    void gemma2WithSlidingWindowAndSoftcaps() throws Exception {
        assertMatchesReference(TestModels.gemma2Quirks(), "gemma2");
    }

    @Test
    void llamaWithLlama3Rope() throws Exception {
        assertMatchesReference(TestModels.llamaQuirks(), "llama-rope-llama3");
    }

    /** Left-padded batched decode keeps the sliding window right: pads shift query and keys alike. */
    @Test
    void gemma2BatchedDecodeOfDifferentPastLengthsMatchesReference() throws Exception {
        ModelConfig config = TestModels.gemma2Quirks();
        TestModels.generate(config, 22, dir);
        Path onnx = dir.resolve("model.onnx");
        OnnxExporter.exportDecoder(dir, onnx);
        ReferenceDecoder ref = new ReferenceDecoder(dir);
        int[] lengths = {2, 11, 6};
        double worst = 0;
        try (var backend = new OnnxBackend(onnx, config, new OnnxBackend.Options(1, 3, 64))) {
            var entries = new java.util.ArrayList<Batch.Entry>();
            for (int s = 0; s < lengths.length; s++) {
                backend.execute(new Batch(List.of(new Batch.Entry(s, Arrays.copyOfRange(SEQUENCE, s, s + lengths[s]), 0))));
                entries.add(new Batch.Entry(s, new int[]{SEQUENCE[s + lengths[s]]}, lengths[s]));
            }
            float[][] got = backend.execute(new Batch(entries)).logits();
            for (int s = 0; s < lengths.length; s++) {
                double[][] expected = ref.forward(Arrays.copyOfRange(SEQUENCE, s, s + lengths[s] + 1));
                worst = Math.max(worst, ReferenceDecoder.relativeError(got[s], expected[lengths[s]]));
            }
        }
        assertTrue(worst <= 1e-4, "gemma2 batched decode: " + worst);
    }

    private void assertMatchesReference(TinyModel.Spec spec) throws Exception {
        assertMatchesReference(spec.toConfig(), spec.modelType());
    }

    private void assertMatchesReference(ModelConfig config, String name) throws Exception {
        TestModels.generate(config, 21, dir);
        Path onnx = dir.resolve("model.onnx");
        OnnxExporter.exportDecoder(dir, onnx);
        ReferenceDecoder ref = new ReferenceDecoder(dir);
        double worst = 0;
        try (var backend = new OnnxBackend(onnx, config, new OnnxBackend.Options(1, 2, 64))) {
            int pos = 0;
            for (int n : new int[]{FIRST_CHUNK, SECOND_CHUNK}) {
                int[] chunk = Arrays.copyOfRange(SEQUENCE, pos, pos + n);
                worst = Math.max(worst, compare(backend, ref, chunk, pos));
                pos += n;
            }
            for (; pos < SEQUENCE.length; pos++) worst = Math.max(worst, compare(backend, ref, new int[]{SEQUENCE[pos]}, pos));
        }
        System.out.printf("%s backend prefill+decode: max relative error %.2e%n", name, worst);
        assertTrue(worst <= 1e-4, name + ": relative error " + worst);
    }

    private static double compare(OnnxBackend backend, ReferenceDecoder ref, int[] chunk, int start) {
        float[] got = backend.execute(new Batch(List.of(new Batch.Entry(0, chunk, start)))).logits()[0];
        double[][] expected = ref.forward(Arrays.copyOf(SEQUENCE, start + chunk.length));
        return ReferenceDecoder.relativeError(got, expected[start + chunk.length - 1]);
    }
}
