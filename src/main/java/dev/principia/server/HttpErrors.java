package dev.principia.server;

import java.util.Map;

import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import io.grpc.Status;

/**
 * The one place where outcomes become HTTP answers: the gRPC status an outcome maps to
 * ({@link StatusMapping}) turned into an HTTP status, with a JSON body
 * {@code {"error": {"code": "INVALID_ARGUMENT", "message": "..."}}}.
 */
final class HttpErrors {
    private HttpErrors() {
    }

    static int httpStatus(Status.Code code) {
        return switch (code) {
            case OK -> 200;
            case INVALID_ARGUMENT, OUT_OF_RANGE -> 400;
            case UNAUTHENTICATED -> 401;
            case PERMISSION_DENIED -> 403;
            case NOT_FOUND -> 404;
            case FAILED_PRECONDITION -> 422;
            case RESOURCE_EXHAUSTED -> 429;
            case CANCELLED -> 499;
            case UNAVAILABLE -> 503;
            case DEADLINE_EXCEEDED -> 504;
            default -> 500;
        };
    }

    /** The answer for a failure; {@code t} may be a ScoringException, a StatusRuntimeException or anything else (500). */
    static Response of(Throwable t) {
        return of(StatusMapping.toStatus(t));
    }

    static Response of(Status status) {
        String message = status.getDescription() == null ? "" : status.getDescription();
        Response.ResponseBuilder b = Response.status(httpStatus(status.getCode())).type(MediaType.APPLICATION_JSON_TYPE)
                .entity(Map.of("error", Map.of("code", status.getCode().name(), "message", message)));
        if (status.getCode() == Status.Code.UNAUTHENTICATED) b.header("WWW-Authenticate", "Bearer");
        return b.build();
    }

    static Response invalid(String message) {
        return of(Status.INVALID_ARGUMENT.withDescription(message));
    }
}
