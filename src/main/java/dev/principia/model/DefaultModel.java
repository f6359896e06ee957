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
    static final int FORMAT_VERSION = 2;
    private static final String RESOURCES = "/principia/default-model/";
    private static final String COMPLETE = ".complete";

    private DefaultModel() {
    }

    /** Returns the model directory under {@code cacheDir}, generating it first when missing. */
    public static Path ensure(Path cacheDir, long seed, Consumer<String> log) throws IOException {
        Path dir = cacheDir.resolve("tiny-qwen3-v" + FORMAT_VERSION + "-seed" + seed);
        if (Files.isRegularFile(dir.resolve(COMPLETE))) {
            return dir;
        }
        log.accept("generating the embedded default GRM into " + dir);
        Files.createDirectories(cacheDir);
        Path tmp = Files.createTempDirectory(cacheDir, ".tiny-qwen3-");
        try {
            TinyModel.generate(TinyModel.Spec.defaultQwen3Tiny(), seed, tmp);
            try (InputStream in = new GZIPInputStream(resource("tokenizer.json.gz"))) {
                Files.copy(in, tmp.resolve("tokenizer.json"));
            }
            for (String name : new String[] {"tokenizer_config.json", "NOTICE", "LICENSE-tokenizer-qwen3"}) {
                try (InputStream in = resource(name)) {
                    Files.copy(in, tmp.resolve(name));
                }
            }
            Files.createDirectories(tmp.resolve(OnnxExports.ONNX_SUBDIR));
            OnnxExporter.exportDecoder(tmp, tmp.resolve(OnnxExports.ONNX_SUBDIR).resolve(OnnxExports.ONNX_FILE), OnnxExports.SERVING);
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
