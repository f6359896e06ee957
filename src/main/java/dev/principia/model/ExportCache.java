package dev.principia.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

import dev.principia.model.onnx.OnnxExporter;
import dev.principia.model.onnx.OnnxGraph;
import dev.principia.model.onnx.OnnxGraphInputs;

/**
 * Finds or makes the ONNX graph of a model directory: a pre-exported graph inside it when present
 * ({@link #PRE_EXPORTED}: our {@code onnx/model.onnx}, Optimum's and onnxruntime-genai's
 * {@code model.onnx}, Optimum's merged decoder), checked against {@code config.json}; else an export
 * under the cache directory keyed by the content of the weights and config ({@link ExportKey}), made once
 * and published atomically.
 */
public final class ExportCache {
    public static final String ONNX_SUBDIR = "onnx";
    public static final String ONNX_FILE = "model.onnx";
    /**
     * Serving exports compute logits for the last position only: the engine samples from nothing else,
     * and a 512-token prefill chunk over a 152k vocabulary would otherwise produce 300 MB of logits.
     */
    public static final OnnxExporter.Options SERVING = new OnnxExporter.Options(false, true);

    /** Where pre-exported graphs are looked for, in order, relative to the model directory. */
    public static final List<String> PRE_EXPORTED = List.of(ONNX_SUBDIR + "/" + ONNX_FILE, ONNX_FILE,
            ONNX_SUBDIR + "/decoder_model_merged.onnx", "decoder_model_merged.onnx");

    private ExportCache() {
    }

    /** Above this estimated graph size the export writes its weights as ONNX external data (protobuf stops at 2 GiB). */
    public static final long EXTERNAL_DATA_ABOVE_BYTES = 1_500_000_000L;

    /**
     * The graph a model is served with.
     *
     * @param options what it was exported with, or null for a pre-exported graph found in the model directory
     */
    public record Export(Path onnx, OnnxExporter.Options options) {
        public boolean preExported() {
            return options == null;
        }
    }

    /** {@link #ensure(ModelDirectory, Path, OnnxExporter.Options, Consumer)} with the {@link #SERVING} options. */
    public static Path ensure(ModelDirectory model, Path cacheDir, Consumer<String> log) throws IOException {
        return ensure(model, cacheDir, SERVING, log).onnx();
    }

    /**
     * The graph to serve {@code model} with: a decoder with KV-cache I/O for causal LMs, a prefill-only
     * classifier for {@code *ForSequenceClassification} models (meta-RM, scalar RM). A pre-exported graph
     * inside the directory wins, except for a {@link OnnxExporter.Attention#PORTABLE portable} decoder (a pre-exported
     * graph is a plain one), which is always exported from the weights; else the export cached under {@code cacheDir/exports/<name>-<key>}, where
     * the key is the {@link ExportKey content fingerprint} of the weights, config, exporter version and
     * {@code requested} options; else a new export, made in a temporary directory beside it and published
     * by one rename, so that a crash or a concurrent start never leaves a half-written graph behind the
     * key. Weights go to external data when the graph would pass {@link #EXTERNAL_DATA_ABOVE_BYTES}
     * ({@code requested.externalData()} forces it). Progress is logged every 10 %.
     */
    public static Export ensure(ModelDirectory model, Path cacheDir, OnnxExporter.Options requested, Consumer<String> log) throws IOException {
        boolean classifier = model.config().isSequenceClassifier();
        Path inside = !classifier && requested.attention() == OnnxExporter.Attention.PORTABLE ? null : preExported(model);
        if (inside != null) {
            // classifier graphs are checked by OnnxClassifier when it opens them
            if (!classifier) checkPreExported(inside, model.config(), model.dir().resolve(ModelConfig.FILE_NAME));
            log.accept("using pre-exported ONNX graph " + inside);
            return new Export(inside, null);
        }
        long estimate = estimatedGraphBytes(model.config(), requested);
        OnnxExporter.Options options = requested.externalData() || estimate > EXTERNAL_DATA_ABOVE_BYTES
                ? requested.withExternalData(true) : requested;
        if (classifier) options = options.forClassifier();
        String key = ExportKey.of(model.dir(), OnnxExporter.VERSION, options.toString());
        Path exports = cacheDir.resolve("exports");
        Path target = exports.resolve(model.name() + "-" + key);
        if (Files.isRegularFile(target.resolve(ONNX_FILE))) return new Export(target.resolve(ONNX_FILE), options);
        Files.createDirectories(exports);
        removeAbandoned(exports, model.name() + "-" + key, log);
        Path tmp = exports.resolve("." + model.name() + "-" + key + PARTIAL + ProcessHandle.current().pid());
        DefaultModel.deleteTree(tmp);
        Files.createDirectories(tmp);
        log.accept(String.format(java.util.Locale.ROOT, "exporting %s to ONNX (%s, about %.2f GB%s) at %s", model.dir(), options.describe(),
                estimate / 1e9, options.externalData() ? ", external data" : "", target));
        try {
            var progress = new ExportProgress(WeightLayout.of(model.config()).size(), log, System::nanoTime);
            if (classifier) {
                OnnxExporter.exportClassifier(model.dir(), tmp.resolve(ONNX_FILE), options, progress);
            } else {
                OnnxExporter.exportDecoder(model.dir(), tmp.resolve(ONNX_FILE), options, progress);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (java.nio.file.FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
                log.accept("another process published " + target + " first; using it");
                DefaultModel.deleteTree(tmp);
            }
        } catch (IOException | RuntimeException e) {
            DefaultModel.deleteTree(tmp);
            throw e;
        }
        return new Export(target.resolve(ONNX_FILE), options);
    }

    /** The first {@link #PRE_EXPORTED} graph inside the model directory, or null. */
    public static Path preExported(ModelDirectory model) {
        for (String candidate : PRE_EXPORTED) {
            Path inside = model.dir().resolve(candidate);
            if (Files.isRegularFile(inside)) return inside;
        }
        return null;
    }

    private static final String PARTIAL = ".partial-";

    /** Deletes partial exports of {@code name} left by processes that no longer run. */
    private static void removeAbandoned(Path exports, String name, Consumer<String> log) throws IOException {
        try (var dirs = Files.list(exports)) {
            for (Path p : dirs.toList()) {
                String f = p.getFileName().toString();
                if (!f.startsWith("." + name + PARTIAL)) continue;
                long pid;
                try {
                    pid = Long.parseLong(f.substring(f.lastIndexOf('-') + 1));
                } catch (NumberFormatException e) {
                    continue;
                }
                if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && pid != ProcessHandle.current().pid()) continue;
                log.accept("removing abandoned partial export " + p);
                DefaultModel.deleteTree(p);
            }
        }
    }

