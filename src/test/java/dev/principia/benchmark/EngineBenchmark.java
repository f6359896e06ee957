package dev.principia.benchmark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import dev.principia.backend.onnx.OnnxBackend;
import dev.principia.engine.Engine;
import dev.principia.engine.EngineConfig;
import dev.principia.engine.EngineListener;
import dev.principia.engine.GenerationHandle;
import dev.principia.engine.GenerationRequest;
import dev.principia.engine.SamplingParams;
import dev.principia.engine.SequenceSpec;
import dev.principia.model.ModelConfig;
import dev.principia.model.TinyModel;
import dev.principia.model.onnx.OnnxExporter;

/**
 * Engine throughput on bench-size random models, run by ONNX Runtime on this machine's CPU.
 * Prints a Markdown table: decode tokens/s at 1..32 concurrent sequences, the share of step time spent
 * outside {@code Backend.execute}, and the prompt tokens a k = 8 single-response request computes.
 *
 * <p>Usage: {@code benchmark/run.sh engine [stories15m|110m|tiny-qwen3 ...]}
 */
public final class EngineBenchmark {

    record Shape(String name, TinyModel.Spec spec) {
    }

    static Shape shape(String name) {
        return switch (name) {
            case "stories15m" -> new Shape(name, new TinyModel.Spec("llama", 32000, 288, 768, 6, 6, 6, 48, 1024, 10000.0, false,
                    1, List.of(2), 0.02));
            case "110m" -> new Shape(name, new TinyModel.Spec("llama", 32000, 768, 2048, 12, 12, 12, 64, 1024, 10000.0, false,
                    1, List.of(2), 0.02));
            case "110m-kv4" -> new Shape(name, new TinyModel.Spec("llama", 32000, 768, 2048, 12, 12, 4, 64, 1024, 10000.0, false,
                    1, List.of(2), 0.02));
            case "tinyllama-1.1b" -> new Shape(name, new TinyModel.Spec("llama", 32000, 2048, 5632, 22, 32, 4, 64, 2048, 10000.0, false,
                    1, List.of(2), 0.02));
            case "tiny-qwen3" -> new Shape(name, TinyModel.Spec.defaultQwen3Tiny());
            default -> throw new IllegalArgumentException("unknown shape " + name + " (stories15m, 110m, 110m-kv4, tinyllama-1.1b, tiny-qwen3)");
        };
    }

