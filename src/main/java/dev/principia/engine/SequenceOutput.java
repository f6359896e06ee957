package dev.principia.engine;

/**
 * What one sequence produced.
 *
 * @param index           position of the sequence in its request
 * @param tokenIds        generated tokens (forced ones included)
 * @param status          a finished status
 * @param error           why it failed, for {@link SequenceStatus#FINISHED_ERROR} and {@code FINISHED_ABORTED}; else null
 * @param numForkedTokens prompt tokens copied from another sequence's KV instead of computed
 */
public record SequenceOutput(int index, int[] tokenIds, SequenceStatus status, String error, int numForkedTokens) {
    public SequenceOutput {
        if (!status.isFinished()) throw new IllegalArgumentException("output of an unfinished sequence: " + status);
    }
}
