package dev.principia.engine;

/** Why a sequence ended, carried from the engine to the callers' status mapping. */
public enum Outcome {
    /** Stopped by a stop token or its controller, or reached its length. */
    FINISHED,
    /** Aborted by the caller. */
    CANCELLED,
    /** Its deadline passed. */
    DEADLINE,
    /** The engine was closed. */
    SHUTDOWN,
    /** The backend failed on a batch that held it, or the engine loop failed. */
    FAILED
}
