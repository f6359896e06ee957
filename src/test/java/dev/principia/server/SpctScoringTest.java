package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.principia.api.v1.GetServerInfoRequest;
import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import dev.principia.api.v1.ServerInfo;
import io.grpc.ManagedChannel;
import io.quarkus.test.junit.QuarkusTest;

/** Adaptive voting, anytime scoring and caller principles over gRPC on the embedded default GRM. */
@QuarkusTest
class SpctScoringTest {
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
    void adaptiveVotingPicksTheSameBestAsFullVoting() {
        for (long seed = 1; seed <= 3; seed++) {
            ScoreRequest.Builder full = GrpcTestSupport.request("full", 2, 8, 32);
            full.getBudgetBuilder().setSeed(seed).setMetaKeep(8); // k_meta = k: no meta filtering, so adaptive applies
            ScoreRequest.Builder adaptive = full.clone().setId("adaptive");
            adaptive.getBudgetBuilder().setAdaptive(true);
            ScoreResponse a = stub.score(adaptive.setReturnSamples(true).build());
            ScoreResponse f = stub.score(full.setReturnSamples(true).build());
            assertEquals(f.getBestIndex(), a.getBestIndex(), "seed " + seed);
            assertEquals(8, a.getUsage().getSamplesRequested());
            assertEquals(8, a.getUsage().getSamplesRun() + a.getUsage().getSamplesSaved());
            assertFalse(a.getPartial());
            // the samples adaptive voting ran are the first ones of the full run, token for token
            for (int s = 0; s < a.getSamplesCount(); s++) assertEquals(f.getSamples(s).getText(), a.getSamples(s).getText());
        }
    }

    @Test
    void deadlineShorterThanTheSamplesGivesAPartialResult() {
        ScoreRequest.Builder r = GrpcTestSupport.request("anytime", 2, 4, 2000);
        r.getBudgetBuilder().setDeadlineMs(1500);
        long t0 = System.nanoTime();
        ScoreResponse response = stub.score(r.setReturnSamples(true).build());
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(response.getPartial(), "marked partial");
        assertTrue(response.getUsage().getSamplesValid() >= 1);
        assertTrue(response.getUsage().getSamplesCounted() >= 1);
        assertEquals(2, response.getScoresCount());
        assertTrue(millis < 1500 + 1000, "answered near the deadline, took " + millis + " ms");
        assertTrue(response.getSamplesList().stream().allMatch(s -> s.getText().length() < 2000 * 20), "samples were cut short");
    }

    @Test
    void callerPrinciplesAreCarriedAndTheModelOnlyCritiques() {
        ScoreResponse without = stub.score(GrpcTestSupport.request("no-principles", 2, 1, 32).build());
        ScoreResponse with = stub.score(GrpcTestSupport.request("principles", 2, 1, 32)
                .addPrinciples("Correctness: the number must be prime (70%)")
                .addPrinciples("Brevity (30%)").setReturnSamples(true).build());
        assertFalse(with.hasError());
        assertEquals(2, with.getScoresCount());
        // the principles prompt (PrinciplesPromptTest checks its text) replaced the default one
        assertTrue(with.getUsage().getPromptTokens() != without.getUsage().getPromptTokens(),
                with.getUsage().getPromptTokens() + " vs " + without.getUsage().getPromptTokens());
    }

    @Test
    void metaKeepTwoOfFourCountsExactlyTheTwoBestMetaScores() {
        ScoreRequest.Builder r = GrpcTestSupport.request("meta", 3, 4, 32).setReturnSamples(true);
        r.getBudgetBuilder().setMetaKeep(2);
        ScoreResponse response = stub.score(r.build());
        assertEquals(4, response.getSamplesCount());
        assertEquals(2, response.getSamplesList().stream().filter(s -> s.getCounted()).count());
        assertEquals(2, response.getUsage().getSamplesCounted());
        float lowestKept = Float.MAX_VALUE;
        float highestDropped = -Float.MAX_VALUE;
        double[] sums = new double[3];
        for (var s : response.getSamplesList()) {
            assertTrue(s.getValid());
            assertTrue(s.getMetaScore() != 0f, "every valid sample was scored by the meta-RM");
            if (s.getCounted()) {
                lowestKept = Math.min(lowestKept, s.getMetaScore());
                for (int i = 0; i < 3; i++) sums[i] += s.getScores(i);
            } else {
                highestDropped = Math.max(highestDropped, s.getMetaScore());
            }
        }
        assertTrue(lowestKept >= highestDropped, "kept the top meta scores");
        for (int i = 0; i < 3; i++) assertEquals(sums[i], response.getScores(i).getReward(), 1e-9, "vote over kept samples only");
    }

