package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLException;

import org.junit.jupiter.api.Test;

import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.certs.CertificateFiles;
import io.smallrye.certs.CertificateGenerator;
import io.smallrye.certs.CertificateRequest;
import io.smallrye.certs.Format;
import io.smallrye.certs.PemCertificateFiles;
import io.smallrye.certs.Pkcs12CertificateFiles;

/**
 * The gRPC port with TLS and required client certificates (mTLS), configured as README says, over
 * real TLS channels with certificates generated here: a client with the trusted certificate is
 * served; one without a certificate, with an untrusted one, or in plain text is refused.
 */
@QuarkusTest
@TestProfile(GrpcTlsTest.MutualTls.class)
class GrpcTlsTest {
    static final String PASSWORD = "changeit";

    /** A CA-less pair of self-signed server and client certificates, and an unrelated "rogue" client; generated on first use. */
    static final class Certs {
        static final PemCertificateFiles PEM;
        static final Pkcs12CertificateFiles P12;
        static final PemCertificateFiles ROGUE;

        static {
            try {
                CertificateGenerator generator = new CertificateGenerator(Files.createTempDirectory("principia-certs"), true);
                List<CertificateFiles> files = generator.generate(new CertificateRequest().withName("principia").withCN("localhost")
                        .withFormat(Format.PEM).withFormat(Format.PKCS12).withClientCertificate().withPassword(PASSWORD));
                PEM = only(files, PemCertificateFiles.class);
                P12 = only(files, Pkcs12CertificateFiles.class);
                ROGUE = only(generator.generate(new CertificateRequest().withName("rogue").withCN("localhost")
                        .withFormat(Format.PEM).withClientCertificate()), PemCertificateFiles.class);
            } catch (Exception e) {
                throw new IllegalStateException("certificate generation failed", e);
            }
        }

        private static <T> T only(List<CertificateFiles> files, Class<T> type) {
            return files.stream().filter(type::isInstance).map(type::cast).findFirst().orElseThrow();
        }
    }

    /** README's mTLS settings: server certificate and key (PEM), a PKCS12 trust store of client certificates, client auth required. */
    public static class MutualTls implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "quarkus.grpc.server.ssl.certificate", Certs.PEM.certFile().toString(),
                    "quarkus.grpc.server.ssl.key", Certs.PEM.keyFile().toString(),
                    "quarkus.grpc.server.ssl.trust-store", Certs.P12.serverTrustStoreFile().toString(),
                    "quarkus.grpc.server.ssl.trust-store-password", PASSWORD,
                    "quarkus.grpc.server.ssl.client-auth", "REQUIRED");
        }
    }

    private static ManagedChannel tls(Path clientCert, Path clientKey) throws SSLException {
        SslContextBuilder ssl = GrpcSslContexts.forClient().trustManager(Certs.PEM.trustFile().toFile());
        if (clientCert != null) ssl.keyManager(clientCert.toFile(), clientKey.toFile());
        return NettyChannelBuilder.forAddress("localhost", GrpcTestSupport.PORT).sslContext(ssl.build()).build();
    }

    private static ScoreResponse score(ManagedChannel channel) {
        return RewardServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.MINUTES)
                .score(GrpcTestSupport.request("tls", 2, 1, 40).build());
    }

    @Test
    void aClientWithTheTrustedCertificateIsServed() throws Exception {
        ManagedChannel channel = tls(Certs.PEM.clientCertFile(), Certs.PEM.clientKeyFile());
        try {
            assertEquals(HealthCheckResponse.ServingStatus.SERVING, HealthGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(1, TimeUnit.MINUTES).check(HealthCheckRequest.getDefaultInstance()).getStatus());
            ScoreResponse r = score(channel);
            assertFalse(r.hasError());
            assertEquals(2, r.getScoresCount());
        } finally {
            GrpcTestSupport.close(channel);
        }
    }

    @Test
    void clientsWithoutATrustedCertificateOrWithoutTlsAreRefused() throws Exception {
        for (ManagedChannel channel : List.of(tls(null, null), tls(Certs.ROGUE.clientCertFile(), Certs.ROGUE.clientKeyFile()), GrpcTestSupport.channel())) {
            try {
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> score(channel));
                assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
            } finally {
                GrpcTestSupport.close(channel);
            }
        }
    }
}
