package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.principia.api.v1.Budget;
import dev.principia.api.v1.GetServerInfoRequest;
import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreBatchRequest;
import dev.principia.api.v1.ScoreBatchResponse;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import dev.principia.api.v1.ServerInfo;
import dev.principia.api.v1.Turn;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1alpha.ServerReflectionGrpc;
import io.grpc.reflection.v1alpha.ServerReflectionRequest;
import io.grpc.reflection.v1alpha.ServerReflectionResponse;
import io.grpc.stub.StreamObserver;
import io.quarkus.test.junit.QuarkusTest;

/** End to end over a real gRPC channel, on the embedded default GRM run by ONNX Runtime. */
@QuarkusTest
class RewardServiceTest {
    private static ManagedChannel channel;
    private static RewardServiceGrpc.RewardServiceBlockingStub stub;

    @BeforeAll
    static void connect() {
        channel = GrpcTestSupport.channel();
        stub = RewardServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.MINUTES);
    }

    @AfterAll
    static void disconnect() throws InterruptedException {
        GrpcTestSupport.close(channel);
    }

    @Test
    void scoresOneTwoAndFourResponsesWithOneToEightSamples() {
        for (int n : new int[] {1, 2, 4}) {
            for (int k = 1; k <= 8; k++) {
                ScoreResponse r = stub.score(GrpcTestSupport.request("n" + n + "k" + k, n, k, 40).setReturnSamples(true).build());
                String where = "n=" + n + " k=" + k;
                assertFalse(r.hasError(), where);
                assertEquals("n" + n + "k" + k, r.getId());
                assertEquals(n, r.getScoresCount(), where);
                assertEquals(k, r.getUsage().getSamplesRun(), where);
                assertEquals(k, r.getSamplesCount(), where);
                int valid = 0;
                int counted = 0;
                double[] sums = new double[n];
                Set<Integer> ranks = new HashSet<>();
                for (var s : r.getSamplesList()) {
                    assertEquals(n, s.getOrderCount(), where);
                    if (s.getValid()) {
                        valid++;
                        assertEquals(n, s.getScoresCount());
                        for (int i = 0; i < n; i++) {
                            int score = s.getScores(i);
                            assertTrue(score >= 1 && score <= 10, where + " score " + score);
                            if (s.getCounted()) sums[i] += score;
                        }
                    }
                    if (s.getCounted()) counted++;
                }
                assertEquals(valid, r.getUsage().getSamplesValid(), where);
                assertTrue(valid >= 1, where);
                // the embedded tiny meta-RM keeps ceil(k/2) of the valid samples
                assertEquals(Math.min(valid, (k + 1) / 2), counted, where + ": meta-RM guided voting");
                assertEquals(counted, r.getUsage().getSamplesCounted(), where);
                for (int i = 0; i < n; i++) {
                    assertEquals(sums[i], r.getScores(i).getReward(), 1e-9, where + ": reward = sum of counted sample scores");
                    assertTrue(r.getScores(i).getReward() >= counted && r.getScores(i).getReward() <= 10.0 * counted, where);
                    ranks.add(r.getScores(i).getRank());
                }
                assertEquals(n, ranks.size(), where + ": ranks are a permutation");
                assertEquals(1, r.getScores(r.getBestIndex()).getRank(), where);
                assertTrue(r.getUsage().getPromptTokens() > 0 && r.getUsage().getGeneratedTokens() > 0, where);
            }
        }
    }

    @Test
    void sameSeedSameAnswer() {
        ScoreRequest req = GrpcTestSupport.request("seeded", 3, 4, 40).setReturnSamples(true).build();
        ScoreResponse a = stub.score(req);
        ScoreResponse b = stub.score(req);
        assertEquals(a.getScoresList(), b.getScoresList());
        assertEquals(a.getSamplesList(), b.getSamplesList());
        assertEquals(1234L, a.getSeed());
    }

    @Test
    void scoreBatchAnswersInOrderAndIsolatesBadItems() {
        ScoreBatchRequest.Builder batch = ScoreBatchRequest.newBuilder();
        for (int i = 0; i < 10; i++) {
            ScoreRequest.Builder item = GrpcTestSupport.request("b" + i, 1 + i % 3, 2, 40);
            if (i == 4) item.clearResponses();
            if (i == 7) item.getBudgetBuilder().setSamples(1000);
            batch.addRequests(item);
        }
        ScoreBatchResponse r = stub.scoreBatch(batch.build());
        assertEquals(10, r.getResponsesCount());
        for (int i = 0; i < 10; i++) {
            ScoreResponse item = r.getResponses(i);
            assertEquals("b" + i, item.getId());
            if (i == 4 || i == 7) {
                assertEquals(Status.Code.INVALID_ARGUMENT.value(), item.getError().getCode());
                assertTrue(item.getError().getMessage().startsWith(i == 4 ? "responses" : "budget.samples"), item.getError().getMessage());
            } else {
                assertFalse(item.hasError(), item.getError().getMessage());
                assertEquals(1 + i % 3, item.getScoresCount());
                assertEquals(2, item.getUsage().getSamplesRun());
            }
        }
    }

    @Test
    void scoreStreamAnswersEveryIdExactlyOnce() throws Exception {
        Map<String, Integer> seen = new HashMap<>();
        List<ScoreResponse> answers = new ArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        Throwable[] failure = new Throwable[1];
        StreamObserver<ScoreRequest> requests = RewardServiceGrpc.newStub(channel).withDeadlineAfter(10, TimeUnit.MINUTES)
                .scoreStream(new StreamObserver<>() {
                    @Override
                    public void onNext(ScoreResponse value) {
                        synchronized (answers) {
                            answers.add(value);
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        failure[0] = t;
                        done.countDown();
                    }

                    @Override
                    public void onCompleted() {
                        done.countDown();
                    }
                });
        for (int i = 0; i < 20; i++) {
            ScoreRequest.Builder item = GrpcTestSupport.request("s" + i, 1 + i % 4, 1 + i % 3, 40);
            if (i == 13) item.getBudgetBuilder().setTemperature(-1f);
            requests.onNext(item.build());
        }
        requests.onCompleted();
        assertTrue(done.await(10, TimeUnit.MINUTES));
        assertEquals(null, failure[0]);
        for (ScoreResponse a : answers) seen.merge(a.getId(), 1, Integer::sum);
        assertEquals(20, answers.size());
        for (int i = 0; i < 20; i++) assertEquals(1, seen.get("s" + i), "s" + i);
        for (ScoreResponse a : answers) {
            if (a.getId().equals("s13")) {
                assertEquals(Status.Code.INVALID_ARGUMENT.value(), a.getError().getCode());
                assertTrue(a.getError().getMessage().startsWith("budget.temperature"), a.getError().getMessage());
            } else {
                assertFalse(a.hasError(), a.getId() + ": " + a.getError().getMessage());
            }
        }
    }

    @Test
    void badInputGetsInvalidArgumentNamingTheField() {
        expectInvalid("conversation", ScoreRequest.newBuilder().addResponses("x"));
        expectInvalid("conversation", ScoreRequest.newBuilder().addResponses("x")
                .addConversation(Turn.newBuilder().setRole("assistant").setContent("hi")));
        expectInvalid("conversation[0].role", ScoreRequest.newBuilder().addResponses("x")
                .addConversation(Turn.newBuilder().setRole("wizard").setContent("hi")));
        expectInvalid("responses", GrpcTestSupport.request("e", 1, 1, 40).clearResponses());
        expectInvalid("responses", GrpcTestSupport.request("e", 17, 1, 40));
        expectInvalid("budget.samples", GrpcTestSupport.request("e", 1, 33, 40));
        expectInvalid("budget.temperature", GrpcTestSupport.request("e", 1, 2, 40)
                .setBudget(Budget.newBuilder().setSamples(2).setTemperature(-0.5f)));
        expectInvalid("budget.temperature", GrpcTestSupport.request("e", 1, 2, 40)
                .setBudget(Budget.newBuilder().setSamples(2).setTemperature(Float.NaN)));
        expectInvalid("budget.max_new_tokens", GrpcTestSupport.request("e", 1, 1, 0));
        expectInvalid("budget.max_new_tokens", GrpcTestSupport.request("e", 1, 1, 100_000));
        expectInvalid("budget.max_new_tokens", GrpcTestSupport.request("e", 4, 1, 5));
        expectInvalid("responses[1]", GrpcTestSupport.request("e", 2, 1, 40).setResponses(1, "y".repeat(40_000)));
        expectInvalid("conversation[1].content", GrpcTestSupport.request("e", 1, 1, 40)
                .setConversation(1, Turn.newBuilder().setRole("user").setContent("q".repeat(40_000))));
        // and the server still serves
        assertFalse(stub.score(GrpcTestSupport.request("after", 2, 1, 40).build()).hasError());
    }

    private static void expectInvalid(String field, ScoreRequest.Builder request) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> stub.score(request.build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
        assertTrue(e.getStatus().getDescription().startsWith(field + ":"), field + " <- " + e.getStatus().getDescription());
    }

    @Test
    void healthIsServing() {
        HealthCheckResponse r = HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.newBuilder().build());
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, r.getStatus());
        HealthCheckResponse svc = HealthGrpc.newBlockingStub(channel)
                .check(HealthCheckRequest.newBuilder().setService("principia.v1.RewardService").build());
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, svc.getStatus());
    }

    @Test
    void reflectionListsTheRewardService() throws Exception {
        List<String> services = new ArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        StreamObserver<ServerReflectionRequest> req = ServerReflectionGrpc.newStub(channel).serverReflectionInfo(new StreamObserver<>() {
            @Override
            public void onNext(ServerReflectionResponse value) {
                value.getListServicesResponse().getServiceList().forEach(s -> services.add(s.getName()));
            }

            @Override
            public void onError(Throwable t) {
                done.countDown();
            }

            @Override
            public void onCompleted() {
                done.countDown();
            }
        });
        req.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
        req.onCompleted();
        assertTrue(done.await(30, TimeUnit.SECONDS));
        assertTrue(services.contains("principia.v1.RewardService"), services.toString());
    }

    @Test
    void serverInfoDescribesModelAndLimits() {
        ServerInfo info = stub.getServerInfo(GetServerInfoRequest.getDefaultInstance());
        assertEquals("onnxruntime-cpu", info.getBackend());
        assertEquals(3, info.getModelsCount(), "grm, meta_rm and scalar_rm");
        assertEquals("grm", info.getModels(0).getRole());
        assertEquals("Qwen3ForCausalLM", info.getModels(0).getArchitecture());
        assertEquals("meta_rm", info.getModels(1).getRole());
        assertEquals("Qwen3ForSequenceClassification", info.getModels(1).getArchitecture());
        assertTrue(info.getBudgetPolicy().getMetaRmLoaded());
        assertTrue(info.getModels(0).getEmbeddedDefault());
        assertEquals(151936, info.getModels(0).getVocabSize());
        var grm = info.getModels(0);
        assertEquals("fp32", grm.getWeightPrecision(), "auto picks fp32 below 1 B parameters");
        assertTrue(grm.getWeightBytes() > 4L * 151936 * 64, "at least the fp32 embedding: " + grm.getWeightBytes());
        assertEquals("fp32", grm.getKvCacheDtype());
        assertEquals("plain", grm.getAttention());
        long perToken = 2L * 2 * 2 * 16 * 4; // layers x K/V x KV heads x head_dim x fp32
        assertEquals(perToken, info.getMemoryPlan().getKvBytesPerToken());
        assertEquals(info.getMemoryPlan().getKvCacheBytes(), grm.getKvCacheBytes());
        assertTrue(grm.getKvCacheBytes() >= perToken * 4096, "at least one sequence of max_position_embeddings: " + grm.getKvCacheBytes());
        assertTrue(info.getMemoryPlan().getAvailableBytes() > info.getMemoryPlan().getReservedBytes());
        assertEquals("fp32", info.getModels(1).getWeightPrecision());
        assertEquals(0, info.getModels(1).getKvCacheBytes(), "classifiers keep no KV cache");
        assertEquals(16, info.getLimits().getMaxResponses());
        assertEquals(32, info.getLimits().getMaxSamples());
        assertTrue(info.getPromptTemplate().contains("{{responses}}"));
    }

    @Test
    void metricsExposeRequestSampleAndTokenCounters() throws Exception {
        stub.score(GrpcTestSupport.request("metrics", 2, 2, 40).build());
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://localhost:8081/q/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        String body = r.body();
        for (String metric : List.of("principia_requests_total", "principia_samples_total", "principia_tokens_total",
                "principia_engine_generated_tokens_total", "principia_engine_kv_used_tokens", "principia_engine_step_seconds",
                "principia_engine_failed_steps_total", "principia_engine_step_retries_total", "principia_scalar_sequences_total", "grpc_server_",
                dev.principia.KubernetesManifestsTest.HPA_METRIC)) {
            assertTrue(body.contains(metric), metric + " missing from /q/metrics");
        }
    }
}
