package dev.principia.model.onnx;

import dev.principia.model.DType;
import dev.principia.model.ModelConfig;
import dev.principia.model.ReferenceDecoder;
import dev.principia.model.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each family with its quirks on (llama3 RoPE; Qwen2 biases + linear RoPE; Qwen3 q/k norm, tied;
 * Gemma2 soft-caps, sliding window, GeGLU, (1 + w) sandwich norms, query_pre_attn_scalar), exported in
 * fp32 and fp16 and run by ONNX Runtime against the float64 reference: a 6-token prefill (every
 * position), a 4-token chunk on the cache, then 5 single-token decode steps. Relative error =
 * max|ort - ref| / max|ref| over one position's logits; bounds 1e-4 (fp32) and 2e-2 (fp16).
 */
class ArchitectureParityTest {
    static final int[] SEQUENCE = {5, 17, 300, 42, 7, 511, 0, 99, 256, 3, 128, 64, 1, 2, 450};
    @TempDir
    Path dir;

    static Stream<Arguments> families() {
        return Stream.of(DType.F32, DType.F16).flatMap(dt -> Stream.of(
                Arguments.of("llama", TestModels.llamaQuirks(), dt),
                Arguments.of("qwen2", TestModels.qwen2Quirks(), dt),
                Arguments.of("qwen3", TestModels.qwen3Quirks(), dt),
                Arguments.of("gemma2", TestModels.gemma2Quirks(), dt)));
    }

    static double bound(DType dtype) {
        return dtype == DType.F16 ? 2e-2 : 1e-4;
    }

    @ParameterizedTest(name = "{0} {2}")
    @MethodSource("families")
    void prefillAndDecodeMatchReference(String family, ModelConfig config, DType dtype) throws Exception {
        TestModels.generate(config, 21, dir);
        Path onnx = dir.resolve("model.onnx");
        OnnxExporter.exportDecoder(dir, onnx, OnnxExporter.Options.defaults().withDtype(dtype));
        double[][] ref = new ReferenceDecoder(dir).forward(SEQUENCE);
        double worstPrefill = 0, worstDecode = 0;
        try (var run = new OrtDecoderRun(onnx, config, dtype)) {
            int pos = 0;
            for (int n : new int[]{6, 4}) {
                float[][] got = run.step(Arrays.copyOfRange(SEQUENCE, pos, pos + n));
                for (int i = 0; i < n; i++) worstPrefill = Math.max(worstPrefill, ReferenceDecoder.relativeError(got[i], ref[pos + i]));
                pos += n;
            }
            for (; pos < SEQUENCE.length; pos++) {
                float[] got = run.step(new int[]{SEQUENCE[pos]})[0];
                worstDecode = Math.max(worstDecode, ReferenceDecoder.relativeError(got, ref[pos]));
            }
        }
        System.out.printf("parity %s %s: prefill %.2e, decode %.2e%n", family, dtype, worstPrefill, worstDecode);
        assertTrue(worstPrefill <= bound(dtype), family + " " + dtype + " prefill: " + worstPrefill);
        assertTrue(worstDecode <= bound(dtype), family + " " + dtype + " decode: " + worstDecode);
    }

    /** The quirks are live at the tested sizes: switching each off moves the reference logits well past the fp16 bound. */
    @Test
    void quirksChangeTheOutput() throws Exception {
        ModelConfig gemma = TestModels.gemma2Quirks();
        TestModels.generate(gemma, 21, dir);
        double[] base = last(new ReferenceDecoder(dir));
        assertMoves(base, TestModels.edit(gemma, o -> o.putNull("sliding_window")), "sliding window");
        assertMoves(base, TestModels.edit(gemma, o -> o.putNull("attn_logit_softcapping")), "attention soft-cap");
        assertMoves(base, TestModels.edit(gemma, o -> o.putNull("final_logit_softcapping")), "final soft-cap");
        assertMoves(base, TestModels.edit(gemma, o -> o.put("query_pre_attn_scalar", 32)), "query_pre_attn_scalar");
        Path llamaDir = dir.resolve("llama");
        ModelConfig llama = TestModels.llamaQuirks();
        TestModels.generate(llama, 21, llamaDir);
        double[] llamaBase = last(new ReferenceDecoder(llamaDir));
        double[] unscaled = last(new ReferenceDecoder(llamaDir, TestModels.edit(llama, o -> o.putNull("rope_scaling"))));
        assertTrue(relDiff(llamaBase, unscaled) > 2e-2, "llama3 rope scaling: " + relDiff(llamaBase, unscaled));
    }

    private void assertMoves(double[] base, ModelConfig changed, String what) throws Exception {
        double diff = relDiff(base, last(new ReferenceDecoder(dir, changed)));
        assertTrue(diff > 2e-2, what + " changes the logits by only " + diff);
    }

    private static double[] last(ReferenceDecoder ref) {
        double[][] all = ref.forward(SEQUENCE);
        return all[all.length - 1];
    }

    private static double relDiff(double[] a, double[] b) {
        float[] af = new float[a.length];
        for (int i = 0; i < a.length; i++) af[i] = (float) a[i];
        return ReferenceDecoder.relativeError(af, b);
    }
}
