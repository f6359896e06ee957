package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import com.google.common.util.concurrent.ListenableFuture;

import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreResponse;
import io.grpc.ManagedChannel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * Two KV slots and requests whose samples all share one prompt: forks whose parent finished (and freed
 * its slot) must compute their prefix or copy from a live sibling. Before the fix the engine loop failed
 * ("cannot copy 368 positions from slot 0 holding 0"), answered 7 of 8 samples and aborted other requests.
 */
@QuarkusTest
@TestProfile(SlotPressureTest.TwoSlots.class)
class SlotPressureTest {

    public static class TwoSlots implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("principia.engine.max-num-seqs", "2");
        }
    }

    @Inject
    ModelRuntime runtime;

    @Test
    void forksSurviveSlotPressureAndNothingElseIsAborted() throws Exception {
        ManagedChannel channel = GrpcTestSupport.channel();
        try {
            var stub = RewardServiceGrpc.newFutureStub(channel).withDeadlineAfter(5, TimeUnit.MINUTES);
            List<ListenableFuture<ScoreResponse>> calls = new ArrayList<>();
            for (int i = 0; i < 4; i++) calls.add(stub.score(GrpcTestSupport.request("one-" + i, 1, 8, 12).build()));
            calls.add(stub.score(GrpcTestSupport.request("two", 2, 4, 40).build()));
            for (ListenableFuture<ScoreResponse> call : calls) {
                ScoreResponse r = call.get(5, TimeUnit.MINUTES);
                assertFalse(r.hasError(), r.getId());
                assertEquals(r.getUsage().getSamplesRequested(), r.getUsage().getSamplesRun(), r.getId());
                assertEquals(r.getUsage().getSamplesRun(), r.getUsage().getSamplesValid(), r.getId() + ": every sample finished");
            }
            assertEquals(0, runtime.engine().metrics().loopErrors());
            assertEquals(0, runtime.engine().metrics().failedSteps());
            assertEquals(0, runtime.engine().metrics().abortedRequests());
        } finally {
            GrpcTestSupport.close(channel);
        }
    }
}
