package dev.principia.benchmark;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import dev.principia.backend.Batch;
import dev.principia.backend.onnx.OnnxBackend;
import dev.principia.model.DType;
import dev.principia.model.ModelConfig;
import dev.principia.model.ExportCache;
import dev.principia.model.TinyModel;
import dev.principia.model.WeightLayout;
import dev.principia.model.onnx.OnnxExporter;

/**
 * Streaming export of a checkpoint far larger than the heap: generates a sharded bf16 Llama-shaped
 * model (default 1.64 B parameters, 3.3 GB in 1 GiB shards + {@code model.safetensors.index.json}),
 * exports it with external data, then loads it in ONNX Runtime through {@link OnnxBackend} and runs a
 * prefill and decode steps. Prints sizes, times and the peak heap of each phase (sum of the heap
 * pools' peaks, an upper bound). Meant to run under {@code -Xmx1g}: an exporter that held a whole weight
 * set (or even the 262 MB embedding as floats twice) would fail with OutOfMemoryError.
 *
 * <p>Usage: {@code benchmark/run.sh bigexport [workDir] [numLayers] [fp32|fp16]} (defaults: a temp
 * directory, 24 layers, fp32). Needs ~3.3 GB + 6.6 GB (fp32 export) of disk and ~14 GB of RAM for
 * ONNX Runtime. The work directory is deleted at the end unless given.
 */
public final class BigModelExport {
    private BigModelExport() {
    }

    public static void main(String[] args) throws Exception {
        Path work = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("principia-bigexport");
        int layers = args.length > 1 ? Integer.parseInt(args[1]) : 24;
        DType dtype = args.length > 2 && args[2].equals("fp16") ? DType.F16 : DType.F32;
        ModelConfig c = new TinyModel.Spec("llama", 32000, 2048, 8192, layers, 16, 8, 128, 4096, 500000.0, false, 1,
                List.of(2), 0.02).toConfig();
        Path dir = work.resolve("model");
        System.out.printf(Locale.ROOT, "heap limit %.2f GiB; model %d layers, %.2f B parameters%n",
                Runtime.getRuntime().maxMemory() / (double) (1L << 30), layers, WeightLayout.numParameters(c) / 1e9);

        resetPeaks();
        long t0 = System.nanoTime();
        TinyModel.generate(c, 0.02, 1, dir, new TinyModel.Output(DType.BF16, 1L << 30));
        long checkpointBytes = sizeOf(dir, ".safetensors");
        System.out.printf(Locale.ROOT, "generate: %.2f GB bf16 in %d shards, %.1f s, peak heap %d MB%n", checkpointBytes / 1e9,
                countFiles(dir, ".safetensors"), secondsSince(t0), peakHeapMb());

        resetPeaks();
        Path onnx = work.resolve("onnx").resolve(ExportCache.ONNX_FILE);
        Files.createDirectories(onnx.getParent());
        long t1 = System.nanoTime();
        int[] lastPercent = {-1};
        OnnxExporter.exportDecoder(dir, onnx, new OnnxExporter.Options(true, true, dtype), (name, done, total) -> {
            int percent = (int) (100 * done / total);
            if (percent / 10 != lastPercent[0] / 10) {
                System.out.printf(Locale.ROOT, "  export %3d%%  %s  (%.1f s, heap now %d MB)%n", percent, name, secondsSince(t1), usedHeapMb());
                lastPercent[0] = percent;
            }
        });
        long onnxBytes = Files.size(onnx) + Files.size(onnx.resolveSibling(onnx.getFileName() + ".data"));
        System.out.printf(Locale.ROOT, "export: %s, %.2f GB (graph %d kB + external data), %.1f s, peak heap %d MB%n", dtype,
                onnxBytes / 1e9, Files.size(onnx) / 1024, secondsSince(t1), peakHeapMb());

        if (dtype == DType.F32) {
            resetPeaks();
            long t2 = System.nanoTime();
            try (var backend = new OnnxBackend(onnx, c, new OnnxBackend.Options(0, 1, 64))) {
                System.out.printf(Locale.ROOT, "load: %.1f s%n", secondsSince(t2));
                int[] prompt = {1, 450, 4996, 17354, 1701, 432, 17204, 975};
                long t3 = System.nanoTime();
                float[] logits = backend.execute(new Batch(List.of(new Batch.Entry(0, prompt, 0)))).logits()[0];
                System.out.printf(Locale.ROOT, "prefill %d tokens: %.2f s%n", prompt.length, secondsSince(t3));
                long t4 = System.nanoTime();
                int steps = 3;
                for (int i = 0; i < steps; i++) {
                    int next = argmax(logits);
                    logits = backend.execute(new Batch(List.of(new Batch.Entry(0, new int[]{next}, prompt.length + i)))).logits()[0];
                }
                for (float v : logits) if (!Float.isFinite(v)) throw new IllegalStateException("non-finite logit " + v);
                System.out.printf(Locale.ROOT, "decode: %.2f s/token over %d steps; logits finite; peak heap %d MB%n",
                        secondsSince(t4) / steps, steps, peakHeapMb());
            }
        }
        if (args.length == 0) deleteTree(work);
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    private static double secondsSince(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    private static void resetPeaks() {
        System.gc();
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) p.resetPeakUsage();
    }

    private static long peakHeapMb() {
        long sum = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) sum += p.getPeakUsage().getUsed();
        }
        return sum >> 20;
    }

    private static long usedHeapMb() {
        Runtime r = Runtime.getRuntime();
        return (r.totalMemory() - r.freeMemory()) >> 20;
    }

    private static long sizeOf(Path dir, String suffix) throws java.io.IOException {
        try (Stream<Path> s = Files.list(dir)) {
            long total = 0;
            for (Path p : s.filter(p -> p.toString().endsWith(suffix)).toList()) total += Files.size(p);
            return total;
        }
    }

    private static long countFiles(Path dir, String suffix) throws java.io.IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(suffix)).count();
        }
    }

    private static void deleteTree(Path root) throws java.io.IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
