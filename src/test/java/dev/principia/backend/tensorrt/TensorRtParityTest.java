package dev.principia.backend.tensorrt;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.principia.backend.Batch;
import dev.principia.backend.ClassifierBackend;
import dev.principia.backend.fixedkv.FixedKvBackend;
import dev.principia.backend.onnx.OnnxClassifier;
import dev.principia.model.ModelConfig;
import dev.principia.model.TestModels;
import dev.principia.model.TinyModel;
import dev.principia.model.WeightPrecision;
import dev.principia.model.onnx.OnnxExporter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * TensorRT against ONNX Runtime on the same fp16 portable graph (the 110M shape, random weights) and the same fp16
 * classifier graph. Runs only on a GPU node ({@code -Pgpu}, NVIDIA driver): {@code benchmark/gpu/run.sh}.
 */
@Tag("gpu")
class TensorRtParityTest {
    /** llama2.c 110M: hidden 768, 12 layers, 12/12 heads, head dim 64, vocab 32000. */
    static final TinyModel.Spec M110 = new TinyModel.Spec("llama", 32000, 768, 2048, 12, 12, 12, 64, 1024, 10000.0, false, 1, List.of(2), 0.02);
    static final int CAPACITY = 256, PROMPT = 16, STEPS = 64;
    static NativeTensorRt trt;

    @TempDir
    static Path dir;

    @BeforeAll
    static void probe() {
        TensorRtProbe.Verdict v = TensorRtProbe.probe(TensorRtProbe.Inputs.standard(List.of()));
        assumeTrue(v.usable(), v.reason());
        trt = v.runtime().orElseThrow();
    }

    static OnnxExporter.Options portableFp16() {
        return new OnnxExporter.Options(false, true).withWeights(WeightPrecision.FP16).withAttention(OnnxExporter.Attention.PORTABLE);
    }

    /** One B = 1 sequence through the portable graph on ONNX Runtime: present fed back as past (fp16 bits kept as shorts). */
    static final class OrtPortable implements AutoCloseable {
        final OrtEnvironment env = OrtEnvironment.getEnvironment();
        final OrtSession session;
        final ModelConfig c;
        final short[][] cache;

        OrtPortable(Path onnx, ModelConfig c) throws OrtException {
            this.session = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
            this.c = c;
            cache = new short[2 * c.numHiddenLayers()][c.numKeyValueHeads() * CAPACITY * c.headDim()];
        }

        float[] step(long[] ids, int start) throws OrtException {
            long[] pos = new long[ids.length];
            for (int j = 0; j < ids.length; j++) pos[j] = start + j;
            Map<String, OnnxTensor> in = new HashMap<>();
            long[] kvShape = {1, c.numKeyValueHeads(), CAPACITY, c.headDim()};
            try {
                in.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {1, ids.length}));
                in.put("position_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(pos), new long[] {1, ids.length}));
                for (int i = 0; i < c.numHiddenLayers(); i++) {
                    in.put(OnnxExporter.pastKey(i), OnnxTensor.createTensor(env, ShortBuffer.wrap(cache[2 * i]), kvShape, ai.onnxruntime.OnnxJavaType.FLOAT16));
                    in.put(OnnxExporter.pastValue(i), OnnxTensor.createTensor(env, ShortBuffer.wrap(cache[2 * i + 1]), kvShape, ai.onnxruntime.OnnxJavaType.FLOAT16));
                }
                try (OrtSession.Result r = session.run(in)) {
                    for (int i = 0; i < c.numHiddenLayers(); i++) {
                        ((OnnxTensor) r.get(OnnxExporter.presentKey(i)).orElseThrow()).getShortBuffer().get(cache[2 * i]);
                        ((OnnxTensor) r.get(OnnxExporter.presentValue(i)).orElseThrow()).getShortBuffer().get(cache[2 * i + 1]);
                    }
                    float[] logits = new float[c.vocabSize()];
                    ((OnnxTensor) r.get("logits").orElseThrow()).getFloatBuffer().get(logits);
                    return logits;
                }
            } finally {
                for (OnnxTensor t : in.values()) t.close();
            }
        }