    @Test
    void metaMinScoreCountsExactlyTheSamplesScoredAtLeastIt() {
        ScoreRequest.Builder byCount = GrpcTestSupport.request("meta-count", 3, 6, 32).setReturnSamples(true);
        byCount.getBudgetBuilder().setSeed(11).setMetaKeep(3);
        ScoreResponse first = stub.score(byCount.build());
        float[] metas = new float[first.getSamplesCount()];
        for (int s = 0; s < metas.length; s++) metas[s] = first.getSamples(s).getMetaScore();
        float[] sorted = new float[(int) first.getSamplesList().stream().filter(x -> x.getValid()).count()];
        for (int s = 0, j = 0; s < metas.length; s++) if (first.getSamples(s).getValid()) sorted[j++] = metas[s];
        java.util.Arrays.sort(sorted);
        assertTrue(sorted.length >= 2, "needs two valid samples, got " + sorted.length);
        float between = (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2; // no score sits on the threshold
        for (float min : new float[] {between, sorted[sorted.length - 1] + 1f}) {
            ScoreRequest.Builder byScore = byCount.clone().setId("meta-score");
            byScore.getBudgetBuilder().setMetaKeep(0).setMetaMinScore(min);
            ScoreResponse r = stub.score(byScore.build());
            assertEquals(metas.length, r.getSamplesCount());
            boolean any = false;
            for (var sample : r.getSamplesList()) any |= sample.getValid() && sample.getMetaScore() >= min;
            double[] sums = new double[3];
            int counted = 0;
            for (int s = 0; s < metas.length; s++) {
                var sample = r.getSamples(s);
                assertEquals(first.getSamples(s).getText(), sample.getText(), "same seed, same samples");
                assertEquals(metas[s], sample.getMetaScore(), 1e-3f);
                boolean expected = sample.getValid() && (!any || sample.getMetaScore() >= min);
                assertEquals(expected, sample.getCounted(), "sample " + s + " meta " + sample.getMetaScore() + " min " + min);
                if (sample.getCounted()) {
                    counted++;
                    for (int i = 0; i < 3; i++) sums[i] += sample.getScores(i);
                }
            }
            assertEquals(counted, r.getUsage().getSamplesCounted());
            for (int i = 0; i < 3; i++) assertEquals(sums[i], r.getScores(i).getReward(), 1e-9, "vote over the kept samples only");
        }
        ScoreRequest.Builder both = byCount.clone().setId("both");
        both.getBudgetBuilder().setMetaMinScore(0f);
        io.grpc.StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(io.grpc.StatusRuntimeException.class,
                () -> stub.score(both.build()));
        assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("budget.meta_min_score"), e.getStatus().getDescription());
    }

