package dev.principia.server;

import java.time.Duration;

import dev.principia.engine.Engine;
import dev.principia.engine.EngineListener;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/** Binds an engine's gauges, counters and per-step histograms to Micrometer, tagged by model role. */
final class EngineMetricsBinder implements EngineListener {
    private final DistributionSummary batchSize;
    private final DistributionSummary batchTokens;
    private final Timer stepTime;
    private final Timer executeTime;

    EngineMetricsBinder(MeterRegistry registry, String model) {
        batchSize = DistributionSummary.builder("principia.engine.batch.sequences").tag("model", model)
                .description("Sequences per engine step").publishPercentileHistogram().register(registry);
        batchTokens = DistributionSummary.builder("principia.engine.batch.tokens").tag("model", model)
                .description("Tokens fed per engine step").publishPercentileHistogram().register(registry);
        stepTime = Timer.builder("principia.engine.step").tag("model", model)
                .description("Engine step time: schedule, backend, update").publishPercentileHistogram()
                .maximumExpectedValue(Duration.ofSeconds(10)).register(registry);
        executeTime = Timer.builder("principia.engine.execute").tag("model", model)
                .description("Time inside Backend.execute per step").publishPercentileHistogram()
                .maximumExpectedValue(Duration.ofSeconds(10)).register(registry);
    }

    @Override
    public void onStep(int numSequences, int numTokens, long stepNanos, long executeNanos) {
        batchSize.record(numSequences);
        batchTokens.record(numTokens);
        stepTime.record(Duration.ofNanos(stepNanos));
        executeTime.record(Duration.ofNanos(executeNanos));
    }

    static void bindGauges(MeterRegistry registry, String model, Engine engine) {
        Gauge.builder("principia.engine.sequences.running", engine, Engine::numRunning).tag("model", model)
                .description("Sequences holding a KV slot").register(registry);
        Gauge.builder("principia.engine.sequences.waiting", engine, Engine::numWaiting).tag("model", model)
                .description("Sequences waiting to be scheduled").register(registry);
        Gauge.builder("principia.engine.requests.pending", engine, Engine::numPendingRequests).tag("model", model)
                .description("Requests admitted and unfinished").register(registry);
        Gauge.builder("principia.engine.kv.used.tokens", engine, Engine::kvUsedTokens).tag("model", model)
                .description("KV cache positions in use").register(registry);
        Gauge.builder("principia.engine.kv.capacity.tokens", engine, Engine::kvCapacityTokens).tag("model", model)
                .description("KV cache pool size in positions").register(registry);
        FunctionCounter.builder("principia.engine.prompt.tokens.computed", engine, e -> e.metrics().promptTokensComputed())
                .tag("model", model).description("Prompt positions run through the model").register(registry);
        FunctionCounter.builder("principia.engine.prompt.tokens.forked", engine, e -> e.metrics().forkedTokens())
                .tag("model", model).description("Prompt positions copied from a shared prefix instead of computed").register(registry);
        FunctionCounter.builder("principia.engine.generated.tokens", engine, e -> e.metrics().generatedTokens())
                .tag("model", model).description("Tokens generated").register(registry);
        FunctionCounter.builder("principia.engine.preemptions", engine, e -> e.metrics().preemptions())
                .tag("model", model).description("Sequences preempted for KV and recomputed later").register(registry);
        FunctionCounter.builder("principia.engine.aborts", engine, e -> e.metrics().abortedRequests())
                .tag("model", model).description("Requests aborted by cancel, deadline or shutdown").register(registry);
        FunctionCounter.builder("principia.engine.rejections", engine, e -> e.metrics().rejectedRequests())
                .tag("model", model).description("Requests refused because the queue was full").register(registry);
        FunctionCounter.builder("principia.engine.failed.steps", engine, e -> e.metrics().failedSteps())
                .tag("model", model).description("Engine steps that failed (backend error, KV copy, malformed result)").register(registry);
        FunctionCounter.builder("principia.engine.step.retries", engine, e -> e.metrics().retriedSequences())
                .tag("model", model).description("Sequences of a failed step recomputed alone (one that fails alone fails)").register(registry);
        FunctionCounter.builder("principia.engine.loop.errors", engine, e -> e.metrics().loopErrors())
                .tag("model", model).description("Unexpected errors in the engine loop (its requests fail; the loop keeps running)")
                .register(registry);
    }
}
