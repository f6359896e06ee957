package dev.principia.engine;

import java.util.List;

/**
 * Outputs of every sequence of a request, in request order, plus timing.
 *
 * @param queueNanos   from submit until the first of its sequences was scheduled
 * @param computeNanos from first scheduled until the last sequence finished
 */
public record GenerationResult(List<SequenceOutput> outputs, long queueNanos, long computeNanos) {
    public GenerationResult {
        outputs = List.copyOf(outputs);
    }

    public boolean aborted() {
        return outputs.stream().anyMatch(o -> o.status() == SequenceStatus.FINISHED_ABORTED);
    }
}
