package dev.principia.server;

import java.util.concurrent.TimeUnit;

import dev.principia.grm.ScoringResult;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/** Per-item request metrics: outcome counts, latency, and the usage of answered items. */
final class RequestMetrics {
    private final MeterRegistry registry;

    RequestMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    /** One scored item of {@code rpc}, started at {@code t0} ({@link System#nanoTime()}); {@code result} is null when it failed. */
    void record(String rpc, Status.Code code, long t0, ScoringResult result) {
        Counter.builder("principia.requests").description("Scored items by RPC and outcome")
                .tag("rpc", rpc).tag("code", code.name()).register(registry).increment();
        Timer.builder("principia.request.latency").description("Time to answer one scored item")
                .tag("rpc", rpc).publishPercentileHistogram().register(registry)
                .record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
        if (result == null) return;
        var u = result.usage();
        samples("true").increment(u.samplesValid());
        samples("false").increment(u.samplesRun() - u.samplesValid());
        Counter.builder("principia.samples.forced").description("Samples whose score block was forced near the token limit")
                .register(registry).increment(u.samplesForced());
        tokens("prompt").increment(u.promptTokens());
        tokens("generated").increment(u.generatedTokens());
        Counter.builder("principia.samples.saved").description("Samples not run because adaptive voting had decided")
                .register(registry).increment(u.samplesSaved());
        if (result.degraded()) {
            Counter.builder("principia.requests.degraded").description("Requests whose k was lowered under load")
                    .tag("rpc", rpc).register(registry).increment();
        }
        if (result.partial()) {
            Counter.builder("principia.requests.partial").description("Requests answered from the samples finished by their deadline")
                    .tag("rpc", rpc).register(registry).increment();
        }
    }

    private Counter samples(String valid) {
        return Counter.builder("principia.samples").description("GRM samples run, by validity").tag("valid", valid).register(registry);
    }

    private Counter tokens(String kind) {
        return Counter.builder("principia.tokens").description("Tokens per kind").tag("kind", kind).register(registry);
    }
}
