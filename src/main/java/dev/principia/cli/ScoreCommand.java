package dev.principia.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.principia.api.v1.Budget;
import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import dev.principia.api.v1.Turn;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;

/** {@code principia score}: sends one ScoreRequest to a running server and prints the rewards. */
public final class ScoreCommand {
    private ScoreCommand() {
    }

    /** @return the process exit code: 0 scored, 1 the call failed, 2 bad arguments */
    public static int run(String[] args) {
        String target = "localhost:9000";
        String query = null;
        String system = null;
        List<String> responses = new ArrayList<>();
        Budget.Builder budget = Budget.newBuilder();
        boolean showSamples = false;
        long timeoutSeconds = 300;
        String apiKey = null;
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--target" -> target = Args.value(args, ++i, a);
                    case "--query" -> query = Args.value(args, ++i, a);
                    case "--system" -> system = Args.value(args, ++i, a);
                    case "--response" -> responses.add(Args.value(args, ++i, a));
                    case "--samples" -> budget.setSamples(Integer.parseInt(Args.value(args, ++i, a)));
                    case "--max-new-tokens" -> budget.setMaxNewTokens(Integer.parseInt(Args.value(args, ++i, a)));
                    case "--temperature" -> budget.setTemperature(Float.parseFloat(Args.value(args, ++i, a)));
                    case "--seed" -> budget.setSeed(Long.parseUnsignedLong(Args.value(args, ++i, a)));
                    case "--show-samples" -> showSamples = true;
                    case "--timeout-seconds" -> timeoutSeconds = Long.parseLong(Args.value(args, ++i, a));
                    case "--api-key" -> apiKey = Args.value(args, ++i, a);
                    default -> throw new IllegalArgumentException("unknown option " + a + " (see --help)");
                }
            }
        } catch (IllegalArgumentException e) {
            System.err.println("principia score: " + e.getMessage());
            return 2;
        }
        if (query == null) {
            query = "What is the boiling point of water at sea level, in degrees Celsius?";
            if (responses.isEmpty()) {
                responses.add("Water boils at 100 degrees Celsius at sea level (standard atmospheric pressure).");
                responses.add("It boils at about 90 degrees Celsius.");
            }
        }
        if (responses.isEmpty()) {
            System.err.println("principia score: give at least one --response");
            return 2;
        }
        ScoreRequest.Builder request = ScoreRequest.newBuilder().setId("cli").setBudget(budget).setReturnSamples(showSamples);
        if (system != null) request.addConversation(Turn.newBuilder().setRole("system").setContent(system));
        request.addConversation(Turn.newBuilder().setRole("user").setContent(query));
        request.addAllResponses(responses);

        ManagedChannel channel = NettyChannelBuilder.forTarget(target).usePlaintext().build();
        try {
            ScoreResponse r = Args.withApiKey(RewardServiceGrpc.newBlockingStub(channel), apiKey).withDeadlineAfter(timeoutSeconds, TimeUnit.SECONDS)
                    .score(request.build());
            System.out.printf("query: %s%n", query);
            for (int i = 0; i < r.getScoresCount(); i++) {
                var s = r.getScores(i);
                System.out.printf("response %d: reward %.1f  mean %.2f  rank %d%s  | %s%n", i, s.getReward(), s.getMeanScore(),
                        s.getRank(), i == r.getBestIndex() ? " (best)" : "", abbreviate(responses.get(i)));
            }
            var u = r.getUsage();
            System.out.printf("samples_run %d  samples_valid %d  samples_counted %d  samples_forced %d  prompt_tokens %d  "
                            + "generated_tokens %d  queue_ms %d  compute_ms %d  seed %s%s%s%n", u.getSamplesRun(), u.getSamplesValid(),
                    u.getSamplesCounted(), u.getSamplesForced(), u.getPromptTokens(), u.getGeneratedTokens(), u.getQueueMs(),
                    u.getComputeMs(), Long.toUnsignedString(r.getSeed()), r.getPartial() ? "  partial" : "",
                    r.getDegraded() ? "  degraded: " + r.getDegradedReason() : "");
            if (showSamples) {
                for (int i = 0; i < r.getSamplesCount(); i++) {
                    var s = r.getSamples(i);
                    System.out.printf("--- sample %d order %s scores %s valid %s%s%s%n%s%n", i, s.getOrderList(), s.getScoresList(),
                            s.getValid(), s.getForced() ? " forced" : "", s.getValid() ? "" : " (" + s.getInvalidReason() + ")",
                            s.getText());
                }
            }
            return 0;
        } catch (StatusRuntimeException e) {
            System.err.printf("principia score: %s: %s%n", e.getStatus().getCode(), e.getStatus().getDescription());
            return 1;
        } finally {
            channel.shutdownNow();
        }
    }

    private static String abbreviate(String s) {
        String one = s.replace('\n', ' ');
        return one.length() <= 60 ? one : one.substring(0, 57) + "...";
    }
}
