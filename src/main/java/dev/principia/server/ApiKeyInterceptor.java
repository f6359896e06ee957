package dev.principia.server;

import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.quarkus.grpc.GlobalInterceptor;

/**
 * API-key authentication for {@code principia.v1.RewardService} when {@code principia.auth.api-keys} is
 * set: a call must carry {@code authorization: Bearer <key>} (or {@code x-api-key: <key>}) with one of the
 * keys, else it fails with UNAUTHENTICATED before any work. Health and reflection stay open, so probes
 * and tooling work without a key. Keys are compared in constant time.
 */
@ApplicationScoped
@GlobalInterceptor
public class ApiKeyInterceptor implements ServerInterceptor {
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> API_KEY = Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER);

    @Inject
    PrincipiaConfig config;

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        List<String> keys = config.auth().apiKeys().orElse(List.of());
        if (keys.isEmpty() || !ModelRuntime.SERVICE.equals(call.getMethodDescriptor().getServiceName())) {
            return next.startCall(call, headers);
        }
        String presented = presentedKey(headers);
        if (presented == null || !ApiKeys.matches(presented, keys)) {
            call.close(Status.UNAUTHENTICATED.withDescription(presented == null
                    ? "missing API key: send the metadata 'authorization: Bearer <key>' (or 'x-api-key: <key>')"
                    : "invalid API key"), new Metadata());
            return new ServerCall.Listener<>() {
            };
        }
        return next.startCall(call, headers);
    }

    private static String presentedKey(Metadata headers) {
        String auth = headers.get(AUTHORIZATION);
        if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) return auth.substring(7).strip();
        String key = headers.get(API_KEY);
        return key == null ? null : key.strip();
    }
}
