package dev.principia.engine;

import java.util.List;

/**
 * A group of sequences that finish together, e.g. the k samples of one scoring request. Sequences
 * of one request that share a prompt prefix compute it once (prefix forking).
 *
 * @param id             caller's key, for logs and errors
 * @param sequences      at least one
 * @param priority       higher is scheduled first; FCFS within a priority
 * @param deadlineNanos  {@link System#nanoTime()} after which the request is aborted; {@link Long#MAX_VALUE} = none
 */
public record GenerationRequest(String id, List<SequenceSpec> sequences, int priority, long deadlineNanos) {
    public GenerationRequest {
        if (sequences == null || sequences.isEmpty()) {
            throw new IllegalArgumentException("a request needs at least one sequence");
        }
        sequences = List.copyOf(sequences);
        id = id == null ? "" : id;
    }
}
