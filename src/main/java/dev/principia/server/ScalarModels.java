package dev.principia.server;

import java.util.List;
import java.util.concurrent.CompletableFuture;

import dev.principia.engine.QueueFullException;
import dev.principia.engine.ScalarEngine;
import dev.principia.grm.ScalarModel;
import dev.principia.grm.ScoringException;

/** Adapts a {@link ScalarEngine} (one-logit classifier) to the GRM layer's {@link ScalarModel}. */
final class ScalarModels {
    private ScalarModels() {
    }

    static ScalarModel of(ScalarEngine engine) {
        return new ScalarModel() {
            @Override
            public CompletableFuture<float[]> score(List<int[]> sequences) {
                try {
                    return engine.submit(sequences).thenApply(rows -> {
                        float[] out = new float[rows.length];
                        for (int i = 0; i < rows.length; i++) out[i] = rows[i][0];
                        return out;
                    });
                } catch (QueueFullException e) {
                    return CompletableFuture.failedFuture(new ScoringException(ScoringException.Kind.RESOURCE_EXHAUSTED, e.getMessage(), e));
                } catch (IllegalArgumentException e) {
                    return CompletableFuture.failedFuture(new ScoringException(ScoringException.Kind.INVALID_ARGUMENT, e.getMessage(), e));
                } catch (IllegalStateException e) {
                    return CompletableFuture.failedFuture(new ScoringException(ScoringException.Kind.UNAVAILABLE, e.getMessage(), e));
                }
            }

            @Override
            public int maxTokens() {
                return engine.maxPositions();
            }
        };
    }
}
