package dev.principia.server;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import com.fasterxml.jackson.annotation.JsonProperty;

import dev.principia.budget.RequestedBudget;
import dev.principia.grm.GrmScorer;
import dev.principia.grm.ScoringException;
import dev.principia.grm.ScoringRequest;
import dev.principia.grm.ScoringResult;
import io.grpc.Status;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;

/**
 * OpenRLHF's remote reward model, {@code POST /get_reward}: {@code {"query": [...], "prompts": [...],
 * "labels": [...]}} in, {@code {"rewards": [...], "scores": [...], "extra_logs": {...}}} out, one value per
 * query in query order. Each query (prompt and response as the policy decoded them, special tokens
 * kept) is turned back into a conversation and a response ({@link ChatMarkup}); responses to the same
 * conversation in one call are rated jointly by one GRM request ({@link RewardGroups}). The reward is
 * the response's mean GRM score over the counted samples, mapped from 1..10 onto 0..1. Labels are
 * accepted and not used. The API keys of {@code principia.auth.api-keys} apply ({@link ApiKeys}).
 */
@Path("/get_reward")
public class OpenRlhfResource {
    private static final double MIN_SCORE = 1;
    private static final double MAX_SCORE = 10;
    private static final AtomicLong CALLS = new AtomicLong();

    @Inject
    ModelRuntime runtime;
    @Inject
    PrincipiaConfig config;
    @Inject
    OpenRlhfConfig openRlhf;

    /** OpenRLHF's request; {@code prompts} and {@code labels} may be absent (older trainers send only {@code query}). */
    public record GetRewardRequest(List<String> query, List<String> prompts, List<Object> labels) {
    }

    /** One value per query; {@code extra_logs} holds per-query lists the trainer logs. */
    public record GetRewardResponse(List<Double> rewards, List<Double> scores, @JsonProperty("extra_logs") Map<String, List<Double>> extraLogs) {
    }

    private record Submitted(RewardGroups groups, List<GrmScorer.Handle> handles) {
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Uni<Response> getReward(GetRewardRequest body, @HeaderParam("Authorization") String authorization,
                                   @HeaderParam("x-api-key") String apiKey) {
        List<String> keys = config.auth().apiKeys().orElse(List.of());
        if (!keys.isEmpty()) {
            String presented = ApiKeys.presented(authorization, apiKey);
            if (presented == null || !ApiKeys.matches(presented, keys)) {
                return Uni.createFrom().item(HttpErrors.of(Status.UNAUTHENTICATED.withDescription(presented == null
                        ? "missing API key: send 'Authorization: Bearer <key>', 'x-api-key: <key>', or put it in the URL as http://principia:<key>@host/get_reward"
                        : "invalid API key")));
            }
        }
        if (body == null) return Uni.createFrom().item(HttpErrors.invalid("body: expected {\"query\": [...], \"prompts\": [...], \"labels\": [...]}"));
        long arrivalNanos = System.nanoTime();
        long deadlineNanos = arrivalNanos + openRlhf.deadlineMs() * 1_000_000L;
        String id = "get_reward-" + CALLS.incrementAndGet();
        return Uni.createFrom().item(() -> submit(body, id, arrivalNanos, deadlineNanos))
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
                .onItem().transformToUni(s -> Uni.createFrom().completionStage(all(s))
                        .onCancellation().invoke(() -> s.handles().forEach(h -> h.cancel().run()))
                        .map(results -> Response.ok(answer(s.groups(), results)).build()))
                .onFailure().recoverWithItem(HttpErrors::of);
    }

