package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import com.google.common.util.concurrent.ListenableFuture;

import dev.principia.api.v1.Budget;
import dev.principia.api.v1.GetServerInfoRequest;
import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import dev.principia.api.v1.Turn;
import dev.principia.cli.ArithmeticTask;
import io.grpc.ManagedChannel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * The trained embedded default (issue 11), served as a user gets it and called over a real gRPC channel: on a fixed
 * set of held-out arithmetic items, voting over k samples is more accurate than one greedy judgment, and well above
 * what random weights reach (they score near chance, and with ties losing, below it). Accuracy is the paper's: an
 * item counts only when its right response gets the strictly highest reward.
 */
@QuarkusTest
@TestProfile(ArithmeticDefaultTest.Trained.class)
class ArithmeticDefaultTest {
    /** Held-out items: the trainer draws from seeds 11 (GRM) and 7 (meta-RM data), never this one. */
    static final long ITEM_SEED = 424242;
    static final int ITEMS = 40, K = 8;

    public static class Trained implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("principia.model.embedded", "arithmetic");
        }
    }

    /** k = 1 is greedy (temperature 0); k > 1 samples at the server's default temperature (the paper's 0.5). */
    private static ScoreRequest request(ArithmeticTask.Item item, int i, int k) {
        return ScoreRequest.newBuilder().setId("arith-" + i)
                .addConversation(Turn.newBuilder().setRole("user").setContent(item.query()))
                .addAllResponses(item.responses())
                // meta_keep = k: plain voting over every valid sample (the meta-RM would otherwise keep half)
                .setBudget(Budget.newBuilder().setSamples(k).setMetaKeep(k).setSeed(1000 + i)).build();
    }

    /** The response, or null when no sample wrote a valid score block (FAILED_PRECONDITION): the item is then wrong. */
    private static ScoreResponse orNoValidSample(ListenableFuture<ScoreResponse> f) throws InterruptedException {
        try {
            return f.get();
        } catch (java.util.concurrent.ExecutionException e) {
            if (io.grpc.Status.fromThrowable(e.getCause()).getCode() == io.grpc.Status.Code.FAILED_PRECONDITION) return null;
            throw new AssertionError(e.getCause());
        }
    }

    private static boolean correct(ScoreResponse r, int best) {
        for (int i = 0; i < r.getScoresCount(); i++) {
            if (i != best && r.getScores(i).getReward() >= r.getScores(best).getReward()) return false;
        }
        return true;
    }

    @Test
    void votingBeatsGreedyOnHeldOutItems() throws Exception {
        Random rnd = new Random(ITEM_SEED);
        List<ArithmeticTask.Item> items = new ArrayList<>();
        for (int i = 0; i < ITEMS; i++) items.add(ArithmeticTask.evalItem(rnd));
        ManagedChannel channel = GrpcTestSupport.channel();
        try {
            var stub = RewardServiceGrpc.newFutureStub(channel).withDeadlineAfter(10, TimeUnit.MINUTES);
            var info = RewardServiceGrpc.newBlockingStub(channel).getServerInfo(GetServerInfoRequest.getDefaultInstance());
            assertTrue(info.getModels(0).getEmbeddedDefault(), "the embedded default serves");
            assertEquals("LlamaForCausalLM", info.getModels(0).getArchitecture());
            List<ListenableFuture<ScoreResponse>> greedy = new ArrayList<>(), voting = new ArrayList<>();
            for (int i = 0; i < ITEMS; i++) {
                greedy.add(stub.score(request(items.get(i), i, 1)));
                voting.add(stub.score(request(items.get(i), i, K)));
            }
            int greedyRight = 0, votingRight = 0, forced = 0;
            for (int i = 0; i < ITEMS; i++) {
                ScoreResponse g = orNoValidSample(greedy.get(i)), v = orNoValidSample(voting.get(i));
                if (g != null && correct(g, items.get(i).best())) greedyRight++;
                if (v != null && correct(v, items.get(i).best())) votingRight++;
                forced += (g == null ? 0 : g.getUsage().getSamplesForced()) + (v == null ? 0 : v.getUsage().getSamplesForced());
            }
            double greedyAcc = (double) greedyRight / ITEMS, votingAcc = (double) votingRight / ITEMS;
            System.out.printf("arithmetic default on %d held-out items: greedy %.3f, Voting@%d %.3f, forced samples %d of %d%n", ITEMS,
                    greedyAcc, K, votingAcc, forced, ITEMS * (1 + K));
            assertTrue(votingAcc > greedyAcc, "Voting@" + K + " " + votingAcc + " must beat greedy " + greedyAcc);
            // random weights: near chance (about 0.36 with 2-4 responses), lower still when ties lose
            assertTrue(votingAcc >= 0.7, "Voting@" + K + " " + votingAcc + " is no better than an untrained model");
            assertTrue(forced <= ITEMS * (1 + K) / 10, forced + " samples needed forcing: the model does not write its score block");
        } finally {
            GrpcTestSupport.close(channel);
        }
    }

    @Test
    void aRequestThatSetsNoMetaRuleIsWeightedAtTheTemperatureTheMetaRmDeclares() throws Exception {
        ManagedChannel channel = GrpcTestSupport.channel();
        try {
            var stub = RewardServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.MINUTES);
            var policy = stub.getServerInfo(GetServerInfoRequest.getDefaultInstance()).getBudgetPolicy();
            assertTrue(policy.getMetaRmLoaded());
            assertEquals(2f, policy.getDefaultMetaTemperature(), "the embedded meta-RM's config.json declares 2");
            ScoreResponse r = stub.score(ScoreRequest.newBuilder().setId("default-vote")
                    .addConversation(Turn.newBuilder().setRole("user").setContent("What is 87 times 19?"))
                    .addResponses("1653").addResponses("The answer is 1643.").addResponses("87 times 19 = 1553")
                    .setBudget(Budget.newBuilder().setSamples(K).setSeed(5)).setReturnSamples(true).build());
            double top = Double.NEGATIVE_INFINITY;
            for (var sample : r.getSamplesList()) if (sample.getValid()) top = Math.max(top, sample.getMetaScore());
            double[] sums = new double[3];
            int counted = 0;
            for (var sample : r.getSamplesList()) {
                double expected = sample.getValid() ? Math.exp((sample.getMetaScore() - top) / 2) : 0;
                assertEquals(expected, sample.getVoteWeight(), 1e-4, "meta score " + sample.getMetaScore());
                if (!sample.getCounted()) continue;
                counted++;
                for (int i = 0; i < 3; i++) sums[i] += sample.getVoteWeight() * sample.getScores(i);
            }
            assertEquals(counted, r.getUsage().getSamplesCounted());
            assertEquals(r.getUsage().getSamplesValid(), counted, "every valid sample is voted, with its weight");
            for (int i = 0; i < 3; i++) assertEquals(sums[i], r.getScores(i).getReward(), 1e-9);
        } finally {
            GrpcTestSupport.close(channel);
        }
    }

    @Test
    void theScoreCommandSendsTheMetaRuleItIsGivenAndShowsWhatEachSampleWeighed() throws Exception {
        String[] base = {"--target", "localhost:" + GrpcTestSupport.PORT, "--samples", "4", "--seed", "3", "--show-samples"};
        String[] dropped = scoreCommand(concat(base, "--meta-min-score", "99"));
        assertEquals("0", dropped[0], dropped[2]);
        assertTrue(dropped[1].contains("samples_counted 4"), "no sample reaches 99, so all four are voted: " + dropped[1]);
        double[][] kept = shownWeights(dropped[1]);
        assertEquals(4, kept.length, dropped[1]);
        for (double[] mw : kept) assertEquals(1.0, mw[1], 0.0, dropped[1]);
        String[] weighted = scoreCommand(concat(base, "--meta-temperature", "2"));
        assertEquals("0", weighted[0], weighted[2]);
        double[][] shown = shownWeights(weighted[1]);
        assertEquals(4, shown.length, weighted[1]);
        double top = Double.NEGATIVE_INFINITY;
        for (double[] mw : shown) top = Math.max(top, mw[0]);
        for (double[] mw : shown) {
            double expected = Math.exp((mw[0] - top) / 2);
            assertEquals(expected, mw[1], 0.006 * expected + 0.01, "printed meta " + mw[0] + " to 2 decimals, weight to 3 digits: " + weighted[1]);
        }
        String[] refused = scoreCommand(concat(base, "--meta-temperature", "2", "--meta-keep", "2"));
        assertEquals("1", refused[0]);
        assertTrue(refused[2].contains("INVALID_ARGUMENT") && refused[2].contains("budget.meta_temperature"), refused[2]);
    }

    @Test
    void theAccuracyHarnessVotesMetaRmAtKAsTheServerDoesByDefault(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path items = dir.resolve("items.jsonl"), out = dir.resolve("accuracy");
        dev.principia.benchmark.ArithmeticItems.main(new String[] {"--seed", "77", "--count", "2", "--out", items.toString()});
        dev.principia.benchmark.Accuracy.main(new String[] {"--input", items.toString(), "--samples", "2", "--addr", "localhost:" + GrpcTestSupport.PORT,
                "--out", out.toString()});
        String header = java.nio.file.Files.readAllLines(out.resolve("accuracy.md")).get(0);
        assertTrue(header.contains("weighted by exp((meta-RM score - highest) / 2.0) (meta_temperature), the server's default for its meta-RM"),
                "no rule given: the one ServerInfo reports; " + header);
        assertEquals(2, java.nio.file.Files.readAllLines(out.resolve("draws.jsonl")).size());
    }

    /** {exit code, stdout, stderr} of {@code principia score args}. */
    private static String[] scoreCommand(String[] args) {
        java.io.PrintStream out = System.out, err = System.err;
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream(), errors = new java.io.ByteArrayOutputStream();
        int rc;
        try {
            System.setOut(new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
            System.setErr(new java.io.PrintStream(errors, true, java.nio.charset.StandardCharsets.UTF_8));
            rc = dev.principia.cli.ScoreCommand.run(args);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        return new String[] {Integer.toString(rc), printed.toString(java.nio.charset.StandardCharsets.UTF_8),
                errors.toString(java.nio.charset.StandardCharsets.UTF_8)};
    }

    /** Each {@code --show-samples} header's meta-RM score and vote weight. */
    private static double[][] shownWeights(String printed) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("--- sample \\d+ .* meta-RM (-?[0-9.]+) vote weight ([0-9.eE+-]+)").matcher(printed);
        List<double[]> rows = new ArrayList<>();
        while (m.find()) rows.add(new double[] {Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2))});
        return rows.toArray(double[][]::new);
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
