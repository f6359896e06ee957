package dev.principia.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

import dev.principia.model.onnx.OnnxExporter;

/**
 * The embedded default GRM: a tiny random-weight Qwen3-shaped decoder with the real Qwen3 tokenizer
 * and chat template, generated on first use into a cache directory (and only regenerated when
 * missing), exported to ONNX beside it. Random weights write gibberish; score forcing makes every
 * sample end in a valid score block, so the whole pipeline runs out of the box.
 */
public final class DefaultModel {
    /** Bump when the generated files change, so stale caches are not reused. */
    static final int FORMAT_VERSION = 3;
    private static final String RESOURCES = "/principia/default-model/";
    private static final String COMPLETE = ".complete";

    private DefaultModel() {
    }

    /** Returns the GRM directory under {@code cacheDir}, generating it first when missing. */
    public static Path ensure(Path cacheDir, long seed, Consumer<String> log) throws IOException {
        return ensure(cacheDir, "tiny-qwen3-v" + FORMAT_VERSION + "-seed" + seed, seed, false, log);
    }

    /**
     * Returns the embedded meta reward model: the same tiny Qwen3 shape and tokenizer with a one-logit
     * sequence-classification head ({@code Qwen3ForSequenceClassification}, {@code num_labels = 1}).
     */
    public static Path ensureMetaRm(Path cacheDir, long seed, Consumer<String> log) throws IOException {
        return ensure(cacheDir, "tiny-qwen3-metarm-v" + FORMAT_VERSION + "-seed" + seed, seed, true, log);
    }

    private static ModelConfig classifierOf(ModelConfig causal) throws IOException {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode o = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(causal.toJson());
        o.putArray("architectures").add(causal.architecture().replace(ModelConfig.CAUSAL_LM, ModelConfig.SEQUENCE_CLASSIFICATION));
        o.put("num_labels", 1);
        return ModelConfig.parse(o);
    }

    private static Path ensure(Path cacheDir, String name, long seed, boolean classifier, Consumer<String> log) throws IOException {
        Path dir = cacheDir.resolve(name);
        if (Files.isRegularFile(dir.resolve(COMPLETE))) {
            return dir;
        }
        log.accept("generating the embedded default " + (classifier ? "meta-RM" : "GRM") + " into " + dir);
        Files.createDirectories(cacheDir);
        Path tmp = Files.createTempDirectory(cacheDir, ".tiny-qwen3-");
        try {
            TinyModel.Spec spec = TinyModel.Spec.defaultQwen3Tiny();
            if (classifier) {
                TinyModel.generate(classifierOf(spec.toConfig()), spec.weightStd(), seed, tmp, TinyModel.Output.F32_SINGLE_FILE);
            } else {
                TinyModel.generate(spec, seed, tmp);
            }
            try (InputStream in = new GZIPInputStream(resource("tokenizer.json.gz"))) {
                Files.copy(in, tmp.resolve("tokenizer.json"));
            }
            for (String file : new String[] {"tokenizer_config.json", "NOTICE", "LICENSE-tokenizer-qwen3"}) {
                try (InputStream in = resource(file)) {
                    Files.copy(in, tmp.resolve(file));
                }
            }
            Files.createDirectories(tmp.resolve(ExportCache.ONNX_SUBDIR));
            Path onnx = tmp.resolve(ExportCache.ONNX_SUBDIR).resolve(ExportCache.ONNX_FILE);
            if (classifier) {
                OnnxExporter.exportClassifier(tmp, onnx, OnnxExporter.Options.defaults(), OnnxExporter.Progress.NONE);
            } else {
                OnnxExporter.exportDecoder(tmp, onnx, ExportCache.SERVING);
            }
            Files.writeString(tmp.resolve(COMPLETE), "seed " + seed + "\n");
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, dir);
            }
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            if (Files.isRegularFile(dir.resolve(COMPLETE))) return dir; // another process won the race
            throw e;
        }
        return dir;
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = DefaultModel.class.getResourceAsStream(RESOURCES + name);
        if (in == null) throw new IOException("missing class-path resource " + RESOURCES + name);
        return in;
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) return;
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
