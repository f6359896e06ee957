package dev.principia.benchmark;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.principia.model.ExportCache;
import dev.principia.model.ModelConfig;
import dev.principia.model.TinyModel;
import dev.principia.model.onnx.OnnxExporter;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Decode step of the plain and the GQA decoder graph driven by ONNX Runtime directly (no backend): B rows,
 * each with {@code bench.context} (512) cached positions of random KV, then {@code bench.decodeTokens} (16)
 * steps. Plain: past [B, kvHeads, P, headDim] and a pinned present [B, kvHeads, P + 1, headDim] that becomes
 * the next step's past (the backend's best case: no re-packing). GQA: one buffer [B, kvHeads, capacity,
 * headDim] per layer and K/V bound as past and present, updated in place. The two graphs' steps alternate and
 * medians are reported, which resists a shared machine's noise.
 *
 * <p>Usage: {@code benchmark/run.sh gqa [110m|110m-kv4 ...]}; {@code bench.sizes} (1,16,32), {@code bench.threads}
 * (all cores), {@code bench.dir} keeps exports between runs.
 */
public final class GqaStepBenchmark {
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    public static void main(String[] args) throws Exception {
        List<String> shapes = args.length == 0 ? List.of("110m", "110m-kv4") : List.of(args);
        int threads = Integer.getInteger("bench.threads", Runtime.getRuntime().availableProcessors());
        int steps = Integer.getInteger("bench.decodeTokens", 16), context = Integer.getInteger("bench.context", 512);
        int[] sizes = Arrays.stream(System.getProperty("bench.sizes", "1,16,32").split(",")).mapToInt(Integer::parseInt).toArray();
        Path work = Path.of(System.getProperty("bench.dir", Files.createTempDirectory("principia-gqa").toString()));
        for (String name : shapes) {
            TinyModel.Spec spec = spec(name);
            Path dir = work.resolve(name), plain = dir.resolve("plain.onnx"), gqa = dir.resolve("gqa.onnx");
            if (!Files.isRegularFile(gqa)) {
                TinyModel.generate(spec, 1, dir);
                OnnxExporter.exportDecoder(dir, plain, ExportCache.SERVING);
                OnnxExporter.exportDecoder(dir, gqa, ExportCache.SERVING.withAttention(OnnxExporter.Attention.GQA));
            }
            ModelConfig c = spec.toConfig();
            System.out.printf(Locale.ROOT, "## %s (kv heads %d), context %d, %d threads%n| seqs | plain median ms | GQA median ms | plain tok/s | GQA tok/s | GQA / plain |%n|---:|---:|---:|---:|---:|---:|%n",
                    name, c.numKeyValueHeads(), context, threads);
            for (int b : sizes) {
                double[][] ms = run(plain, gqa, c, b, context, steps, threads);
                double p = median(ms[0]), q = median(ms[1]);
                System.out.printf(Locale.ROOT, "| %d | %.1f | %.1f | %.1f | %.1f | %.2fx |%n", b, p, q, b / p * 1e3, b / q * 1e3, p / q);
            }
        }
    }

    static TinyModel.Spec spec(String name) {
        return EngineBenchmark.shape(name).spec();
    }

