package dev.principia.server;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

import jakarta.annotation.PostConstruct;
import jakarta.inject.Inject;

import dev.principia.api.v1.GetServerInfoRequest;
import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreBatchRequest;
import dev.principia.api.v1.ScoreBatchResponse;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import dev.principia.api.v1.ServerInfo;
import dev.principia.grm.GrmScorer;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.infrastructure.Infrastructure;

/**
 * gRPC front of the reward server. Handlers validate, hand the work to a worker (prompt rendering
 * and tokenizing never run on the event loop) and return at once. A client cancel or an expired
 * deadline aborts the call's engine sequences. In ScoreBatch and ScoreStream every item gets exactly
 * one answer and a bad item carries its own error; ScoreStream is flow-controlled ({@link ScoreStreamCall}).
 */
@GrpcService
public class RewardGrpcService extends RewardServiceGrpc.RewardServiceImplBase {

    @Inject
    ModelRuntime runtime;
    @Inject
    PrincipiaConfig config;
    @Inject
    MeterRegistry registry;

    private RequestMetrics metrics;
    private Executor workers;

    @PostConstruct
    void init() {
        metrics = new RequestMetrics(registry);
        workers = Infrastructure.getDefaultWorkerPool();
    }

    @Override
    public void score(ScoreRequest request, StreamObserver<ScoreResponse> responses) {
        long arrival = System.nanoTime();
        CallCancellation cancellation = cancellationOf(responses);
        scoreOne(request, arrival, callDeadlineNanos(), cancellation, "Score").whenComplete((r, t) -> {
            if (cancellation.isCancelled()) return;
            if (t != null) {
                responses.onError(StatusMapping.toException(t));
            } else {
                responses.onNext(r);
                responses.onCompleted();
            }
        });
    }

    @Override
    public void scoreBatch(ScoreBatchRequest request, StreamObserver<ScoreBatchResponse> responses) {
        long arrival = System.nanoTime();
        int max = config.limits().maxBatchItems();
        if (request.getRequestsCount() == 0) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription("requests: must hold at least one item").asRuntimeException());
            return;
        }
        if (request.getRequestsCount() > max) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription("requests: " + request.getRequestsCount()
                    + " items exceed the limit of " + max + " per ScoreBatch call; split the batch").asRuntimeException());
            return;
        }
        long deadline = callDeadlineNanos();
        CallCancellation cancellation = cancellationOf(responses);
        List<CompletableFuture<ScoreResponse>> items = new ArrayList<>(request.getRequestsCount());
        for (ScoreRequest item : request.getRequestsList()) {
            items.add(scoreOne(item, arrival, deadline, cancellation, "ScoreBatch").exceptionally(t -> errorItem(item, t)));
        }
        CompletableFuture.allOf(items.toArray(CompletableFuture[]::new)).whenComplete((v, t) -> {
            if (cancellation.isCancelled()) return;
            ScoreBatchResponse.Builder out = ScoreBatchResponse.newBuilder();
            for (CompletableFuture<ScoreResponse> item : items) out.addResponses(item.join());
            responses.onNext(out.build());
            responses.onCompleted();
        });
    }

    @Override
    public StreamObserver<ScoreRequest> scoreStream(StreamObserver<ScoreResponse> responses) {
        long deadline = callDeadlineNanos();
        return ScoreStreamCall.start(responses, config.limits().maxStreamInFlight(),
                (item, arrival, cancellation) -> scoreOne(item, arrival, deadline, cancellation, "ScoreStream"));
    }

    @Override
    public void getServerInfo(GetServerInfoRequest request, StreamObserver<ServerInfo> responses) {
        responses.onNext(ServerInfoMapping.toProto(runtime, config));
        responses.onCompleted();
    }

    /**
     * Scores one item: validation, planning and submission on a worker, the answer when the engine's
     * samples are tallied. Completes exceptionally with the item's gRPC status.
     */
    private CompletableFuture<ScoreResponse> scoreOne(ScoreRequest request, long arrivalNanos, long deadlineNanos,
                                                      CallCancellation cancellation, String rpc) {
        return CompletableFuture.supplyAsync(() -> {
                    if (cancellation.isCancelled()) {
                        // the transport cancels a call whose deadline passed too: that is an expiry, not a caller's cancel
                        throw (System.nanoTime() - deadlineNanos >= 0
                                ? Status.DEADLINE_EXCEEDED.withDescription("request " + request.getId() + ": deadline exceeded")
                                : Status.CANCELLED.withDescription("request " + request.getId() + ": cancelled by the caller"))
                                .asRuntimeException();
                    }
                    return runtime.score(ProtoMapping.toScoring(request, arrivalNanos, deadlineNanos));
                }, workers)
                .thenCompose(handle -> {
                    cancellation.attach(handle);
                    return handle.result();
                })
                .handle((result, t) -> {
                    if (t == null) {
                        metrics.record(rpc, Status.Code.OK, arrivalNanos, result);
                        return ProtoMapping.toProto(result, request.getReturnSamples());
                    }
                    Status status = StatusMapping.toStatus(t);
                    metrics.record(rpc, status.getCode(), arrivalNanos, null);
                    throw status.asRuntimeException();
                });
    }

    /** The call's cancellation: a client cancel or the call's deadline aborts what it attached. */
    private static CallCancellation cancellationOf(StreamObserver<?> responses) {
        CallCancellation cancellation = new CallCancellation();
        ((ServerCallStreamObserver<?>) responses).setOnCancelHandler(cancellation::cancel);
        return cancellation;
    }

    static ScoreResponse errorItem(ScoreRequest item, Throwable t) {
        return ScoreResponse.newBuilder().setId(item.getId()).setError(StatusMapping.toError(t)).build();
    }

    /** The call's gRPC deadline as a {@link System#nanoTime()} instant; {@link Long#MAX_VALUE} when none. */
    private static long callDeadlineNanos() {
        Deadline d = Context.current().getDeadline();
        if (d == null) return Long.MAX_VALUE;
        return System.nanoTime() + d.timeRemaining(TimeUnit.NANOSECONDS);
    }
}
