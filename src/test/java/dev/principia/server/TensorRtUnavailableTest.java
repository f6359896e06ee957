package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIf;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * {@code principia.backend=tensorrt} on a machine without an NVIDIA driver (this one, CI): the server stays up,
 * NOT_SERVING, and every call says why; nothing of TensorRT was loaded (NoBytedecoLoadedIT reads this suite's log).
 */
@QuarkusTest
@TestProfile(TensorRtUnavailableTest.TensorRtRequested.class)
@DisabledIf("driverPresent")
class TensorRtUnavailableTest {

    static boolean driverPresent() {
        return Files.exists(Path.of("/proc/driver/nvidia/version"));
    }

    public static class TensorRtRequested implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("principia.backend", "tensorrt");
        }
    }

    @Test
    void refusesWithTheProbesReason() throws InterruptedException {
        String message = GrpcTestSupport.notServingReason();
        assertTrue(message.contains("principia.backend=tensorrt, but TensorRT cannot run here: no NVIDIA driver"), message);
    }
}
