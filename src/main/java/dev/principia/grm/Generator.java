package dev.principia.grm;

import dev.principia.budget.LoadSnapshot;
import dev.principia.engine.Engine;
import dev.principia.engine.GenerationHandle;
import dev.principia.engine.GenerationRequest;

/**
 * What scoring needs of a generation engine. {@link Engine} is the real one; tests script one, so
 * planning, waves and the tally run without ONNX Runtime.
 */
public interface Generator {
    /**
     * Queues a request; never blocks.
     *
     * @throws dev.principia.engine.QueueFullException when the queue is full
     * @throws IllegalStateException                   when the engine is shut down
     */
    GenerationHandle submit(GenerationRequest request);

    /** Longest sequence, prompt plus generated tokens. */
    int maxModelLen();

    /** Time of the last engine step, in nanoseconds: paces anytime scoring. */
    long lastStepNanos();

    /** Load now, for load-aware degradation. */
    LoadSnapshot load();

    static Generator of(Engine engine) {
        return new Generator() {
            @Override
            public GenerationHandle submit(GenerationRequest request) {
                return engine.submit(request);
            }

            @Override
            public int maxModelLen() {
                return engine.config().maxModelLen();
            }

            @Override
            public long lastStepNanos() {
                return engine.lastStepNanos();
            }

            @Override
            public LoadSnapshot load() {
                return new LoadSnapshot(engine.estimatedWaitMillis(), engine.numPendingSamples());
            }
        };
    }
}
