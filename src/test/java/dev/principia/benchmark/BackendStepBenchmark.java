package dev.principia.benchmark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import dev.principia.backend.Backend;
import dev.principia.backend.Batch;
import dev.principia.backend.fixedkv.RunPlanner;
import dev.principia.backend.onnx.OnnxBackend;
import dev.principia.backend.onnx.OrtFixedKvDevice;
import dev.principia.model.ExportCache;
import dev.principia.model.ModelConfig;
import dev.principia.model.TinyModel;
import dev.principia.model.WeightPrecision;
import dev.principia.model.onnx.OnnxExporter;

/**
 * Decode step time of {@link OnnxBackend} (or the portable graph's backend) alone, without the engine: n slots prefilled with 16 tokens,
 * then {@code bench.decodeTokens} batched decode steps. Reports the median and minimum step, which
 * resist a shared machine's noise better than a mean, and the calling thread's CPU time, which with
 * {@code -Dbench.threads=1} (ONNX Runtime then computes on the calling thread) is the step's work, nearly
 * independent of other load.
 *
 * <p>Usage: {@code benchmark/run.sh step [stories15m|110m|tiny-qwen3 ...]}; settings as system properties (e.g. in
 * {@code JAVA_TOOL_OPTIONS}): {@code bench.threads}, {@code bench.sizes} (default 1,4,8,16,32),
 * {@code bench.decodeTokens} (64), {@code bench.context} (16 cached positions per sequence before the steps; above
 * 16, slot 0's prompt is forked to the others), {@code bench.attention} ({@code plain}, {@code gqa}, {@code portable} or {@code both}
 * (plain and gqa): which decoder export runs, {@link OnnxExporter.Attention}; portable runs on {@link OrtFixedKvDevice}, every row
 * attending over all 1024 positions of its slot), {@code bench.weights} (comma-separated {@link WeightPrecision}s, default
 * {@code fp32}: one export per precision, external data above 1.5 GB) and {@code bench.dir}, which keeps exported models between runs; a
 * {@code bench.dir/SHAPE} directory that already holds a checkpoint of that shape (e.g. links to {@code benchmark/run.sh genmodel}'s
 * files) is exported rather than generated. Heap and
 * direct memory are read after the last step (heap after a GC), with the backend and its KV still open.
 */
