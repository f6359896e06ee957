package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.principia.api.v1.GetServerInfoRequest;
import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import dev.principia.api.v1.ServerInfo;
import io.grpc.ManagedChannel;
import io.quarkus.test.junit.QuarkusTest;

/** Adaptive voting, anytime scoring and caller principles over gRPC on the embedded default GRM. */
@QuarkusTest
class SpctScoringTest {
    private static ManagedChannel channel;
    private static RewardServiceGrpc.RewardServiceBlockingStub stub;

    @BeforeAll
    static void connect() {
        channel = GrpcTestSupport.channel();
        stub = RewardServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.MINUTES);
    }

    @AfterAll
    static void disconnect() throws InterruptedException {
        GrpcTestSupport.close(channel);
    }

    @Test
    void adaptiveVotingPicksTheSameBestAsFullVoting() {
        for (long seed = 1; seed <= 3; seed++) {
            ScoreRequest.Builder full = GrpcTestSupport.request("full", 2, 8, 32);
            full.getBudgetBuilder().setSeed(seed);
            ScoreRequest.Builder adaptive = full.clone().setId("adaptive");
            adaptive.getBudgetBuilder().setAdaptive(true);
            ScoreResponse a = stub.score(adaptive.setReturnSamples(true).build());
            ScoreResponse f = stub.score(full.setReturnSamples(true).build());
            assertEquals(f.getBestIndex(), a.getBestIndex(), "seed " + seed);
            assertEquals(8, a.getUsage().getSamplesRequested());
            assertEquals(8, a.getUsage().getSamplesRun() + a.getUsage().getSamplesSaved());
            assertFalse(a.getPartial());
            // the samples adaptive voting ran are the first ones of the full run, token for token
            for (int s = 0; s < a.getSamplesCount(); s++) assertEquals(f.getSamples(s).getText(), a.getSamples(s).getText());
        }
    }

    @Test
    void deadlineShorterThanTheSamplesGivesAPartialResult() {
        ScoreRequest.Builder r = GrpcTestSupport.request("anytime", 2, 4, 2000);
        r.getBudgetBuilder().setDeadlineMs(1500);
        long t0 = System.nanoTime();
        ScoreResponse response = stub.score(r.setReturnSamples(true).build());
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(response.getPartial(), "marked partial");
        assertTrue(response.getUsage().getSamplesValid() >= 1);
        assertTrue(response.getUsage().getSamplesCounted() >= 1);
        assertEquals(2, response.getScoresCount());
        assertTrue(millis < 1500 + 1000, "answered near the deadline, took " + millis + " ms");
        assertTrue(response.getSamplesList().stream().allMatch(s -> s.getText().length() < 2000 * 20), "samples were cut short");
    }

    @Test
    void callerPrinciplesAreCarriedAndTheModelOnlyCritiques() {
        ScoreResponse r = stub.score(GrpcTestSupport.request("principles", 2, 2, 32)
                .addPrinciples("Correctness: the number must be prime (70%)")
                .addPrinciples("Brevity (30%)").setReturnSamples(true).build());
        assertFalse(r.hasError());
        assertEquals(2, r.getScoresCount());
    }

    @Test
    void serverInfoReportsTheBudgetPolicy() {
        ServerInfo info = stub.getServerInfo(GetServerInfoRequest.getDefaultInstance());
        assertEquals(32, info.getBudgetPolicy().getMaxSamples());
        assertEquals(1, info.getBudgetPolicy().getDefaultSamples());
        assertEquals(0.5f, info.getBudgetPolicy().getSamplingTemperature());
    }
}
