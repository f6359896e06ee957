package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIf;

import dev.principia.api.v1.RewardServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
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
        ManagedChannel channel = GrpcTestSupport.channel();
        try {
            HealthCheckResponse health = HealthGrpc.newBlockingStub(channel)
                    .check(HealthCheckRequest.newBuilder().setService("principia.v1.RewardService").build());
            assertEquals(HealthCheckResponse.ServingStatus.NOT_SERVING, health.getStatus());
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> RewardServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(1, TimeUnit.MINUTES).score(GrpcTestSupport.request("x", 2, 1, 40).build()));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
            String message = e.getStatus().getDescription();
            assertTrue(message.contains("principia.backend=tensorrt, but TensorRT cannot run here: no NVIDIA driver"), message);
        } finally {
            GrpcTestSupport.close(channel);
        }
    }
}
