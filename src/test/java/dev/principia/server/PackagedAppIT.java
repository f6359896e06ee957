package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.quarkus.test.junit.QuarkusIntegrationTest;

/** The packaged application, as README's first command runs it, scores a request over gRPC. */
@QuarkusIntegrationTest
class PackagedAppIT {

    @Test
    void packagedServerScoresOverGrpc() throws Exception {
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
