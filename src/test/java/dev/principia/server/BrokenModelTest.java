package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/** A model directory that cannot load leaves the server up, NOT_SERVING, and every call says why. */
@QuarkusTest
@TestProfile(BrokenModelTest.UnknownArchitecture.class)
class BrokenModelTest {
    static final Path DIR;

    static {
        try {
            DIR = Files.createTempDirectory("broken-model");
            Files.writeString(DIR.resolve("config.json"), "{\"architectures\": [\"MysteryForCausalLM\"], \"hidden_size\": 8}");
            Files.writeString(DIR.resolve("tokenizer.json"), "{}");
            Files.writeString(DIR.resolve("tokenizer_config.json"), "{}");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static class UnknownArchitecture implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("principia.model.dir", DIR.toString());
        }
    }

    @Test
    void reportsNotServingAndNamesTheFileAndProblem() throws InterruptedException {
        String message = GrpcTestSupport.notServingReason();
        assertTrue(message.contains(DIR.resolve("config.json").toString()), message);
        assertTrue(message.contains("MysteryForCausalLM"), message);
    }
}
