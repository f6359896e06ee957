package dev.principia.server;

import java.util.concurrent.CompletionException;

import dev.principia.api.v1.Error;
import dev.principia.grm.ScoringException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** The one place where outcomes become gRPC status codes. */
final class StatusMapping {
    private StatusMapping() {
    }

    static Status toStatus(Throwable t) {
        Throwable e = unwrap(t);
        if (e instanceof StatusRuntimeException sre) {
            return sre.getStatus();
        }
        if (e instanceof java.util.concurrent.CancellationException) {
            return Status.CANCELLED.withDescription("cancelled by the caller");
        }
        if (e instanceof ScoringException se) {
            Status.Code code = switch (se.kind()) {
                case INVALID_ARGUMENT -> Status.Code.INVALID_ARGUMENT;
                case FAILED_PRECONDITION -> Status.Code.FAILED_PRECONDITION;
                case RESOURCE_EXHAUSTED -> Status.Code.RESOURCE_EXHAUSTED;
                case DEADLINE_EXCEEDED -> Status.Code.DEADLINE_EXCEEDED;
                case CANCELLED -> Status.Code.CANCELLED;
                case UNAVAILABLE -> Status.Code.UNAVAILABLE;
                case INTERNAL -> Status.Code.INTERNAL;
            };
            return Status.fromCode(code).withDescription(se.getMessage());
        }
        return Status.INTERNAL.withDescription("internal error: " + e);
    }

    static StatusRuntimeException toException(Throwable t) {
        return toStatus(t).asRuntimeException();
    }

    static Error toError(Throwable t) {
        Status s = toStatus(t);
        return Error.newBuilder().setCode(s.getCode().value()).setMessage(s.getDescription() == null ? "" : s.getDescription()).build();
    }

    static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof java.util.concurrent.ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