    /** Parses, groups and submits every group; on a failure, what was submitted is cancelled. Runs on a worker thread. */
    private Submitted submit(GetRewardRequest body, String id, long arrivalNanos, long deadlineNanos) {
        int maxQueries = config.limits().maxBatchItems();
        if (body.query() != null && body.query().size() > maxQueries) {
            throw ScoringException.invalid("query", body.query().size() + " queries exceed the limit of " + maxQueries
                    + " per call (principia.limits.max-batch-items)");
        }
        RewardGroups groups;
        try {
            groups = RewardGroups.of(body.query(), body.prompts(), ChatMarkup.Format.parse(openRlhf.chatFormat()),
                    config.limits().maxResponses());
        } catch (IllegalArgumentException e) {
            throw new ScoringException(ScoringException.Kind.INVALID_ARGUMENT, e.getMessage());
        }
        List<GrmScorer.Handle> handles = new ArrayList<>(groups.groups().size());
        try {
            for (RewardGroups.Group g : groups.groups()) {
                handles.add(runtime.score(scoringRequest(id + "-" + handles.size(), g, arrivalNanos, deadlineNanos)));
            }
        } catch (RuntimeException e) {
            handles.forEach(h -> h.cancel().run());
            throw naming(groups.groups().get(handles.size()), e);
        }
        return new Submitted(groups, handles);
    }

    /** The one place a group becomes a GRM request. */
    private ScoringRequest scoringRequest(String id, RewardGroups.Group group, long arrivalNanos, long deadlineNanos) {
        RequestedBudget budget = new RequestedBudget(openRlhf.samples(), 0, 0, null, null, 0L, false, 0);
        return new ScoringRequest(id, group.conversation(), group.responses(), List.of(), budget, false, 0, arrivalNanos, deadlineNanos,
                ScoringRequest.Mode.GENERATIVE);
    }

    /** Every group's result in group order; the first failure cancels the others and fails the call. */
    private static CompletableFuture<ScoringResult[]> all(Submitted s) {
        int n = s.handles().size();
        ScoringResult[] results = new ScoringResult[n];
        CompletableFuture<ScoringResult[]> done = new CompletableFuture<>();
        AtomicInteger left = new AtomicInteger(n);
        for (int g = 0; g < n; g++) {
            int group = g;
            s.handles().get(g).result().whenComplete((r, t) -> {
                if (t != null) {
                    if (done.completeExceptionally(naming(s.groups().groups().get(group), t))) s.handles().forEach(h -> h.cancel().run());
                } else {
                    results[group] = r;
                    if (left.decrementAndGet() == 0) done.complete(results);
                }
            });
        }
        return done;
    }

    /** A group's failure, its message prefixed with the queries it held. */
    private static RuntimeException naming(RewardGroups.Group group, Throwable t) {
        Status status = StatusMapping.toStatus(t);
        return status.withDescription("query" + Arrays.toString(group.queryIndices()) + ": " + status.getDescription()).asRuntimeException();
    }

    private static GetRewardResponse answer(RewardGroups groups, ScoringResult[] results) {
        int n = groups.numQueries();
        Double[] rewards = new Double[n];
        Double[] meanScores = new Double[n];
        Double[] groupSizes = new Double[n];
        Double[] counted = new Double[n];
        Double[] partial = new Double[n];
        for (int g = 0; g < results.length; g++) {
            RewardGroups.Group group = groups.groups().get(g);
            ScoringResult r = results[g];
            for (int j = 0; j < group.queryIndices().length; j++) {
                int q = group.queryIndices()[j];
                meanScores[q] = r.meanScores()[j];
                rewards[q] = Math.max(0, Math.min(1, (r.meanScores()[j] - MIN_SCORE) / (MAX_SCORE - MIN_SCORE)));
                groupSizes[q] = (double) group.queryIndices().length;
                counted[q] = (double) r.usage().samplesCounted();
                partial[q] = r.partial() ? 1.0 : 0.0;
            }
        }
        Map<String, List<Double>> logs = new LinkedHashMap<>();
        logs.put("principia/mean_score", List.of(meanScores));
        logs.put("principia/group_size", List.of(groupSizes));
        logs.put("principia/samples_counted", List.of(counted));
        logs.put("principia/partial", List.of(partial));
        return new GetRewardResponse(List.of(rewards), List.of(rewards), logs);
    }
}
