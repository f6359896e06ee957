package dev.principia.engine;

/** Lifecycle of a sequence, ordered so that {@link #isFinished()} is one comparison. */
public enum SequenceStatus {
    WAITING,
    RUNNING,
    PREEMPTED,
    /** Stopped by a stop token or its controller. */
    FINISHED_STOPPED,
    /** Reached its {@code maxNewTokens} or the model's length limit. */
    FINISHED_LENGTH,
    /** Cancelled by the caller or past its deadline. */
    FINISHED_ABORTED,
    /** The backend failed on a batch that held it. */
    FINISHED_ERROR;

    public boolean isFinished() {
        return compareTo(FINISHED_STOPPED) >= 0;
    }
}