    public static void main(String[] args) throws Exception {
        List<String> shapes = args.length == 0 ? List.of("stories15m", "110m") : List.of(args);
        int threads = Integer.getInteger("bench.threads", Runtime.getRuntime().availableProcessors());
        int decodeTokens = Integer.getInteger("bench.decodeTokens", 64);
        Path work = Files.createTempDirectory("principia-bench");
        System.out.printf(Locale.ROOT, "machine: %d cores, %s %s, ONNX Runtime intra-op threads %d, temperature %s%n%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.arch"), System.getProperty("java.vm.version"), threads,
                TEMPERATURE == 0 ? "0 (greedy)" : TEMPERATURE);
        for (String name : shapes) {
            Shape shape = shape(name);
            Path dir = work.resolve(name);
            long t0 = System.nanoTime();
            TinyModel.generate(shape.spec(), 1, dir);
            Path onnx = dir.resolve("model.onnx");
            OnnxExporter.exportDecoder(dir, onnx, dev.principia.model.ExportCache.SERVING);
            ModelConfig config = shape.spec().toConfig();
            System.out.printf(Locale.ROOT, "## %s: hidden %d, %d layers, %d heads (%d kv), vocab %d; generated+exported in %.1f s%n%n",
                    name, config.hiddenSize(), config.numHiddenLayers(), config.numAttentionHeads(), config.numKeyValueHeads(),
                    config.vocabSize(), (System.nanoTime() - t0) / 1e9);
            System.out.println("| concurrent sequences | decode tokens/s | x single | mean step ms | outside execute % |");
            System.out.println("|---:|---:|---:|---:|---:|");
            double single = 0;
            for (int n : new int[] {1, 2, 4, 8, 16, 32}) {
                Result r = decode(onnx, config, threads, n, decodeTokens);
                if (n == 1) single = r.tokensPerSecond;
                System.out.printf(Locale.ROOT, "| %d | %.1f | %.2f | %.2f | %.1f |%n", n, r.tokensPerSecond, r.tokensPerSecond / single,
                        r.meanStepMillis, 100 * r.outsideExecuteShare);
            }
            System.out.println();
            forking(onnx, config, threads);
            System.out.println();
        }
    }

    record Result(double tokensPerSecond, double meanStepMillis, double outsideExecuteShare) {
    }

    /** n sequences with 16-token prompts, each generating {@code tokens}; measures steps whose batch is all decodes. */
    static Result decode(Path onnx, ModelConfig config, int threads, int n, int tokens) throws Exception {
        AtomicLong decodeTokens = new AtomicLong();
        AtomicLong stepNanos = new AtomicLong();
        AtomicLong executeNanos = new AtomicLong();
        AtomicLong steps = new AtomicLong();
        EngineListener listener = (numSequences, numTokens, step, execute) -> {
            if (numSequences == n && numTokens == n) { // steady state: every sequence decoding
                decodeTokens.addAndGet(numTokens);
                stepNanos.addAndGet(step);
                executeNanos.addAndGet(execute);
                steps.incrementAndGet();
            }
        };
        try (OnnxBackend backend = new OnnxBackend(onnx, config, new OnnxBackend.Options(threads, 64, 1024));
             Engine engine = new Engine("bench", backend, new EngineConfig(64, 4096, 1 << 20, 1024, 1024), listener)) {
            run(engine, n, 4, 1); // warm-up
            decodeTokens.set(0);
            stepNanos.set(0);
            executeNanos.set(0);
            steps.set(0);
            run(engine, n, tokens, 2);
        }
        double seconds = stepNanos.get() / 1e9;
        return new Result(decodeTokens.get() / seconds, stepNanos.get() / 1e6 / Math.max(1, steps.get()),
                1.0 - (double) executeNanos.get() / stepNanos.get());
    }

    private static void run(Engine engine, int n, int tokens, long seed) throws Exception {
        List<GenerationHandle> handles = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            handles.add(engine.submit(new GenerationRequest("b" + i, List.of(new SequenceSpec(prompt(seed * 1000 + i, 16),
                    params(tokens, seed * 1000 + i), null)), 0, Long.MAX_VALUE)));
        }
        for (GenerationHandle h : handles) h.result().get(30, TimeUnit.MINUTES);
    }

    private static final float TEMPERATURE = Float.parseFloat(System.getProperty("bench.temperature", "0"));

    /** Greedy by default; {@code -Dbench.temperature=0.5} measures sampling as GRM requests with k > 1 use it. */
    private static SamplingParams params(int tokens, long seed) {
        return new SamplingParams(TEMPERATURE, 0, 1f, seed, tokens, new int[0]);
    }

    /** A k = 8 request over one prompt: prefill is computed once and forked to the other samples. */
    static void forking(Path onnx, ModelConfig config, int threads) throws Exception {
        int promptLength = 400;
        try (OnnxBackend backend = new OnnxBackend(onnx, config, new OnnxBackend.Options(threads, 64, 1024));
             Engine engine = new Engine("bench", backend, new EngineConfig(64, 512, 1 << 20, 1024, 1024), null)) {
            List<SequenceSpec> specs = new ArrayList<>();
            int[] p = prompt(99, promptLength);
            for (int s = 0; s < 8; s++) specs.add(new SequenceSpec(p, new SamplingParams(0.5f, 0, 1f, s + 1, 8, new int[0]), null));
            long t0 = System.nanoTime();
            engine.submit(new GenerationRequest("k8", specs, 0, Long.MAX_VALUE)).result().get(30, TimeUnit.MINUTES);
            System.out.printf(Locale.ROOT, "k = 8, one %d-token prompt: prompt tokens computed %d (8 x prompt = %d), forked %d, %.0f ms%n",
                    promptLength, engine.metrics().promptTokensComputed(), 8 * promptLength, engine.metrics().forkedTokens(),
                    (System.nanoTime() - t0) / 1e6);
        }
    }

    static int[] prompt(long seed, int length) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] p = new int[length];
        for (int i = 0; i < length; i++) p[i] = 3 + r.nextInt(1000);
        return p;
    }
}
