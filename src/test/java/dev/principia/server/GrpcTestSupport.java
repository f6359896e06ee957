package dev.principia.server;

import java.util.concurrent.TimeUnit;

import dev.principia.api.v1.Budget;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.Turn;
import dev.principia.api.v1.RewardServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A real gRPC channel to the test server, and request builders. */
final class GrpcTestSupport {
    static final int PORT = 9001;

    private GrpcTestSupport() {
    }

    static ManagedChannel channel() {
        return NettyChannelBuilder.forAddress("localhost", PORT).usePlaintext().build();
    }

    static void close(ManagedChannel channel) throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    /** A request with {@code n} responses, k samples and a generation limit that keeps tests fast. */
    static ScoreRequest.Builder request(String id, int n, int k, int maxNewTokens) {
        ScoreRequest.Builder b = ScoreRequest.newBuilder().setId(id)
                .addConversation(Turn.newBuilder().setRole("system").setContent("Be helpful."))
                .addConversation(Turn.newBuilder().setRole("user").setContent("Name a prime number greater than 10."))
                .setBudget(Budget.newBuilder().setSamples(k).setMaxNewTokens(maxNewTokens).setSeed(1234));
        for (int i = 0; i < n; i++) b.addResponses("Response " + i + ": " + (11 + 2 * i) + " is prime.");
        return b;
    }

    /**
     * For a server whose model failed to load: checks that health says NOT_SERVING and that a Score is UNAVAILABLE;
     * returns that status's description, which must say why.
     */
    static String notServingReason() throws InterruptedException {
        ManagedChannel channel = channel();
        try {
            HealthCheckResponse health = HealthGrpc.newBlockingStub(channel)
                    .check(HealthCheckRequest.newBuilder().setService(ModelRuntime.SERVICE).build());
            assertEquals(HealthCheckResponse.ServingStatus.NOT_SERVING, health.getStatus());
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> RewardServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(1, TimeUnit.MINUTES).score(request("x", 2, 1, 40).build()));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
            return e.getStatus().getDescription();
        } finally {
            close(channel);
        }
    }
}
