package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * A model that does not fit the memory limit is refused at start-up, before any export: the server stays up,
 * NOT_SERVING, and every call says what the model needs and what is available.
 */
@QuarkusTest
@TestProfile(MemoryPlanRefusalTest.TightLimit.class)
class MemoryPlanRefusalTest {
    /** The JVM heap and the runtimes' reserve fit; the embedded model's activations (~0.2 GB) do not. */
    static final long LIMIT = Runtime.getRuntime().maxMemory() + (400L << 20) + (16L << 20);

    public static class TightLimit implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("principia.engine.memory-limit-bytes", Long.toString(LIMIT));
        }
    }

    @Test
    void notServingWithWhatTheModelNeedsAndWhatIsAvailable() throws InterruptedException {
        String m = GrpcTestSupport.notServingReason();
        assertTrue(m.contains("Qwen3ForCausalLM 0.01B in fp32 needs "), m);
        assertTrue(m.contains("of weights") && m.contains("of activations") && m.contains("of KV cache"), m);
        assertTrue(m.contains("are available (principia.engine.memory-limit-bytes)"), m);
    }
}
