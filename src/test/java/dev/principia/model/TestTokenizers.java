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
}
