package dev.principia.server;

import java.util.concurrent.CompletableFuture;

import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

/**
 * One {@code ScoreStream} call with flow control in both directions. Inbound items are pulled from
 * the transport only as answers go out: at most {@code maxInFlight} items are requested and not yet
 * answered, and a new one is requested only while the outbound side is ready. So a client that floods
 * is held back by HTTP/2 flow control, a client that stops reading stops the pulling, and the memory
 * of a call is bounded by {@code maxInFlight} items and their answers. Every received item is answered
 * exactly once; the call completes after the client half-closes and the last answer is written.
 *
 * <p>Threads: gRPC calls {@link #onNext}, {@link #onCompleted}, {@link #onError} and the ready and
 * cancel handlers serially; answers complete on scoring threads. Writes to the call and the counters
 * are guarded by {@code this}.
 */
final class ScoreStreamCall implements StreamObserver<ScoreRequest> {

    /** Scores one item; completes exceptionally with the item's status on failure. */
    interface ItemScorer {
        CompletableFuture<ScoreResponse> score(ScoreRequest item, long arrivalNanos, CallCancellation cancellation);
    }

    private final ServerCallStreamObserver<ScoreResponse> call;
    private final int maxInFlight;
    private final ItemScorer scorer;
    private final CallCancellation cancellation = new CallCancellation();
    /** Items received and not yet answered. */
    private int numInFlight;
    /** Items the call may pull but has not requested, because the outbound side was not ready. */
    private int numOwed;
    private boolean halfClosed;
    private boolean closed;

    private ScoreStreamCall(ServerCallStreamObserver<ScoreResponse> call, int maxInFlight, ItemScorer scorer) {
        this.call = call;
        this.maxInFlight = maxInFlight;
        this.scorer = scorer;
    }

    /** Takes over the call's flow control and asks for the first {@code maxInFlight} items. */
    static ScoreStreamCall start(StreamObserver<ScoreResponse> responses, int maxInFlight, ItemScorer scorer) {
        ServerCallStreamObserver<ScoreResponse> call = (ServerCallStreamObserver<ScoreResponse>) responses;
        ScoreStreamCall s = new ScoreStreamCall(call, maxInFlight, scorer);
        call.disableAutoRequest();
        call.setOnReadyHandler(s::onReady);
        call.setOnCancelHandler(s::onCancel);
        call.request(maxInFlight);
        return s;
    }

    @Override
    public void onNext(ScoreRequest item) {
        long arrival = System.nanoTime();
        synchronized (this) {
            if (closed) return;
            numInFlight++;
        }
        CompletableFuture<ScoreResponse> answer = item.getId().isEmpty()
                ? CompletableFuture.failedFuture(Status.INVALID_ARGUMENT.withDescription(
                        "id: required in ScoreStream, where answers arrive out of order keyed by id").asRuntimeException())
                : scorer.score(item, arrival, cancellation);
        answer.whenComplete((r, t) -> answer(t == null ? r : RewardGrpcService.errorItem(item, t)));
    }

    private synchronized void answer(ScoreResponse response) {
        numInFlight--;
        if (closed) return;
        call.onNext(response);
        if (call.isReady()) {
            call.request(1);
        } else {
            numOwed++;
        }
        completeIfDone();
    }

    private synchronized void onReady() {
        while (numOwed > 0 && !closed && call.isReady()) {
            numOwed--;
            call.request(1);
        }
    }

    @Override
    public synchronized void onCompleted() {
        halfClosed = true;
        completeIfDone();
    }

    private void completeIfDone() {
        if (halfClosed && numInFlight == 0 && !closed) {
            closed = true;
            call.onCompleted();
        }
    }

    /** The client ended the call with an error: nothing more can be written; stop the work in flight. */
    @Override
    public void onError(Throwable t) {
        onCancel();
    }

    private void onCancel() {
        synchronized (this) {
            closed = true;
        }
        cancellation.cancel();
    }

    /** Items received and not yet answered, for tests and metrics. */
    synchronized int numInFlight() {
        return numInFlight;
    }

    int maxInFlight() {
        return maxInFlight;
    }
}