    @Test
    void metaTemperatureVotesEverySampleTimesItsWeightFromItsMetaScore() {
        ScoreRequest.Builder byCount = GrpcTestSupport.request("meta-count", 3, 6, 32).setReturnSamples(true);
        byCount.getBudgetBuilder().setSeed(13).setMetaKeep(3);
        ScoreResponse first = stub.score(byCount.build());
        float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
        for (var sample : first.getSamplesList()) {
            if (!sample.getValid()) continue;
            lo = Math.min(lo, sample.getMetaScore());
            hi = Math.max(hi, sample.getMetaScore());
        }
        assertTrue(hi > lo, "needs two valid samples the meta-RM scores apart, got " + lo + ".." + hi);
        float temperature = (hi - lo) / 2; // the least trusted weighs exp(-2): every weight strictly inside (0, 1]
        ScoreRequest.Builder weighted = byCount.clone().setId("meta-weighted");
        weighted.getBudgetBuilder().setMetaKeep(0).setMetaTemperature(temperature);
        ScoreResponse r = stub.score(weighted.build());
        assertEquals(first.getSamplesCount(), r.getSamplesCount());
        double[] sums = new double[3];
        double total = 0;
        int counted = 0;
        for (int s = 0; s < r.getSamplesCount(); s++) {
            var sample = r.getSamples(s);
            assertEquals(first.getSamples(s).getText(), sample.getText(), "same seed, same samples");
            double expected = sample.getValid() ? Math.exp((sample.getMetaScore() - (double) hi) / temperature) : 0;
            assertEquals(expected, sample.getVoteWeight(), 1e-4, "sample " + s + " meta " + sample.getMetaScore());
            assertEquals(sample.getValid(), sample.getCounted(), "every valid sample is counted, with its weight");
            if (!sample.getCounted()) continue;
            counted++;
            total += sample.getVoteWeight();
            for (int i = 0; i < 3; i++) sums[i] += sample.getVoteWeight() * sample.getScores(i);
        }
        assertEquals(counted, r.getUsage().getSamplesCounted());
        for (int i = 0; i < 3; i++) {
            assertEquals(sums[i], r.getScores(i).getReward(), 1e-9, "the weighted vote");
            assertEquals(sums[i] / total, r.getScores(i).getMeanScore(), 1e-9, "the weighted mean");
        }
        for (var sample : first.getSamplesList()) {
            assertEquals(sample.getCounted() ? 1.0 : 0.0, sample.getVoteWeight(), 0.0, "kept by count: weight 1 or 0");
        }
        for (String[] bad : new String[][] {{"both", "meta_keep"}, {"nan", "must be finite"}, {"zero", "must be finite"}, {"threshold", "meta_min_score"}}) {
            ScoreRequest.Builder b = weighted.clone().setId(bad[0]);
            switch (bad[0]) {
                case "both" -> b.getBudgetBuilder().setMetaKeep(2);
                case "nan" -> b.getBudgetBuilder().setMetaTemperature(Float.NaN);
                case "zero" -> b.getBudgetBuilder().setMetaTemperature(0f);
                default -> b.getBudgetBuilder().setMetaMinScore(0f);
            }
            io.grpc.StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(io.grpc.StatusRuntimeException.class,
                    () -> stub.score(b.build()));
            assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), bad[0]);
            String message = e.getStatus().getDescription();
            assertTrue(message.contains("budget.meta_temperature") && message.contains(bad[1]), bad[0] + ": " + message);
        }
    }

    @Test
    void scalarModeReturnsOneScorePerResponse() {
        ScoreResponse r = stub.score(GrpcTestSupport.request("scalar", 3, 1, 32).setMode(dev.principia.api.v1.Mode.MODE_SCALAR).build());
        assertFalse(r.hasError());
        assertEquals(3, r.getScoresCount());
        assertEquals(0, r.getUsage().getSamplesRun(), "no GRM sample");
        java.util.Set<Double> distinct = new java.util.HashSet<>();
        for (var s : r.getScoresList()) distinct.add(s.getReward());
        assertEquals(3, distinct.size(), "a real forward pass per response gives distinct scalars");
        assertEquals(1, r.getScores(r.getBestIndex()).getRank());
        ScoreResponse again = stub.score(GrpcTestSupport.request("scalar", 3, 1, 32).setMode(dev.principia.api.v1.Mode.MODE_SCALAR).build());
        assertEquals(r.getScoresList(), again.getScoresList(), "deterministic");
    }

    @Test
    void serverInfoReportsTheBudgetPolicy() {
        ServerInfo info = stub.getServerInfo(GetServerInfoRequest.getDefaultInstance());
        assertEquals(32, info.getBudgetPolicy().getMaxSamples());
        assertEquals(1, info.getBudgetPolicy().getDefaultSamples());
        assertEquals(0.5f, info.getBudgetPolicy().getSamplingTemperature());
        assertTrue(info.getBudgetPolicy().getMetaRmLoaded(), "the embedded default carries a tiny meta-RM");
    }
}
