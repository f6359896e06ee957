package dev.principia.model.onnx;

import dev.principia.model.DType;
import dev.principia.model.FloatSource;
import dev.principia.model.ModelConfig;
import dev.principia.model.Safetensors;
import dev.principia.model.SafetensorsWriter;
import dev.principia.model.TinyModel;
import dev.principia.model.WeightLayout;
import dev.principia.model.WeightPrecision;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Quality of each {@link WeightPrecision} against the fp32 graph on the same random weights: top-1
 * agreement and mean KL(p_fp32 || p) of next-token distributions, teacher-forced (one prefill) over
 * {@value #POSITIONS} random tokens. Prints the numbers (README quotes them).
 *
 * <p>Gains: body weights ~ N(0, 1 / hidden) (variance preserving: a unit-RMS input gives unit-RMS
 * projections, so the layers' outputs outweigh the N(0, 1/hidden) embedding in the residual and the next
 * token depends on context, checked below), lm_head 4x that, so logits have RMS ≈ 4 and the softmax is
 * peaked (mean entropy ≈ 2 nats of log(512) = 6.2, checked) like a trained LM's. At body gain 2 the model
 * turns chaotic (attention scores of RMS 4 flip with tiny q/k errors: int8 95.6 %, int4 34 % top-1,
 * fp16 99.2 %); with a head gain of 1 the softmax is near uniform (entropy 5.7) and KL says little.
 *
 * <p>Random Gaussian logits are a harsh case for top-1: the top two of 512 i.i.d. logits are close (their
 * gap is Gumbel-spaced, mean ≈ 0.3 sigma), so even fp16 flips about 1 % of positions. The test therefore
 * also reports, and bounds, agreement where fp32 is decisive (top-1 probability >= 0.5).
 */
class WeightPrecisionAgreementTest {
    private static final int POSITIONS = 384, HIDDEN = 128, VOCAB = 512;
    private static final double BODY_GAIN = 1, HEAD_GAIN = 4;
    private static final TinyModel.Spec SPEC = new TinyModel.Spec("qwen2", VOCAB, HIDDEN, 256, 2, 4, 2, 32, 512,
            10000.0, false, null, List.of(2), BODY_GAIN / Math.sqrt(HIDDEN));

    @TempDir
    static Path dir;
    static ModelConfig config;
    static int[] tokens;
    static float[][] reference;

    @BeforeAll
    static void fp32Reference() throws Exception {
        config = TinyModel.generate(SPEC, 11, dir.resolve("drawn"));
        try (Safetensors st = Safetensors.open(dir.resolve("drawn"))) {
            var w = new SafetensorsWriter();
            for (WeightLayout.Entry e : WeightLayout.of(config)) {
                FloatSource src = st.tensor(e.name());
                w.add(e.name(), DType.F32, e.shape(), e.name().equals("lm_head.weight") ? scaled(src, HEAD_GAIN) : src);
            }
            w.write(dir.resolve(Safetensors.SINGLE_FILE));
        }
        Files.copy(dir.resolve("drawn").resolve(ModelConfig.FILE_NAME), dir.resolve(ModelConfig.FILE_NAME));
        var rnd = new SplittableRandom(5);
        tokens = new int[POSITIONS];
        for (int i = 0; i < POSITIONS; i++) tokens[i] = rnd.nextInt(VOCAB);
        reference = logits(WeightPrecision.FP32);
    }

    static float[][] logits(WeightPrecision p) throws Exception {
        Path onnx = dir.resolve(p.configName() + ".onnx");
        OnnxExporter.exportDecoder(dir, onnx, OnnxExporter.Options.defaults().withWeights(p));
        try (var run = new OrtDecoderRun(onnx, config, p.defaultActivationDtype())) {
            return run.step(tokens);
        }
    }

    @Test
    void referenceIsPeakedAndDependsOnContext() {
        double entropy = 0;
        for (float[] row : reference) {
            double[] lp = logSoftmax(row);
            for (double x : lp) entropy -= Math.exp(x) * x;
        }
        entropy /= POSITIONS;
        // same input token, different contexts: the fp32 argmax must not be a function of the token alone
        Map<Integer, Set<Integer>> nextByToken = new HashMap<>();
        for (int i = 0; i < POSITIONS; i++) nextByToken.computeIfAbsent(tokens[i], k -> new HashSet<>()).add(argmax(reference[i]));
        long repeated = nextByToken.values().stream().filter(s -> s.size() > 1).count();
        System.out.printf("fp32 reference: mean entropy %.2f nats (uniform %.2f); tokens seen with >1 distinct argmax: %d%n",
                entropy, Math.log(VOCAB), repeated);
        assertTrue(entropy < Math.log(VOCAB) - 1, "reference softmax is near uniform: entropy " + entropy);
        assertTrue(repeated >= 10, "next token barely depends on context: " + repeated);
    }

    /*
     * Measured (seed 11, 384 positions, blocks of 32, MatMulNBits accuracy_level 4): fp16 98.96 % / KL 2.4e-4
     * / decisive 144/144; bf16 98.44 % / 2.5e-4 / 144/144; int8 95.05 % / 3.7e-3 / 144/144; int4 65.9 % /
     * 0.36 / 131/144. (int8 at accuracy_level 0, fp32 compute: 98.44 % / 1.5e-3, but 250x slower on CPU.)
     * Bounds leave 2-3 % (a few positions) of slack below those, and KL 2x: a 32-block int8 weight step is
     * range/255 (about 0.5 % of a Gaussian weight's sigma) and level 4 adds int8 activations; int4 (step
     * range/15, about 8 % of sigma per weight) is far from the 95 % aim on this model and is held
     * to what it measures, so a packing or scale bug (which gives ~chance, 1/512) still fails.
     */
    @Test
    void fp16() throws Exception {
        check(WeightPrecision.FP16, 0.975, 1e-3, 0.99);
    }

    @Test
    void bf16() throws Exception {
        check(WeightPrecision.BF16, 0.975, 1e-3, 0.99);
    }

    @Test
    void int8() throws Exception {
        check(WeightPrecision.INT8, 0.93, 8e-3, 0.99);
    }

    @Test
    void int4() throws Exception {
        check(WeightPrecision.INT4, 0.60, 0.75, 0.85);
    }

    private static void check(WeightPrecision p, double minTop1, double maxMeanKl, double minDecisiveTop1) throws Exception {
        float[][] out = logits(p);
        int agree = 0, decisive = 0, decisiveAgree = 0;
        double kl = 0;
        for (int i = 0; i < POSITIONS; i++) {
            boolean same = argmax(out[i]) == argmax(reference[i]);
            if (same) agree++;
            double[] lp = logSoftmax(reference[i]), lq = logSoftmax(out[i]);
            for (int v = 0; v < VOCAB; v++) kl += Math.exp(lp[v]) * (lp[v] - lq[v]);
            if (Math.exp(lp[argmax(reference[i])]) >= 0.5) {
                decisive++;
                if (same) decisiveAgree++;
            }
        }
        double top1 = (double) agree / POSITIONS, meanKl = kl / POSITIONS;
        System.out.printf("weights %s vs fp32: top-1 agreement %.2f %% (%d/%d), mean KL %.2e nats; where fp32 top-1 p >= 0.5: %d/%d%n",
                p.configName(), 100 * top1, agree, POSITIONS, meanKl, decisiveAgree, decisive);
        assertTrue(top1 >= minTop1, p + " top-1 agreement " + top1 + " < " + minTop1);
        assertTrue(meanKl <= maxMeanKl, p + " mean KL " + meanKl + " > " + maxMeanKl);
        assertTrue(decisive >= POSITIONS / 5, "too few decisive positions: " + decisive);
        assertTrue(decisiveAgree >= minDecisiveTop1 * decisive, p + " decisive agreement " + decisiveAgree + "/" + decisive);
    }

    private static FloatSource scaled(FloatSource src, double gain) {
        return new FloatSource() {
            @Override
            public long size() {
                return src.size();
            }

            @Override
            public void forEachChunk(Sink sink) throws java.io.IOException {
                src.forEachChunk((chunk, length) -> {
                    float[] out = new float[length];
                    for (int i = 0; i < length; i++) out[i] = (float) (chunk[i] * gain);
                    sink.accept(out, length);
                });
            }
        };
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    static double[] logSoftmax(float[] x) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (float v : x) max = Math.max(max, v);
        for (float v : x) sum += Math.exp(v - max);
        double lse = max + Math.log(sum);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i] - lse;
        return out;
    }
}
