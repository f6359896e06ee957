package dev.principia.engine;

/**
 * What one sequence produced.
 *
 * @param index           position of the sequence in its request
 * @param tokenIds        generated tokens (forced ones included)
 * @param status          a finished status
 * @param outcome         why it ended: {@code FINISHED} for {@code FINISHED_STOPPED}/{@code FINISHED_LENGTH},
 *                        {@code FAILED} for {@code FINISHED_ERROR}, else the reason of {@code FINISHED_ABORTED}
 * @param error           why it failed or was aborted, in words (a message, not a key); null when {@code FINISHED}
 * @param numForkedTokens prompt tokens copied from another sequence's KV instead of computed
 */
public record SequenceOutput(int index, int[] tokenIds, SequenceStatus status, Outcome outcome, String error, int numForkedTokens) {
    public SequenceOutput {
        if (!status.isFinished()) throw new IllegalArgumentException("output of an unfinished sequence: " + status);
        if (outcome == null) throw new IllegalArgumentException("outcome must not be null");
        boolean finished = status == SequenceStatus.FINISHED_STOPPED || status == SequenceStatus.FINISHED_LENGTH;
        if (finished != (outcome == Outcome.FINISHED) || !finished && outcome.abortStatus() != status) {
            throw new IllegalArgumentException("status " + status + " does not go with outcome " + outcome);
        }
    }
}
