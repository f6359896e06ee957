package dev.principia.server;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import dev.principia.api.v1.Defaults;
import dev.principia.api.v1.GetServerInfoRequest;
import dev.principia.api.v1.Limits;
import dev.principia.api.v1.ModelInfo;
import dev.principia.api.v1.RewardService;
import dev.principia.api.v1.ScoreBatchRequest;
import dev.principia.api.v1.ScoreBatchResponse;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import dev.principia.api.v1.ServerInfo;
import dev.principia.grm.GrmScorer;
import dev.principia.grm.ScoringResult;
import dev.principia.model.ModelConfig;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;

/**
 * gRPC front of the reward server. Handlers validate, hand the work to the engine and return at
 * once; tokenization runs on a worker thread, never on the event loop. A client cancel or an expired
 * deadline (a listener on the call's gRPC {@link Context}) aborts the request's engine sequences. In
 * ScoreBatch and ScoreStream every item gets exactly one answer and a bad item carries its own error.
 */
@GrpcService
public class RewardGrpcService implements RewardService {

    @Inject
    ModelRuntime runtime;
    @Inject
    PrincipiaConfig config;
    @Inject
    MeterRegistry registry;

    @Override
    public Uni<ScoreResponse> score(ScoreRequest request) {
        return scoreOne(request, callDeadlineNanos(), Context.current(), "Score");
    }

    @Override
    public Uni<ScoreBatchResponse> scoreBatch(ScoreBatchRequest request) {
        int max = config.limits().maxBatchItems();
        if (request.getRequestsCount() == 0) {
            return Uni.createFrom().failure(Status.INVALID_ARGUMENT.withDescription("requests: must hold at least one item").asRuntimeException());
        }
        if (request.getRequestsCount() > max) {
            return Uni.createFrom().failure(Status.INVALID_ARGUMENT.withDescription("requests: " + request.getRequestsCount()
                    + " items exceed the limit of " + max + " per ScoreBatch call; split the batch").asRuntimeException());
        }
        long deadline = callDeadlineNanos();
        Context call = Context.current();
        List<Uni<ScoreResponse>> items = new ArrayList<>(request.getRequestsCount());
        for (ScoreRequest item : request.getRequestsList()) {
            items.add(scoreOne(item, deadline, call, "ScoreBatch").onFailure().recoverWithItem(t -> errorItem(item, t)));
        }
        return Uni.join().all(items).andFailFast()
                .map(list -> ScoreBatchResponse.newBuilder().addAllResponses(list).build());
    }

    @Override
    public Multi<ScoreResponse> scoreStream(Multi<ScoreRequest> requests) {
        long deadline = callDeadlineNanos();
        Context call = Context.current();
        return requests.onItem().transformToUni(item -> (item.getId().isEmpty()
                        ? Uni.createFrom().<ScoreResponse>failure(Status.INVALID_ARGUMENT.withDescription(
                                "id: required in ScoreStream, where answers arrive out of order keyed by id").asRuntimeException())
                        : scoreOne(item, deadline, call, "ScoreStream"))
                        .onFailure().recoverWithItem(t -> errorItem(item, t)))
                .merge(config.limits().maxStreamInFlight());
    }

    @Override
    public Uni<ServerInfo> getServerInfo(GetServerInfoRequest request) {
        return Uni.createFrom().item(this::serverInfo);
    }

    /**
     * Scores one item. {@code call} is the gRPC call's context: when the client cancels (or the call's
     * deadline passes) the item's engine sequences are aborted.
     */
    private Uni<ScoreResponse> scoreOne(ScoreRequest request, long deadlineNanos, Context call, String rpc) {
        long t0 = System.nanoTime();
        return Uni.createFrom().<GrmScorer.Handle>item(() -> runtime.scorer().score(ProtoMapping.toScoring(request, deadlineNanos)))
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
                .onItem().transformToUni(handle -> {
                    Context.CancellationListener onCancel = context -> handle.cancel().run();
                    call.addListener(onCancel, Runnable::run);
                    handle.result().whenComplete((r, t) -> call.removeListener(onCancel));
                    return Uni.createFrom().completionStage(handle.result()).onCancellation().invoke(handle.cancel());
                })
                .map(result -> {
                    record(rpc, Status.Code.OK, t0, result);
                    return ProtoMapping.toProto(result, request.getReturnSamples());
                })
                .onFailure().transform(t -> {
                    Status status = StatusMapping.toStatus(t);
                    record(rpc, status.getCode(), t0, null);
                    return status.asRuntimeException();
                });
    }

