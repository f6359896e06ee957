package dev.principia.engine;

/**
 * Why a sequence or a scoring call ended, carried from the engine to its callers so that they map it
 * to a status in one place instead of reading messages.
 */
public enum Outcome {
    /** Stopped (stop token or controller) or reached its length: the output is complete. */
    FINISHED,
    /** Aborted by the caller. */
    CANCELLED,
    /** Its deadline passed first. */
    DEADLINE,
    /** The engine was closed first. */
    SHUTDOWN,
    /** The backend failed on its batch, or the engine loop hit an error. */
    FAILED;

    /** The status an output ending this way carries ({@code FINISHED} has two; it gives neither). */
    SequenceStatus abortStatus() {
        return switch (this) {
            case FINISHED -> throw new IllegalArgumentException("FINISHED is not a reason to abort");
            case FAILED -> SequenceStatus.FINISHED_ERROR;
            default -> SequenceStatus.FINISHED_ABORTED;
        };
    }
}
