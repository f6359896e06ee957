package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.principia.api.v1.Budget;
import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import dev.principia.api.v1.Turn;
import dev.principia.cli.ScoreCommand;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.quarkus.test.junit.QuarkusIntegrationTest;

/**
 * The packaged application, as README's first command runs it (the trained arithmetic default and its meta-RM),
 * scores over gRPC: the built-in example that {@code demo} asks, with the right answer ranked first, and any other
 * request.
 */
@QuarkusIntegrationTest
class PackagedAppIT {

    @Test
    void demoExampleRanksTheRightAnswerFirst() throws Exception {
        ManagedChannel channel = NettyChannelBuilder.forAddress("localhost", 9002).usePlaintext().build();
        try {
            ScoreRequest request = ScoreRequest.newBuilder().setId("demo")
                    .addConversation(Turn.newBuilder().setRole("user").setContent(ScoreCommand.BUILT_IN_QUERY))
                    .addAllResponses(ScoreCommand.BUILT_IN_RESPONSES).setBudget(Budget.newBuilder().setSamples(4))
                    .setReturnSamples(true).build();
            ScoreResponse r = RewardServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.MINUTES).score(request);
            assertEquals(1, r.getBestIndex(), "the right sum (85) ranks first: " + r.getScoresList());
            assertEquals(4, r.getUsage().getSamplesValid(), "every sample writes its own score block");
            assertEquals(0, r.getUsage().getSamplesForced());
            assertTrue(r.getSamples(0).getText().contains("Result: 85."), r.getSamples(0).getText());
            assertTrue(r.getSamples(0).getMetaScore() != 0f, "the embedded meta-RM ran");
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void packagedServerScoresAnyRequestOverGrpc() throws Exception {
        ManagedChannel channel = NettyChannelBuilder.forAddress("localhost", 9002).usePlaintext().build();
        try {
            ScoreResponse r = RewardServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.MINUTES)
                    .score(GrpcTestSupport.request("it", 2, 4, 40).build());
            assertFalse(r.hasError());
            assertEquals(2, r.getScoresCount());
            assertEquals(4, r.getUsage().getSamplesRun());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
