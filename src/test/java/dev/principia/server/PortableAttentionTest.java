package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import dev.principia.api.v1.GetServerInfoRequest;
import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreResponse;
import dev.principia.api.v1.ServerInfo;
import io.grpc.ManagedChannel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * principia.backend.attention=portable on the embedded default: the portable graph is exported from its weights (the
 * directory's pre-exported graph is a plain one), served through the fixed-capacity in-place KV backend, scores over
 * real gRPC, and GetServerInfo says so.
 */
@QuarkusTest
@TestProfile(PortableAttentionTest.Portable.class)
class PortableAttentionTest {

    public static class Portable implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("principia.backend.attention", "portable", "principia.engine.max-num-seqs", "8");
        }
    }

    @Inject
    ModelRuntime runtime;

    @Test
    void servesTheEmbeddedDefaultThroughThePortableGraph() throws InterruptedException {
        ManagedChannel channel = GrpcTestSupport.channel();
        try {
            var stub = RewardServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.MINUTES);
            ServerInfo info = stub.getServerInfo(GetServerInfoRequest.getDefaultInstance());
            assertEquals("onnxruntime-cpu", info.getBackend());
            var grm = info.getModels(0);
            assertTrue(grm.getEmbeddedDefault());
            assertEquals("portable", grm.getAttention());
            assertEquals("fp32", grm.getWeightPrecision(), "exported from the weights, not the pre-exported graph");
            assertEquals(0, info.getMemoryPlan().getKvBytesPerToken() % 4, "fp32 KV");
            ScoreResponse r = stub.score(GrpcTestSupport.request("portable", 3, 4, 40).build());
            assertFalse(r.hasError(), r.getError().getMessage());
            assertEquals(3, r.getScoresCount());
            assertEquals(4, r.getUsage().getSamplesRun());
            assertEquals(r.getUsage().getSamplesRun(), r.getUsage().getSamplesValid(), "every sample finished");
            assertEquals(0, runtime.engine().metrics().failedSteps());
            assertEquals(0, runtime.engine().metrics().loopErrors());
        } finally {
            GrpcTestSupport.close(channel);
        }
    }
}
