package dev.principia.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Engine-side state of one request: its sequences, timing and the future its caller waits on. */
final class RequestState {
    final GenerationRequest request;
    long arrival;
    final long submitNanos;
    final CompletableFuture<GenerationResult> future = new CompletableFuture<>();
    final List<Sequence> sequences = new ArrayList<>();
    long firstScheduledNanos = -1;
    int numFinished;

    RequestState(GenerationRequest request, long submitNanos) {
        this.request = request;
        this.submitNanos = submitNanos;
        for (int i = 0; i < request.sequences().size(); i++) {
            sequences.add(new Sequence(this, i, request.sequences().get(i)));
        }
    }

    /** Prompt tokens plus generation budget over all sequences. */
    long workTokens() {
        long n = 0;
        for (SequenceSpec s : request.sequences()) n += s.promptTokens().length + (long) s.params().maxNewTokens();
        return n;
    }

    boolean isFinished() {
        return numFinished == sequences.size();
    }

    GenerationResult result(long nowNanos) {
        List<SequenceOutput> outputs = new ArrayList<>(sequences.size());
        for (Sequence s : sequences) outputs.add(s.output());
        long started = firstScheduledNanos < 0 ? nowNanos : firstScheduledNanos;
        return new GenerationResult(outputs, started - submitNanos, nowNanos - started);
    }
}