        @Override
        public void close() throws OrtException {
            session.close();
        }
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    /** Largest |a - b| relative to the largest |b| (fp16 activations: about 1e-2 expected). */
    static double relativeError(float[] a, float[] b) {
        double diff = 0, scale = 1e-6;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return diff / scale;
    }

    @Test
    void decoderMatchesOnnxRuntimeAndGreedyTokensAgreeFor64Steps() throws Exception {
        Path model = dir.resolve("110m");
        ModelConfig c = TinyModel.generate(M110, 1, model);
        Path onnx = model.resolve("portable-fp16.onnx");
        OnnxExporter.exportDecoder(model, onnx, portableFp16());
        var spec = new TensorRtEngines.DecoderSpec(c.numHiddenLayers(), c.numKeyValueHeads(), c.headDim(), c.vocabSize(), 8, 64, CAPACITY, 2);
        long[] prompt = new Random(3).longs(PROMPT, 3, c.vocabSize()).toArray();
        try (FixedKvBackend gpu = TensorRtEngines.openDecoder(trt, onnx, spec, dir.resolve("cache"), System.out::println);
             OrtPortable cpu = new OrtPortable(onnx, c)) {
            float[] ref = cpu.step(prompt, 0);
            float[] got = gpu.execute(new Batch(List.of(new Batch.Entry(3, java.util.Arrays.stream(prompt).mapToInt(x -> (int) x).toArray(), 0))))
                    .logits()[0];
            assertTrue(relativeError(got, ref) < 0.03, "prefill logits: relative error " + relativeError(got, ref));
            int tokenCpu = argmax(ref), tokenGpu = argmax(got), first = tokenGpu;
            float[] firstStep = null;
            for (int s = 0; s < STEPS; s++) {
                assertEquals(tokenCpu, tokenGpu, "greedy token " + s);
                ref = cpu.step(new long[] {tokenCpu}, PROMPT + s);
                got = gpu.execute(new Batch(List.of(new Batch.Entry(3, new int[] {tokenGpu}, PROMPT + s)))).logits()[0];
                if (s == 0) firstStep = got;
                assertTrue(relativeError(got, ref) < 0.03, "step " + s + " logits: relative error " + relativeError(got, ref));
                tokenCpu = argmax(ref);
                tokenGpu = argmax(got);
            }
            // forking is a device-to-device copy: slot 5 continues from slot 3's prompt like slot 3 did
            gpu.copyKv(3, 5, PROMPT);
            float[] forked = gpu.execute(new Batch(List.of(new Batch.Entry(5, new int[] {first}, PROMPT)))).logits()[0];
            assertTrue(relativeError(forked, firstStep) < 1e-3, "forked slot: relative error " + relativeError(forked, firstStep));
        }
    }

    @Test
    void classifierMatchesOnnxRuntime() throws Exception {
        Path model = dir.resolve("classifier");
        ModelConfig c = TestModels.generate(TestModels.classifier(TestModels.llamaQuirks(), 1), 5, model);
        Path onnx = model.resolve("classifier-fp16.onnx");
        OnnxExporter.exportClassifier(model, onnx, new OnnxExporter.Options(false, false).withWeights(WeightPrecision.FP16).forClassifier(), OnnxExporter.Progress.NONE);
        Random rnd = new Random(9);
        List<int[]> seqs = List.of(rnd.ints(5, 3, c.vocabSize()).toArray(), rnd.ints(40, 3, c.vocabSize()).toArray(), rnd.ints(1, 3, c.vocabSize()).toArray());
        try (ClassifierBackend gpu = TensorRtEngines.openClassifier(trt, onnx, 1, 64, 4, 128, dir.resolve("cache"), System.out::println);
             OnnxClassifier cpu = new OnnxClassifier(onnx, c, new OnnxClassifier.Options(0, 4))) {
            float[][] got = gpu.logits(seqs), ref = cpu.logits(seqs);
            for (int i = 0; i < seqs.size(); i++) {
                assertEquals(ref[i][0], got[i][0], 0.02 + 0.02 * Math.abs(ref[i][0]), "sequence " + i);
            }
        }
    }
}