    private static double median(double[] ms) {
        double[] s = ms.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /** Milliseconds of each of {@code steps} decode calls after 2 warm-up calls: [0] plain, [1] GQA, their steps interleaved. */
    private static double[][] run(Path plain, Path gqa, ModelConfig c, int b, int context, int steps, int threads) throws OrtException {
        int warm = 2;
        try (var p = new Runner(plain, c, b, context, context + warm + steps, threads, false);
             var q = new Runner(gqa, c, b, context, context + warm + steps, threads, true)) {
            double[][] ms = new double[2][steps];
            for (int k = 0; k < warm + steps; k++) {
                double tp = p.step(k), tq = q.step(k);
                if (k >= warm) {
                    ms[0][k - warm] = tp;
                    ms[1][k - warm] = tq;
                }
            }
            return ms;
        }
    }

    /** One graph's session and KV buffers; plain swaps past and present after each step, GQA keeps one buffer. */
    private static final class Runner implements AutoCloseable {
        private final OrtSession session;
        private final ModelConfig c;
        private final int b, context, capacity;
        private final boolean gqa;
        private ByteBuffer[][] a, z;
        private final ByteBuffer logits;

        Runner(Path onnx, ModelConfig c, int b, int context, int capacity, int threads, boolean gqa) throws OrtException {
            this.c = c;
            this.b = b;
            this.context = context;
            this.capacity = capacity;
            this.gqa = gqa;
            try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
                so.setIntraOpNumThreads(threads);
                so.setInterOpNumThreads(1);
                so.addConfigEntry("session.intra_op.allow_spinning", "0");
                so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
                so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                if (System.getProperty("bench.profile") != null) so.enableProfiling(System.getProperty("bench.profile") + (gqa ? "-gqa" : "-plain"));
                this.session = ENV.createSession(onnx.toString(), so);
            }
            int layers = c.numHiddenLayers();
            a = new ByteBuffer[layers][2];
            z = new ByteBuffer[layers][2];
            var rnd = new java.util.Random(1);
            for (int l = 0; l < layers; l++) {
                for (int kv = 0; kv < 2; kv++) {
                    a[l][kv] = ByteBuffer.allocateDirect(b * c.numKeyValueHeads() * capacity * c.headDim() * Float.BYTES).order(ByteOrder.nativeOrder());
                    FloatBuffer f = a[l][kv].asFloatBuffer();
                    while (f.hasRemaining()) f.put((float) rnd.nextGaussian() * 0.5f);
                    if (!gqa) z[l][kv] = ByteBuffer.allocateDirect(a[l][kv].capacity()).order(ByteOrder.nativeOrder());
                }
            }
            logits = ByteBuffer.allocateDirect(b * c.vocabSize() * Float.BYTES).order(ByteOrder.nativeOrder());
        }

        /** Decode step k (past = context + k); returns its milliseconds, tensor creation included. */
        double step(int k) throws OrtException {
            int past = context + k, kvH = c.numKeyValueHeads(), d = c.headDim();
            long[] ids = new long[b];
            for (int i = 0; i < b; i++) ids[i] = 3 + (i * 7 + k) % 1000;
            Map<String, OnnxTensor> in = new HashMap<>(), out = new HashMap<>();
            long t0 = System.nanoTime();
            try {
                in.put("input_ids", OnnxTensor.createTensor(ENV, LongBuffer.wrap(ids), new long[]{b, 1}));
                if (gqa) {
                    int[] seqlens = new int[b];
                    Arrays.fill(seqlens, past);
                    in.put("seqlens_k", OnnxTensor.createTensor(ENV, IntBuffer.wrap(seqlens), new long[]{b}));
                    in.put("total_sequence_length", OnnxTensor.createTensor(ENV, IntBuffer.wrap(new int[]{past + 1}), new long[0]));
                } else {
                    long[] mask = new long[b * (past + 1)], pos = new long[b];
                    Arrays.fill(mask, 1);
                    Arrays.fill(pos, past);
                    in.put("attention_mask", OnnxTensor.createTensor(ENV, LongBuffer.wrap(mask), new long[]{b, past + 1}));
                    in.put("position_ids", OnnxTensor.createTensor(ENV, LongBuffer.wrap(pos), new long[]{b, 1}));
                }
                long[] pastShape = gqa ? new long[]{b, kvH, capacity, d} : new long[]{b, kvH, past, d};
                long[] presentShape = gqa ? pastShape : new long[]{b, kvH, past + 1, d};
                for (int l = 0; l < c.numHiddenLayers(); l++) {
                    for (int kv = 0; kv < 2; kv++) {
                        in.put(kv == 0 ? OnnxExporter.pastKey(l) : OnnxExporter.pastValue(l), OnnxTensor.createTensor(ENV, view(a[l][kv], pastShape), pastShape));
                        out.put(kv == 0 ? OnnxExporter.presentKey(l) : OnnxExporter.presentValue(l),
                                OnnxTensor.createTensor(ENV, view(gqa ? a[l][kv] : z[l][kv], presentShape), presentShape));
                    }
                }
                out.put("logits", OnnxTensor.createTensor(ENV, logits.duplicate().clear().order(ByteOrder.nativeOrder()).asFloatBuffer(), new long[]{b, 1, c.vocabSize()}));
                session.run(in, out).close();
            } finally {
                in.values().forEach(OnnxTensor::close);
                out.values().forEach(OnnxTensor::close);
            }
            double ms = (System.nanoTime() - t0) / 1e6;
            if (!gqa) {
                ByteBuffer[][] t = a;
                a = z;
                z = t;
            }
            return ms;
        }

        private static FloatBuffer view(ByteBuffer buf, long[] shape) {
            return buf.duplicate().clear().limit((int) (product(shape) * Float.BYTES)).slice().order(ByteOrder.nativeOrder()).asFloatBuffer();
        }

        @Override
        public void close() throws OrtException {
            session.close();
        }
    }

    private static long product(long[] shape) {
        long p = 1;
        for (long s : shape) p *= s;
        return p;
    }
}