    /** Bytes of the graph's weights under {@code options} ({@link WeightPrecision#weightBytes}). */
    public static long estimatedGraphBytes(ModelConfig c, OnnxExporter.Options options) {
        return options.weights().weightBytes(c, options.blockSize());
    }

    /**
     * Checks a decoder graph's declared inputs against the config: exactly {@code input_ids},
     * {@code attention_mask}, {@code position_ids} (int64) and fp32 {@code past_key_values.{i}.key/value}
     * [batch, kvHeads, past, headDim] for each of the config's layers. Fails naming the graph, the
     * config and the first disagreement.
     */
    public static void checkPreExported(Path onnx, ModelConfig c, Path configFile) throws IOException {
        Map<String, OnnxGraphInputs.Input> inputs = OnnxGraphInputs.read(onnx);
        String where = onnx + ": pre-exported ONNX graph does not match " + configFile + ": ";
        Set<String> expected = new LinkedHashSet<>(List.of("input_ids", "attention_mask", "position_ids"));
        for (String name : List.of("input_ids", "attention_mask", "position_ids")) {
            OnnxGraphInputs.Input in = inputs.get(name);
            if (in == null) throw new IllegalArgumentException(where + "graph has no input '" + name + "' (inputs: " + inputs.keySet() + ")");
            if (in.elemType() != OnnxGraph.INT64) throw new IllegalArgumentException(where + "input '" + name + "' must be int64");
        }
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            for (String name : List.of(OnnxExporter.pastKey(l), OnnxExporter.pastValue(l))) {
                expected.add(name);
                OnnxGraphInputs.Input in = inputs.get(name);
                if (in == null) {
                    throw new IllegalArgumentException(where + "graph has no input '" + name + "', but config.json has "
                            + c.numHiddenLayers() + " layers");
                }
                if (in.elemType() != OnnxGraph.FLOAT && in.elemType() != OnnxGraph.FLOAT16) {
                    throw new IllegalArgumentException(where + "input '" + name + "' has element type " + in.elemType()
                            + "; the ONNX Runtime CPU backend takes float32 (1) or float16 (10) caches");
                }
                if (in.dims().size() != 4) throw new IllegalArgumentException(where + "input '" + name + "' has rank " + in.dims().size() + ", expected 4");
                checkDim(where, name, "KV heads", in.dims().get(1), c.numKeyValueHeads());
                checkDim(where, name, "head_dim", in.dims().get(3), c.headDim());
            }
        }
        for (String name : inputs.keySet()) {
            if (!expected.contains(name)) {
                throw new IllegalArgumentException(where + "unexpected input '" + name + "'"
                        + (name.startsWith("past_key_values.") ? " (more layers than config.json's " + c.numHiddenLayers() + ")" : "")
                        + (name.equals("use_cache_branch") ? " (an Optimum merged decoder; export without post-processing)" : ""));
            }
        }
    }

    private static void checkDim(String where, String name, String what, Object dim, int expected) {
        if (dim instanceof Long v && v != expected) {
            throw new IllegalArgumentException(where + "input '" + name + "' has " + v + " " + what + ", config.json implies " + expected);
        }
    }
}