public final class BackendStepBenchmark {
    public static void main(String[] args) throws Exception {
        List<String> shapes = args.length == 0 ? List.of("stories15m") : List.of(args);
        int threads = Integer.getInteger("bench.threads", Runtime.getRuntime().availableProcessors());
        int decodeTokens = Integer.getInteger("bench.decodeTokens", 64), context = Integer.getInteger("bench.context", 16);
        String attention = System.getProperty("bench.attention", "plain");
        List<OnnxExporter.Attention> kinds = attention.equals("both") ? List.of(OnnxExporter.Attention.PLAIN, OnnxExporter.Attention.GQA)
                : List.of(OnnxExporter.Attention.valueOf(attention.toUpperCase(Locale.ROOT)));
        List<WeightPrecision> precisions = Arrays.stream(System.getProperty("bench.weights", "fp32").split(",")).map(WeightPrecision::parse).toList();
        int[] sizes = Arrays.stream(System.getProperty("bench.sizes", "1,4,8,16,32").split(",")).mapToInt(Integer::parseInt).toArray();
        Path work = Path.of(System.getProperty("bench.dir", Files.createTempDirectory("principia-step").toString()));
        for (String name : shapes) {
            EngineBenchmark.Shape shape = EngineBenchmark.shape(name);
            Path dir = work.resolve(name);
            ModelConfig config = shape.spec().toConfig();
            System.out.printf(Locale.ROOT, "## %s, context %d%n| weights | attention | seqs | median step ms | min step ms | tok/s (median) | x single | calling thread CPU ms (median) | heap MB | direct MB |%n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|%n", name, context);
            for (WeightPrecision precision : precisions) {
            double single = 0;
            for (int n : sizes) for (OnnxExporter.Attention kind : kinds) {
                String suffix = (kind == OnnxExporter.Attention.PLAIN ? "" : "-" + kind.name().toLowerCase(Locale.ROOT)) + (precision == WeightPrecision.FP32 ? "" : "-" + precision.configName());
                Path onnx = dir.resolve("model" + suffix + ".onnx");
                if (!Files.isRegularFile(onnx)) {
                    if (!Files.isRegularFile(dir.resolve("config.json"))) TinyModel.generate(shape.spec(), 1, dir);
                    OnnxExporter.Options options = ExportCache.SERVING.withWeights(precision).withAttention(kind);
                    boolean external = precision.weightBytes(config, options.blockSize()) > 1_500_000_000L;
                    long t0 = System.nanoTime();
                    OnnxExporter.exportDecoder(dir, onnx, options.withExternalData(external));
                    System.out.printf(Locale.ROOT, "(exported %s in %.1f s)%n", onnx.getFileName(), (System.nanoTime() - t0) / 1e9);
                }
                var backendOptions = new OnnxBackend.Options(threads, Math.max(n, 8), 1024);
                try (Backend backend = kind == OnnxExporter.Attention.PORTABLE
                        ? OrtFixedKvDevice.open(onnx, config, backendOptions, new RunPlanner.Limits(Math.max(n, 8), 512))
                        : new OnnxBackend(onnx, config, backendOptions)) {
                    decode(backend, n, 4, context); // warm-up
                    long[] both = decode(backend, n, decodeTokens, context);
                    long[] t = Arrays.copyOf(both, decodeTokens), cpu = Arrays.copyOfRange(both, decodeTokens, 2 * decodeTokens);
                    Arrays.sort(t);
                    Arrays.sort(cpu);
                    double med = t[t.length / 2] / 1e6, min = t[0] / 1e6, cpuMed = cpu[cpu.length / 2] / 1e6;
                    double tps = n / med * 1e3;
                    if (n == sizes[0] && kind == kinds.get(0)) single = tps / n;
                    System.gc();
                    Thread.sleep(200); // direct buffers of earlier backends are released by a cleaner after the GC
                    System.gc();
                    double heapMb = (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()) / 1048576.0;
                    double directMb = java.lang.management.ManagementFactory.getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class).stream()
                            .filter(b -> b.getName().equals("direct")).mapToLong(java.lang.management.BufferPoolMXBean::getMemoryUsed).sum() / 1048576.0;
                    System.out.printf(Locale.ROOT, "| %s | %s | %d | %.2f | %.2f | %.1f | %.2f | %.2f | %.0f | %.0f |%n", precision.configName(), kind.name().toLowerCase(Locale.ROOT), n, med, min, tps, tps / single, cpuMed, heapMb, directMb);
                }
            }
            }
        }
    }

    /**
     * Gives slots [0, n) {@code context} positions (each its own prompt up to 16, else slot 0's prompt forked) and runs
     * {@code steps} batched decodes; returns each decode's nanoseconds, then each one's calling-thread CPU nanoseconds.
     */
    static long[] decode(Backend backend, int n, int steps, int context) {
        if (context <= 16) {
            for (int s = 0; s < n; s++) backend.execute(new Batch(List.of(new Batch.Entry(s, EngineBenchmark.prompt(s, context), 0))));
        } else {
            backend.execute(new Batch(List.of(new Batch.Entry(0, EngineBenchmark.prompt(0, context), 0))));
            for (int s = 1; s < n; s++) backend.copyKv(0, s, context);
        }
        long[] times = new long[2 * steps];
        var mx = java.lang.management.ManagementFactory.getThreadMXBean();
        for (int k = 0; k < steps; k++) {
            List<Batch.Entry> entries = new ArrayList<>(n);
            for (int s = 0; s < n; s++) entries.add(new Batch.Entry(s, new int[]{3 + (s * 7 + k) % 1000}, context + k));
            long c0 = mx.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            backend.execute(new Batch(entries));
            times[k] = System.nanoTime() - t0;
            times[steps + k] = mx.getCurrentThreadCpuTime() - c0;
        }
        return times;
    }
}
