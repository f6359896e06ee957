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
 * The embedded models, written on first use into a cache directory (and only rewritten when missing), exported
 * to ONNX beside them:
 * <ul>
 *   <li>{@link #ensureArithmetic}: the default. A small Llama GRM and its meta-RM, trained in this repository
 *       ({@code src/train}) to judge integer arithmetic; their weights, tokenizer and training record are class-path
 *       resources under {@value #ARITHMETIC}.</li>
 *   <li>{@link #ensure}/{@link #ensureMetaRm}: a tiny random-weight Qwen3-shaped decoder with the real Qwen3
 *       tokenizer and chat template, generated from a seed. Random weights write gibberish; score forcing makes
 *       every sample end in a valid score block. The tests' fixture ({@code principia.model.embedded=tiny-qwen3}).</li>
 * </ul>
 */
public final class DefaultModel {
    /** Bump when the generated files change, so stale caches are not reused. */
    static final int FORMAT_VERSION = 3;
    private static final String RESOURCES = "/principia/default-model/";
    private static final String COMPLETE = ".complete";
    static final String ARITHMETIC = "/principia/arithmetic-judge/";
    /** The files of each trained model directory under {@value #ARITHMETIC}{@code grm/} and {@code meta-rm/}. */
    static final String[] TRAINED_FILES = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "training.json"};

    /** What to write into a fresh model directory before it is exported. */
    private interface Writer {
        void write(Path dir) throws IOException;
    }

    private DefaultModel() {
    }

    /**
     * The embedded default named by {@code principia.model.embedded}: {@code arithmetic} (the trained pair) or
     * {@code tiny-qwen3} (random weights from {@code seed}; its meta-RM from {@code seed + 1}); logs which.
     *
     * @throws IllegalArgumentException naming the setting and its allowed values for any other name
     */
    public static Path ensureEmbedded(String which, boolean metaRm, Path cacheDir, long seed, Consumer<String> log) throws IOException {
        Path dir = switch (which) {
            case "arithmetic" -> ensureArithmetic(cacheDir, metaRm, log);
            case "tiny-qwen3" -> metaRm ? ensureMetaRm(cacheDir, seed + 1, log) : ensure(cacheDir, seed, log);
            default -> throw new IllegalArgumentException("principia.model.embedded: '" + which + "' is not one of arithmetic, tiny-qwen3");
        };
        log.accept("embedded default " + (metaRm ? "meta-RM" : "GRM") + " (" + (which.equals("arithmetic")
                ? "the arithmetic judge trained in this repository; not a general judge" : "tiny random weights, seed " + seed) + ") at " + dir);
        return dir;
    }

    /** Returns the random tiny Qwen3 GRM directory under {@code cacheDir}, generating it first when missing. */
    public static Path ensure(Path cacheDir, long seed, Consumer<String> log) throws IOException {
        return ensure(cacheDir, "tiny-qwen3-v" + FORMAT_VERSION + "-seed" + seed, false, log, dir -> tinyQwen3(dir, seed, false));
    }

    /**
     * Returns the random tiny meta reward model: the same tiny Qwen3 shape and tokenizer with a one-logit
     * sequence-classification head ({@code Qwen3ForSequenceClassification}, {@code num_labels = 1}).
     */
    public static Path ensureMetaRm(Path cacheDir, long seed, Consumer<String> log) throws IOException {
        return ensure(cacheDir, "tiny-qwen3-metarm-v" + FORMAT_VERSION + "-seed" + seed, true, log, dir -> tinyQwen3(dir, seed, true));
    }

    /**
     * Returns the trained arithmetic GRM ({@code metaRm} false) or its meta-RM, copied from the class path into
     * {@code cacheDir} under a name that carries its files' digest, so a new build's weights or config never reuse an old
     * export.
     */
    public static Path ensureArithmetic(Path cacheDir, boolean metaRm, Consumer<String> log) throws IOException {
        String sub = metaRm ? "meta-rm/" : "grm/";
        String digest;
        try {
            // every file: a new build's config (e.g. a declared default vote) must not reuse an old copy either
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (String file : TRAINED_FILES) {
                try (InputStream in = resource(ARITHMETIC + sub + file)) {
                    for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
                }
            }
            digest = java.util.HexFormat.of().formatHex(md.digest(), 0, 6);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        String name = "arithmetic-" + (metaRm ? "metarm" : "grm") + "-v" + FORMAT_VERSION + "-" + digest;
        return ensure(cacheDir, name, metaRm, log, dir -> {
            for (String file : TRAINED_FILES) {
                try (InputStream in = resource(ARITHMETIC + sub + file)) {
                    Files.copy(in, dir.resolve(file));
                }
            }
        });
    }

    private static ModelConfig classifierOf(ModelConfig causal) throws IOException {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode o = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(causal.toJson());
        o.putArray("architectures").add(causal.architecture().replace(ModelConfig.CAUSAL_LM, ModelConfig.SEQUENCE_CLASSIFICATION));
        o.put("num_labels", 1);
        return ModelConfig.parse(o);
    }

    private static void tinyQwen3(Path tmp, long seed, boolean classifier) throws IOException {
        TinyModel.Spec spec = TinyModel.Spec.defaultQwen3Tiny();
        if (classifier) {
            TinyModel.generate(classifierOf(spec.toConfig()), spec.weightStd(), seed, tmp, TinyModel.Output.F32_SINGLE_FILE);
        } else {
            TinyModel.generate(spec, seed, tmp);
        }
        try (InputStream in = new GZIPInputStream(resource(RESOURCES + "tokenizer.json.gz"))) {
            Files.copy(in, tmp.resolve("tokenizer.json"));
        }
        for (String file : new String[] {"tokenizer_config.json", "NOTICE", "LICENSE-tokenizer-qwen3"}) {
            try (InputStream in = resource(RESOURCES + file)) {
                Files.copy(in, tmp.resolve(file));
            }
        }
    }

    private static Path ensure(Path cacheDir, String name, boolean classifier, Consumer<String> log, Writer writer) throws IOException {
        Path dir = cacheDir.resolve(name);
        if (Files.isRegularFile(dir.resolve(COMPLETE))) {
            return dir;
        }
        log.accept("writing the embedded " + (classifier ? "meta-RM" : "GRM") + " into " + dir);
        Files.createDirectories(cacheDir);
        Path tmp = Files.createTempDirectory(cacheDir, "." + name + "-");
        try {
            writer.write(tmp);
            Files.createDirectories(tmp.resolve(ExportCache.ONNX_SUBDIR));
            Path onnx = tmp.resolve(ExportCache.ONNX_SUBDIR).resolve(ExportCache.ONNX_FILE);
            if (classifier) {
                OnnxExporter.exportClassifier(tmp, onnx, OnnxExporter.Options.defaults(), OnnxExporter.Progress.NONE);
            } else {
                OnnxExporter.exportDecoder(tmp, onnx, ExportCache.SERVING);
            }
            Files.writeString(tmp.resolve(COMPLETE), name + "\n");
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

    private static InputStream resource(String path) throws IOException {
        InputStream in = DefaultModel.class.getResourceAsStream(path);
        if (in == null) throw new IOException("missing class-path resource " + path);
        return in;
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) return;
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
