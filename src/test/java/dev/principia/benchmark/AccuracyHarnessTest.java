package dev.principia.benchmark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.Sample;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import dev.principia.api.v1.Turn;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;

/** The accuracy harness's reading of items and of the server's answers, over a real gRPC channel. */
class AccuracyHarnessTest {

    private static final Accuracy.Item ITEM = new Accuracy.Item(List.of(Turn.newBuilder().setRole("user").setContent("What is 2 + 2?").build()),
            List.of("4", "5"), 0);

    /** Answers FAILED_PRECONDITION (no valid sample) when the first response is "none valid", UNAVAILABLE for "down". */
    private static final class Refusing extends RewardServiceGrpc.RewardServiceImplBase {
        @Override
        public void score(ScoreRequest request, StreamObserver<ScoreResponse> out) {
            switch (request.getResponses(0)) {
                case "none valid" -> out.onError(Status.FAILED_PRECONDITION.withDescription("no sample wrote a valid score block").asRuntimeException());
                case "down" -> out.onError(Status.UNAVAILABLE.withDescription("draining").asRuntimeException());
                default -> {
                    out.onNext(ScoreResponse.newBuilder().addSamples(Sample.newBuilder().setValid(true).addScores(9).addScores(2).setMetaScore(0.5f)).build());
                    out.onCompleted();
                }
            }
        }
    }

    @Test
    void noValidSampleCountsAsWrongAndOtherFailuresPropagate() throws Exception {
        Server server = NettyServerBuilder.forPort(0).addService(new Refusing()).build().start();
        ManagedChannel channel = NettyChannelBuilder.forTarget("localhost:" + server.getPort()).usePlaintext().build();
        try {
            var stub = RewardServiceGrpc.newBlockingStub(channel);
            ScoreResponse none = Accuracy.scoreOrNoValidSample(stub, ScoreRequest.newBuilder().addResponses("none valid").addResponses("x").build());
            assertNull(none);
            VotingCurves.ItemDraws d = Accuracy.itemDraws(ITEM, none, 8);
            assertEquals(8, d.draws().size(), "a refused item keeps its k draws, all invalid");
            d.draws().forEach(x -> assertFalse(x.valid()));
            for (int k : new int[] {1, 2, 4, 8}) {
                double[] acc = VotingCurves.itemAccuracy(d, k, new java.util.Random(1));
                assertEquals(0, acc[0], "Voting@" + k);
                assertEquals(0, acc[1], "MetaRM@" + k);
            }
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> Accuracy.scoreOrNoValidSample(stub, ScoreRequest.newBuilder().addResponses("down").build()));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
            ScoreResponse ok = Accuracy.scoreOrNoValidSample(stub, ScoreRequest.newBuilder().addResponses("4").addResponses("5").build());
            VotingCurves.ItemDraws good = Accuracy.itemDraws(ITEM, ok, 1);
            assertEquals(1, VotingCurves.correct(good, new int[] {0}, false));
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void theGreedyRequestShufflesTheResponsesAndMovesTheBestWithThem() {
        Accuracy.Item item = new Accuracy.Item(ITEM.conversation(), List.of("best", "a", "b", "c"), 0);
        int[] at = new int[4];
        // consecutive seeds, as the harness derives them (seed * 1000003 + item + 1)
        for (long seed = 1_000_004; seed < 1_000_404; seed++) {
            Accuracy.Item s = Accuracy.shuffled(item, seed);
            assertEquals("best", s.responses().get(s.best()));
            assertEquals(java.util.Set.of("best", "a", "b", "c"), java.util.Set.copyOf(s.responses()));
            assertEquals(s, Accuracy.shuffled(item, seed), "seeded");
            at[s.best()]++;
        }
        // uniform: each of the 4 places about 100 times (not "Response 1" every time, which measured position bias)
        for (int p = 0; p < 4; p++) assertTrue(at[p] > 60 && at[p] < 140, "best at " + p + ": " + at[p] + " of 400");
        int first = 0;
        Accuracy.Item pair = new Accuracy.Item(ITEM.conversation(), List.of("best", "other"), 0);
        for (long seed = 1_000_004; seed < 1_000_024; seed++) if (Accuracy.shuffled(pair, seed).best() == 0) first++;
        assertTrue(first >= 4 && first <= 16, "20 consecutive pairs put the best first " + first + " times");
    }

    @Test
    void drawsFromAnEarlierRunAreRevotedUnderAnotherKeepRuleWithoutAServer(@TempDir Path dir) throws Exception {
        // two trusted draws favour the best response, three distrusted ones outvote them
        VotingCurves.ItemDraws item = new VotingCurves.ItemDraws(List.of(
                new VotingCurves.Draw(true, new int[] {8, 2}, 1f), new VotingCurves.Draw(true, new int[] {7, 3}, 0.5f),
                new VotingCurves.Draw(true, new int[] {2, 9}, -1f), new VotingCurves.Draw(true, new int[] {3, 9}, -2f),
                new VotingCurves.Draw(true, new int[] {2, 8}, -3f)), 0, 2);
        Path draws = dir.resolve("draws.jsonl");
        Files.writeString(draws, VotingCurves.toJsonLine(item) + "\n" + VotingCurves.toJsonLine(item) + "\n");
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        java.io.PrintStream stdout = System.out;
        System.setOut(new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            Accuracy.main(new String[] {"--draws", draws.toString(), "--meta-min-score", "0"});
        } finally {
            System.setOut(stdout);
        }
        String table = printed.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(Accuracy.table(VotingCurves.curve(List.of(item, item), Accuracy.KS, 1, 0f)), table);
        // every 4-subset holds a trusted draw: voting loses all five, dropping the distrusted draws wins all five
        assertTrue(table.contains("| 4 | 0.0 % | 0.0 | 100.0 % | 0.0 |"), table);
        assertTrue(table.contains("| 1 | 40.0 % | 0.0 | 40.0 % | 0.0 |"), "alone, a distrusted draw is still voted: " + table);
    }

    @Test
    void readsPairwiseAndBestOfNAndKeepsTheBestFirst(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("items.jsonl");
        Files.writeString(f, """
                {"pair_uid":"p1","conversation_input":[{"role":"user","content":"q1"}],"chosen":{"answer":"good"},"reject":{"answer":"bad"}}
                {"bon_uid":"b1","conversation_input":[{"role":"user","content":"q2"}],"bon_best":{"answer":"best"},"loser_list":[{"answer":"l1"},{"answer":"l2"},{"answer":"l3"}]}
                """);
        List<Accuracy.Item> items = Accuracy.read(f, 3);
        assertEquals(2, items.size());
        assertEquals(List.of("good", "bad"), items.get(0).responses());
        assertEquals(List.of("best", "l1", "l2"), items.get(1).responses(), "--max-responses 3 keeps the best and the first two losers");
        assertEquals("q2", items.get(1).conversation().get(0).getContent());
        assertEquals(0, items.get(1).best());
        assertEquals((0.5 + 1.0 / 3) / 2, Accuracy.chance(items), 1e-12);
    }
}
