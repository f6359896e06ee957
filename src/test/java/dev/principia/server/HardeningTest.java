package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.principia.api.v1.Budget;
import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import dev.principia.api.v1.Mode;
import dev.principia.api.v1.Turn;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.quarkus.test.junit.QuarkusTest;

/** Regression tests for the hardening issue, over a real gRPC channel to the test server. */
@QuarkusTest
class HardeningTest {
    private static ManagedChannel channel;
    private static RewardServiceGrpc.RewardServiceBlockingStub stub;

    @Inject
    ModelRuntime runtime;

    @BeforeAll
    static void connect() {
        channel = GrpcTestSupport.channel();
        stub = RewardServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.MINUTES);
    }

    @AfterAll
    static void disconnect() throws InterruptedException {
        GrpcTestSupport.close(channel);
    }

    private static Status.Code code(ScoreRequest r) {
        return assertThrows(StatusRuntimeException.class, () -> stub.score(r)).getStatus().getCode();
    }

    @Test
    void priorityIsBounded() {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> stub.score(GrpcTestSupport.request("p", 2, 1, 40).setPriority(Integer.MIN_VALUE).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().startsWith("priority: must be in -100..100"), e.getStatus().getDescription());
        assertEquals(Status.Code.INVALID_ARGUMENT, code(GrpcTestSupport.request("p", 2, 1, 40).setPriority(101).build()));
        assertFalse(stub.score(GrpcTestSupport.request("p", 2, 1, 40).setPriority(100).build()).hasError());
    }

    @Test
    void scalarModeValidatesTheBudget() {
        ScoreRequest.Builder r = GrpcTestSupport.request("s", 2, 1, 40).setMode(Mode.MODE_SCALAR);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> stub.score(r.setBudget(Budget.newBuilder().setSamples(1000)).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().startsWith("budget.samples: 1000 exceeds"), e.getStatus().getDescription());
        assertEquals(2, stub.score(r.setBudget(Budget.newBuilder().setSamples(1)).build()).getScoresCount());
    }

    @Test
    void anExpiredCallIsCountedAsDeadlineNotCancelled() throws Exception {
        double cancelledBefore = metric("CANCELLED");
        double expiredBefore = metric("DEADLINE_EXCEEDED");
        // keep the engine busy with higher-priority work, so the short call can only expire in the queue
        io.grpc.Context.CancellableContext busy = io.grpc.Context.current().withCancellation();
        busy.run(() -> {
            for (int i = 0; i < 4; i++) {
                RewardServiceGrpc.newFutureStub(channel).score(GrpcTestSupport.request("busy" + i, 2, 32, 2048).setPriority(100).build());
            }
        });
        try {
            ScoreRequest late = GrpcTestSupport.request("late", 2, 8, 2048).setPriority(-100).build();
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> RewardServiceGrpc.newBlockingStub(channel).withDeadlineAfter(300, TimeUnit.MILLISECONDS).score(late));
            assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode());
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (metric("DEADLINE_EXCEEDED") == expiredBefore && System.nanoTime() < until) Thread.sleep(50);
            assertEquals(expiredBefore + 1, metric("DEADLINE_EXCEEDED"), "the server counts the expiry as DEADLINE_EXCEEDED");
            assertEquals(cancelledBefore, metric("CANCELLED"), "not as CANCELLED");
        } finally {
            busy.cancel(null);
        }
    }

    /** principia_requests_total{code=CODE,rpc="Score"}. */
    private static double metric(String code) throws Exception {
        String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://localhost:8081/q/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("principia_requests_total\\{code=\"" + code + "\",rpc=\"Score\"} ([0-9.E]+)").matcher(body);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    /**
     * A client that writes slow items (k = 32, 1,024 new tokens) and never reads an answer: the server pulls only as many
     * as it may have in flight, so HTTP/2 flow control soon stops the client. Before flow control the
     * server buffered every item (3,000 items of 30 kB grew its RSS by 0.9 GB).
     */
    @Test
    void aFloodingClientThatDoesNotReadIsHeldBack() throws Exception {
        int total = 3000;
        String filler = "word ".repeat(800);
        int[] sent = new int[1];
        ClientCallStreamObserver<ScoreRequest>[] requests = new ClientCallStreamObserver[1];
        Object lock = new Object();
        RewardServiceGrpc.newStub(channel).scoreStream(new ClientResponseObserver<ScoreRequest, ScoreResponse>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<ScoreRequest> r) {
                requests[0] = r;
                r.disableAutoRequestWithInitial(0); // never read an answer
                r.setOnReadyHandler(() -> {
                    synchronized (lock) {
                        lock.notifyAll();
                    }
                });
            }

            @Override
            public void onNext(ScoreResponse value) {
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onCompleted() {
            }
        });
        long stalledSince = System.nanoTime();
        while (sent[0] < total) {
            if (requests[0].isReady()) {
                ScoreRequest.Builder item = ScoreRequest.newBuilder().setId("flood-" + sent[0])
                        .addConversation(Turn.newBuilder().setRole("user").setContent("Rate these. " + sent[0]))
                        .setBudget(Budget.newBuilder().setSamples(32).setMaxNewTokens(1024));
                for (int i = 0; i < 8; i++) item.addResponses(i + " " + filler.substring(0, 800)); // valid: about 1,700 prompt tokens
                requests[0].onNext(item.build());
                sent[0]++;
                stalledSince = System.nanoTime();
            } else {
                if (System.nanoTime() - stalledSince > TimeUnit.SECONDS.toNanos(3)) break;
                synchronized (lock) {
                    lock.wait(100);
                }
            }
        }
        int maxInFlight = 64;
        assertTrue(sent[0] < 600, "the server pulled " + sent[0] + " items of about 8 kB from a client that reads nothing; "
                + maxInFlight + " may be in flight");
        requests[0].cancel("test done", null);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (runtime.engine().numPendingRequests() > 0 && System.nanoTime() < until) Thread.sleep(50);
        assertEquals(0, runtime.engine().numPendingRequests(), "the cancelled call's work is aborted");
        assertEquals(0, runtime.engine().kvUsedTokens(), "and its KV freed");
        assertFalse(stub.score(GrpcTestSupport.request("after", 2, 1, 40).build()).hasError(), "the server keeps serving");
    }
}
