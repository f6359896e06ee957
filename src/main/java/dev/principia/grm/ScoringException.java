package dev.principia.grm;

/**
 * A scoring request that cannot be answered, with the kind of failure. The server maps kinds to
 * gRPC status codes in one place; messages are written for the caller.
 */
public class ScoringException extends RuntimeException {

    /** Why a request failed, in the terms of the gRPC status litmus test. */
    public enum Kind {
        /** Fix the input (names the field). */
        INVALID_ARGUMENT,
        /** Nothing usable came out, e.g. no valid sample. */
        FAILED_PRECONDITION,
        /** Queue or budget full: back off. */
        RESOURCE_EXHAUSTED,
        DEADLINE_EXCEEDED,
        CANCELLED,
        /** Not ready (loading, draining): retry. */
        UNAVAILABLE,
        INTERNAL
    }

    private final Kind kind;

    public ScoringException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public ScoringException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    public static ScoringException invalid(String field, String message) {
        return new ScoringException(Kind.INVALID_ARGUMENT, field + ": " + message);
    }
}