    private static ScoreResponse errorItem(ScoreRequest item, Throwable t) {
        return ScoreResponse.newBuilder().setId(item.getId()).setError(StatusMapping.toError(t)).build();
    }

    /** The call's gRPC deadline as a {@link System#nanoTime()} instant; {@link Long#MAX_VALUE} when none. */
    private static long callDeadlineNanos() {
        Deadline d = Context.current().getDeadline();
        if (d == null) return Long.MAX_VALUE;
        return System.nanoTime() + d.timeRemaining(TimeUnit.NANOSECONDS);
    }

    private void record(String rpc, Status.Code code, long t0, ScoringResult result) {
        Counter.builder("principia.requests").description("Scored items by RPC and outcome")
                .tag("rpc", rpc).tag("code", code.name()).register(registry).increment();
        Timer.builder("principia.request.latency").description("Time to answer one scored item")
                .tag("rpc", rpc).publishPercentileHistogram().register(registry)
                .record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
        if (result != null) {
            var u = result.usage();
            Counter.builder("principia.samples").description("GRM samples run, by validity")
                    .tag("valid", "true").register(registry).increment(u.samplesValid());
            Counter.builder("principia.samples").description("GRM samples run, by validity")
                    .tag("valid", "false").register(registry).increment(u.samplesRun() - u.samplesValid());
            Counter.builder("principia.samples.forced").description("Samples whose score block was forced near the token limit")
                    .register(registry).increment(u.samplesForced());
            Counter.builder("principia.tokens").description("Tokens per kind").tag("kind", "prompt")
                    .register(registry).increment(u.promptTokens());
            Counter.builder("principia.tokens").description("Tokens per kind").tag("kind", "generated")
                    .register(registry).increment(u.generatedTokens());
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
    }

    private static ModelInfo modelInfo(String role, dev.principia.model.ModelDirectory model) {
        ModelConfig c = model.config();
        return ModelInfo.newBuilder().setRole(role).setName(model.name()).setArchitecture(c.architecture())
                .setDirectory(model.dir().toString()).setNumLayers(c.numHiddenLayers()).setHiddenSize(c.hiddenSize())
                .setNumAttentionHeads(c.numAttentionHeads()).setNumKeyValueHeads(c.numKeyValueHeads())
                .setVocabSize(c.vocabSize()).setMaxPositionEmbeddings(c.maxPositionEmbeddings())
                .setNumParameters(model.numParameters()).setEmbeddedDefault(model.embeddedDefault()).build();
    }

    private ServerInfo serverInfo() {
        ServerInfo.Builder info = ServerInfo.newBuilder().setVersion(Version.VERSION).setBackend("onnxruntime-cpu");
        if (runtime.model() != null) info.addModels(modelInfo("grm", runtime.model()));
        if (runtime.metaModel() != null) info.addModels(modelInfo("meta_rm", runtime.metaModel()));
        if (runtime.scalarModel() != null) info.addModels(modelInfo("scalar_rm", runtime.scalarModel()));
        PrincipiaConfig.Limits l = config.limits();
        info.setLimits(Limits.newBuilder().setMaxResponses(l.maxResponses()).setMaxSamples(l.maxSamples())
                .setMaxNewTokens(l.maxNewTokens()).setMaxStringChars(l.maxStringChars()).setMaxBatchItems(l.maxBatchItems())
                .setMaxConversationTurns(l.maxConversationTurns()).setMaxPromptTokens(l.maxPromptTokens()));
        info.setDefaults(Defaults.newBuilder().setSamples(config.defaults().samples())
                .setMaxNewTokens(config.defaults().maxNewTokens()).setTemperature(config.defaults().temperature()));
        if (runtime.promptTemplate() != null) info.setPromptTemplate(runtime.promptTemplate().text());
        if (runtime.policy() != null) {
            var p = runtime.policy();
            info.setBudgetPolicy(dev.principia.api.v1.BudgetPolicy.newBuilder().setDefaultSamples(p.defaultSamples())
                    .setMaxSamples(p.maxSamples()).setDefaultMaxNewTokens(p.defaultMaxNewTokens()).setMaxNewTokens(p.maxNewTokensCap())
                    .setSamplingTemperature(p.samplingTemperature()).setTargetQueueWaitMs(runtime.loadPolicy().targetQueueWaitMillis())
                    .setMaxInFlightSamples(runtime.loadPolicy().maxInFlightSamples()).setMetaRmLoaded(runtime.metaRmLoaded()));
        }
        return info.build();
    }

}
