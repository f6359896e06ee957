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
}
