package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import com.google.common.util.concurrent.ListenableFuture;

import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import io.grpc.ManagedChannel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/** Load-aware degradation with a queue-wait target any real queue exceeds. */
@QuarkusTest
@TestProfile(DegradationTest.TightTarget.class)
class DegradationTest {

    @jakarta.inject.Inject
    ModelRuntime runtime;

    public static class TightTarget implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("principia.budget.target-queue-wait-ms", "1");
        }
    }

    @Test
    void underLoadRequestsThatAllowItGetFewerSamplesButNeverBelowMinSamples() throws Exception {
        ManagedChannel channel = GrpcTestSupport.channel();
        try {
            RewardServiceGrpc.RewardServiceFutureStub stub = RewardServiceGrpc.newFutureStub(channel).withDeadlineAfter(10, TimeUnit.MINUTES);
            stub.score(GrpcTestSupport.request("warm-up", 2, 2, 48).build()).get(10, TimeUnit.MINUTES); // the engine learns its rate
            List<ListenableFuture<ScoreResponse>> flexible = new ArrayList<>();
            List<ListenableFuture<ScoreResponse>> fixed = new ArrayList<>();
            for (int i = 0; i < 12; i++) fixed.add(stub.score(GrpcTestSupport.request("fixed" + i, 2, 8, 48).build()));
            // under load: the flexible requests arrive once the fixed ones are queued in the engine
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (runtime.engine().estimatedWaitMillis() <= 1 && System.nanoTime() < until) Thread.sleep(5);
            for (int i = 0; i < 12; i++) {
                ScoreRequest.Builder f = GrpcTestSupport.request("flex" + i, 2, 8, 48);
                f.getBudgetBuilder().setMinSamples(3);
                flexible.add(stub.score(f.build()));
            }
            int degraded = 0;
            for (ListenableFuture<ScoreResponse> call : flexible) {
                ScoreResponse r = call.get(10, TimeUnit.MINUTES);
                assertEquals(8, r.getUsage().getSamplesRequested());
                assertTrue(r.getUsage().getSamplesRun() >= 3, "never below min_samples: " + r.getUsage().getSamplesRun());
                if (r.getDegraded()) {
                    degraded++;
                    assertTrue(r.getUsage().getSamplesRun() < 8);
                    assertTrue(r.getDegradedReason().contains("exceeds the target of 1 ms"), r.getDegradedReason());
                }
            }
            assertTrue(degraded > 0, "some request saw a queue and was lowered");
            for (ListenableFuture<ScoreResponse> call : fixed) {
                ScoreResponse r = call.get(10, TimeUnit.MINUTES);
                assertFalse(r.getDegraded(), "min_samples unset: k is fixed");
                assertEquals(8, r.getUsage().getSamplesRun());
            }
        } finally {
            GrpcTestSupport.close(channel);
        }
    }
}
