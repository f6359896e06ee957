package dev.principia.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HexFormat;
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
 * under the cache directory keyed by the directory's path and its {@code config.json}'s modification
 * time, made once.
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

    /**
     * The graph to serve {@code model} with: a decoder with KV-cache I/O for causal LMs, a prefill-only
     * classifier for {@code *ForSequenceClassification} models (meta-RM, scalar RM).
     */
    public static Path ensure(ModelDirectory model, Path cacheDir, Consumer<String> log) throws IOException {
        boolean classifier = model.config().isSequenceClassifier();
        for (String candidate : PRE_EXPORTED) {
            Path inside = model.dir().resolve(candidate);
            if (Files.isRegularFile(inside)) {
                // classifier graphs are checked by OnnxClassifier when it opens them
                if (!classifier) checkPreExported(inside, model.config(), model.dir().resolve(ModelConfig.FILE_NAME));
                log.accept("using pre-exported ONNX graph " + inside);
                return inside;
            }
        }
        Path abs = model.dir().toAbsolutePath().normalize();
        long mtime = Files.getLastModifiedTime(abs.resolve(ModelConfig.FILE_NAME)).toMillis();
        String key = HexFormat.of().toHexDigits(abs.toString().hashCode()) + "-" + Long.toHexString(mtime);
        Path target = cacheDir.resolve("exports").resolve(model.name() + "-" + key).resolve(ONNX_FILE);
        if (Files.isRegularFile(target)) return target;
        log.accept("exporting " + model.dir() + " to ONNX at " + target);
        Files.createDirectories(target.getParent());
        Path tmp = target.resolveSibling(ONNX_FILE + ".partial");
        if (classifier) {
            OnnxExporter.exportClassifier(model.dir(), tmp, OnnxExporter.Options.defaults(), OnnxExporter.Progress.NONE);
        } else {
            OnnxExporter.exportDecoder(model.dir(), tmp, SERVING);
        }
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        return target;
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
                if (in.elemType() != OnnxGraph.FLOAT) {
                    throw new IllegalArgumentException(where + "input '" + name + "' has element type " + in.elemType()
                            + "; the ONNX Runtime CPU backend needs float32 (1) caches");
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
