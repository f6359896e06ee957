package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

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
        ManagedChannel channel = GrpcTestSupport.channel();
        try {
            HealthCheckResponse health = HealthGrpc.newBlockingStub(channel)
                    .check(HealthCheckRequest.newBuilder().setService(ModelRuntime.SERVICE).build());
            assertEquals(HealthCheckResponse.ServingStatus.NOT_SERVING, health.getStatus());
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> RewardServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(1, TimeUnit.MINUTES).score(GrpcTestSupport.request("x", 2, 1, 40).build()));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
            String m = e.getStatus().getDescription();
            assertTrue(m.contains("Qwen3ForCausalLM 0.01B in fp32 needs "), m);
            assertTrue(m.contains("of weights") && m.contains("of activations") && m.contains("of KV cache"), m);
            assertTrue(m.contains("are available (principia.engine.memory-limit-bytes)"), m);
        } finally {
            GrpcTestSupport.close(channel);
        }
    }
}
