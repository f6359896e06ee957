package dev.principia.benchmark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import dev.principia.backend.Batch;
import dev.principia.backend.fixedkv.FixedKvBackend;
import dev.principia.backend.tensorrt.NativeTensorRt;
import dev.principia.backend.tensorrt.TensorRtEngines;
import dev.principia.backend.tensorrt.TensorRtProbe;
import dev.principia.model.ModelConfig;
import dev.principia.model.TinyModel;
import dev.principia.model.WeightPrecision;
import dev.principia.model.onnx.OnnxExporter;

/**
 * TensorRT decode and prefill throughput through {@link FixedKvBackend} + the TensorRT decoder (no engine, no
 * sampling): the 110M shape, fp16 portable graph, random weights. Decode: n sequences with {@code bench.context}
 * cached positions each, then {@code bench.decodeTokens} steps of n tokens; prefill: {@code bench.prefillSeqs}
 * prompts of {@code bench.prompt} tokens, chunked by the planner at {@code bench.maxTokens}. Prints a markdown table.
 *
 * <p>Usage (GPU node, {@code -Pgpu} class path): {@code benchmark/gpu/run.sh}, or {@code benchmark/run.sh trt [workDir]}
 * with {@code BENCH_MVN_ARGS=-Pgpu}. Settings: {@code bench.sizes} (1,2,4,...,256), {@code bench.capacity} (1024).
 */
public final class TensorRtBenchmark {
    private TensorRtBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        TensorRtProbe.Verdict v = TensorRtProbe.probe(TensorRtProbe.Inputs.standard(List.of()));
        if (!v.usable()) throw new IllegalStateException("TensorRT cannot run here: " + v.reason());
        NativeTensorRt trt = v.runtime().orElseThrow();
        Path work = Path.of(args.length > 0 ? args[0] : Files.createTempDirectory("principia-trt").toString());
        int[] sizes = Arrays.stream(System.getProperty("bench.sizes", "1,2,4,8,16,32,64,128,256").split(",")).mapToInt(Integer::parseInt).toArray();
        int capacity = Integer.getInteger("bench.capacity", 1024), context = Integer.getInteger("bench.context", 128);
        int steps = Integer.getInteger("bench.decodeTokens", 64), maxTokens = Integer.getInteger("bench.maxTokens", 2048);
        int prefillSeqs = Integer.getInteger("bench.prefillSeqs", 32), prompt = Integer.getInteger("bench.prompt", 512);
        Path model = work.resolve("110m");
        TinyModel.Spec spec = new TinyModel.Spec("llama", 32000, 768, 2048, 12, 12, 12, 64, 1024, 10000.0, false, 1, List.of(2), 0.02);
        ModelConfig c = Files.isRegularFile(model.resolve("config.json")) ? ModelConfig.read(model) : TinyModel.generate(spec, 1, model);
        Path onnx = model.resolve("portable-fp16.onnx");
        if (!Files.isRegularFile(onnx)) {
            OnnxExporter.exportDecoder(model, onnx, new OnnxExporter.Options(false, true).withWeights(WeightPrecision.FP16)
                    .withAttention(OnnxExporter.Attention.PORTABLE));
        }
        int maxSeqs = Arrays.stream(sizes).max().orElseThrow();
        var ds = new TensorRtEngines.DecoderSpec(c.numHiddenLayers(), c.numKeyValueHeads(), c.headDim(), c.vocabSize(), maxSeqs, maxTokens, capacity, 2);
        System.out.println("## " + v.reason());
        try (FixedKvBackend backend = TensorRtEngines.openDecoder(trt, onnx, ds, work.resolve("cache"), System.err::println)) {
            System.out.printf(Locale.ROOT, "### decode, 110M fp16, context %d, %d steps%n| seqs | median step ms | tokens/s |%n|---:|---:|---:|%n", context, steps);
            for (int n : sizes) {
                List<Batch.Entry> fill = new ArrayList<>();
                for (int s = 0; s < n; s++) fill.add(new Batch.Entry(s, tokens(context, s), 0));
                backend.execute(new Batch(fill));
                long[] t = new long[steps];
                for (int k = 0; k < steps; k++) {
                    List<Batch.Entry> step = new ArrayList<>();
                    for (int s = 0; s < n; s++) step.add(new Batch.Entry(s, new int[] {3 + (k + s) % 1000}, context + k));
                    long t0 = System.nanoTime();
                    backend.execute(new Batch(step));
                    t[k] = System.nanoTime() - t0;
                }
                Arrays.sort(t);
                double med = t[steps / 2] / 1e6;
                System.out.printf(Locale.ROOT, "| %d | %.2f | %.0f |%n", n, med, n / med * 1e3);
            }
            int seqs = Math.min(prefillSeqs, maxSeqs);
            List<Batch.Entry> prompts = new ArrayList<>();
            for (int s = 0; s < seqs; s++) prompts.add(new Batch.Entry(s, tokens(prompt, s), 0));
            backend.execute(new Batch(prompts)); // warm-up (and profile switches)
            long t0 = System.nanoTime();
            int reps = 3;
            for (int r = 0; r < reps; r++) backend.execute(new Batch(prompts));
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT, "### prefill, 110M fp16%n%d prompts x %d tokens, chunks of at most %d tokens per call: %.0f tokens/s%n", seqs,
                    prompt, maxTokens, reps * (double) seqs * prompt / secs);
        }
    }

    private static int[] tokens(int n, int seed) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = 3 + (i * 7919 + seed * 104729) % 31000;
        return t;
    }
}
