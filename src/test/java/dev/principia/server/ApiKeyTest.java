package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.principia.api.v1.RewardServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.MetadataUtils;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/** API-key authentication on RewardService; health stays open for probes. */
@QuarkusTest
@TestProfile(ApiKeyTest.WithKeys.class)
class ApiKeyTest {

    public static class WithKeys implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("principia.auth.api-keys", "alpha-key,beta-key");
        }
    }

    private static RewardServiceGrpc.RewardServiceBlockingStub stub(ManagedChannel channel, String header, String value) {
        RewardServiceGrpc.RewardServiceBlockingStub s = RewardServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.MINUTES);
        if (header == null) return s;
        Metadata m = new Metadata();
        m.put(Metadata.Key.of(header, Metadata.ASCII_STRING_MARSHALLER), value);
        return s.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m));
    }

    @Test
    void keysAreRequiredForScoringButNotForHealth() throws InterruptedException {
        ManagedChannel channel = GrpcTestSupport.channel();
        try {
            var request = GrpcTestSupport.request("auth", 2, 1, 40).build();
            StatusRuntimeException missing = assertThrows(StatusRuntimeException.class, () -> stub(channel, null, null).score(request));
            assertEquals(Status.Code.UNAUTHENTICATED, missing.getStatus().getCode());
            assertTrue(missing.getStatus().getDescription().contains("authorization: Bearer"), missing.getStatus().getDescription());
            StatusRuntimeException wrong = assertThrows(StatusRuntimeException.class,
                    () -> stub(channel, "authorization", "Bearer nope").score(request));
            assertEquals(Status.Code.UNAUTHENTICATED, wrong.getStatus().getCode());
            assertFalse(stub(channel, "authorization", "Bearer beta-key").score(request).hasError());
            assertFalse(stub(channel, "x-api-key", "alpha-key").score(request).hasError());
            assertEquals(HealthCheckResponse.ServingStatus.SERVING,
                    HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.getDefaultInstance()).getStatus());
        } finally {
            GrpcTestSupport.close(channel);
        }
    }

    @Test
    void collectStopsWithTheStreamErrorInsteadOfHanging(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.util.List<String> lines = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++) {
            lines.add("{\"pair_uid\":\"p" + i + "\",\"conversation_input\":[{\"role\":\"user\",\"content\":\"q" + i
                    + "\"}],\"chosen\":{\"answer\":\"a\"},\"reject\":{\"answer\":\"b\"}}");
        }
        java.nio.file.Path input = dir.resolve("items.jsonl");
        java.nio.file.Files.write(input, lines);
        var options = new dev.principia.cli.DataCollector.Options("localhost:" + GrpcTestSupport.PORT, input, dir.resolve("out"), 2, 32,
                0.5f, 0, 2, 7, null);
        java.io.IOException e = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60),
                () -> assertThrows(java.io.IOException.class, () -> dev.principia.cli.DataCollector.run(options,
                        new java.io.PrintStream(java.io.OutputStream.nullOutputStream()))));
        assertTrue(e.getMessage().contains("UNAUTHENTICATED"), e.getMessage());
    }
}
