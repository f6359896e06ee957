package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.google.common.util.concurrent.ListenableFuture;

import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreResponse;
import dev.principia.engine.Engine;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.quarkus.test.junit.QuarkusTest;

/** Concurrency, client cancellation and deadlines over a real gRPC channel; KV is watched in the engine. */
@QuarkusTest
class EngineUnderLoadTest {
    private static ManagedChannel channel;

    @Inject
    ModelRuntime runtime;

    @BeforeAll
    static void connect() {
        channel = GrpcTestSupport.channel();
    }

    @AfterAll
    static void disconnect() throws InterruptedException {
        GrpcTestSupport.close(channel);
    }

    @Test
    void fiftyConcurrentScoreCallsAllComplete() throws Exception {
        RewardServiceGrpc.RewardServiceFutureStub stub = RewardServiceGrpc.newFutureStub(channel).withDeadlineAfter(10, TimeUnit.MINUTES);
        List<ListenableFuture<ScoreResponse>> calls = new ArrayList<>();
        for (int i = 0; i < 50; i++) calls.add(stub.score(GrpcTestSupport.request("c" + i, 1 + i % 3, 4, 32).build()));
        for (int i = 0; i < 50; i++) {
            ScoreResponse r = calls.get(i).get(10, TimeUnit.MINUTES);
            assertEquals("c" + i, r.getId());
            assertEquals(4, r.getUsage().getSamplesRun());
            assertEquals(1 + i % 3, r.getScoresCount());
        }
        awaitKvFree(runtime.engine());
    }

    @Test
    void clientCancelFreesKvAndTheServerKeepsServing() throws Exception {
        Engine engine = runtime.engine();
        long abortsBefore = engine.metrics().abortedRequests();
        Context.CancellableContext context = Context.current().withCancellation();
        StatusRuntimeException[] error = new StatusRuntimeException[1];
        context.run(() -> RewardServiceGrpc.newStub(channel).score(GrpcTestSupport.request("cancel-me", 2, 4, 1500).build(),
                new StreamObserver<>() {
                    @Override
                    public void onNext(ScoreResponse value) {
                    }

                    @Override
                    public void onError(Throwable t) {
                        error[0] = (StatusRuntimeException) t;
                    }

                    @Override
                    public void onCompleted() {
                    }
                }));
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (engine.kvUsedTokens() == 0 && System.nanoTime() < until) Thread.sleep(2);
        assertTrue(engine.kvUsedTokens() > 0, "the request reached the engine");
        context.cancel(null);
        awaitKvFree(engine);
        assertEquals(abortsBefore + 1, engine.metrics().abortedRequests());
        assertFalse(RewardServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.MINUTES)
                .score(GrpcTestSupport.request("after-cancel", 2, 2, 32).build()).hasError());
    }

    @Test
    void shortDeadlineIsExceededFreesKvAndTheServerKeepsServing() throws Exception {
        Engine engine = runtime.engine();
        long generatedBefore = engine.metrics().generatedTokens();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> RewardServiceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(50, TimeUnit.MILLISECONDS).score(GrpcTestSupport.request("deadline", 2, 4, 1500).build()));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode());
        awaitKvFree(engine);
        // aborted at the deadline, or forced to finish just before it (anytime scoring): never run to its limit
        assertTrue(engine.metrics().generatedTokens() - generatedBefore < 4 * 1500 / 2,
                "the expired request stopped early: " + (engine.metrics().generatedTokens() - generatedBefore) + " tokens");
        assertFalse(RewardServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.MINUTES)
                .score(GrpcTestSupport.request("after-deadline", 1, 1, 32).build()).hasError());
    }

    @Test
    void budgetDeadlineTooShortForAnySampleReportsDeadlineExceeded() {
        var request = GrpcTestSupport.request("deadline-ms", 2, 4, 1500);
        request.getBudgetBuilder().setDeadlineMs(1);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> RewardServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.MINUTES).score(request.build()));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("deadline"), e.getStatus().getDescription());
    }

    /** KV returns to zero once nothing is in flight; an abort frees it within one engine step. */
    private static void awaitKvFree(Engine engine) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while ((engine.kvUsedTokens() != 0 || engine.numPendingRequests() != 0) && System.nanoTime() < until) Thread.sleep(2);
        assertEquals(0, engine.kvUsedTokens());
        assertEquals(0, engine.numPendingRequests());
    }
}
