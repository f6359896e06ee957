package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import com.google.common.util.concurrent.ListenableFuture;

import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;

/**
 * SIGTERM under load, on the packaged server as a user starts it: 16 meta-guided requests in flight,
 * a drain timeout too short for them, then SIGTERM. Every admitted request is answered exactly once,
 * with a result or UNAVAILABLE (never INTERNAL, never lost; FAILED_PRECONDITION only when no sample of the request
 * held a valid score block, which the embedded arithmetic judge may write for these generic requests), and the JVM
 * exits without a native crash.
 * Before, the meta-RM's ONNX Runtime session was closed under its running thread (SIGSEGV).
 */
class DrainIT {
    private static final int GRPC_PORT = 9003;

    @Test
    void sigtermUnderLoadAnswersEveryAdmittedRequestAndExitsCleanly() throws Exception {
        Path log = Files.createTempFile("principia-drain", ".log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process server = new ProcessBuilder(java, "-Dquarkus.grpc.server.port=" + GRPC_PORT, "-Dquarkus.http.port=8083",
                "-Dprincipia.model.cache-dir=target/principia-cache", "-Dprincipia.engine.drain-timeout-ms=1500",
                "-jar", "target/quarkus-app/quarkus-run.jar")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        ManagedChannel channel = NettyChannelBuilder.forAddress("localhost", GRPC_PORT).usePlaintext().build();
        try {
            awaitServing(channel, server);
            var stub = RewardServiceGrpc.newFutureStub(channel).withDeadlineAfter(5, TimeUnit.MINUTES);
            List<ListenableFuture<ScoreResponse>> calls = new ArrayList<>();
            for (int i = 0; i < 16; i++) calls.add(stub.score(GrpcTestSupport.request("drain-" + i, 2, 4, 1024).build()));
            Thread.sleep(1500); // admitted and running
            server.destroy(); // SIGTERM
            int ok = 0;
            int unavailable = 0;
            for (ListenableFuture<ScoreResponse> call : calls) {
                try {
                    assertFalse(call.get(2, TimeUnit.MINUTES).hasError());
                    ok++;
                } catch (ExecutionException e) {
                    Status status = ((StatusRuntimeException) e.getCause()).getStatus();
                    // the embedded arithmetic judge writes noise for these generic requests: a request all of whose
                    // samples lack a valid score block is answered, precisely, with FAILED_PRECONDITION
                    boolean noValidSample = status.getCode() == Status.Code.FAILED_PRECONDITION
                            && String.valueOf(status.getDescription()).contains("produced a valid score block");
                    if (!noValidSample) assertEquals(Status.Code.UNAVAILABLE, status.getCode(), "cut off by the shutdown: " + status);
                    unavailable++;
                }
            }
            assertEquals(16, ok + unavailable);
            assertTrue(server.waitFor(2, TimeUnit.MINUTES), "the server exits after SIGTERM");
            String out = Files.readString(log);
            assertFalse(out.contains("SIGSEGV") || out.contains("A fatal error has been detected"), out);
            assertTrue(server.exitValue() == 0 || server.exitValue() == 143, "exit code " + server.exitValue() + "\n" + out);
            File[] crashes = new File(".").listFiles((d, name) -> name.startsWith("hs_err_pid" + server.pid()));
            assertEquals(0, crashes == null ? 0 : crashes.length, "no JVM crash file");
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            server.destroyForcibly();
            Files.deleteIfExists(log);
        }
    }

    private static void awaitServing(ManagedChannel channel, Process server) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (System.nanoTime() < until && server.isAlive()) {
            try {
                HealthCheckResponse r = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(2, TimeUnit.SECONDS)
                        .check(HealthCheckRequest.newBuilder().setService(ModelRuntime.SERVICE).build());
                if (r.getStatus() == HealthCheckResponse.ServingStatus.SERVING) return;
            } catch (StatusRuntimeException e) {
                // not up yet
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the packaged server did not reach SERVING");
    }
}
