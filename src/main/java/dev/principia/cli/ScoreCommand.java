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
                    case "--meta-keep" -> budget.setMetaKeep(Integer.parseInt(Args.value(args, ++i, a)));
                    case "--meta-min-score" -> budget.setMetaMinScore(Float.parseFloat(Args.value(args, ++i, a)));
                    case "--meta-temperature" -> budget.setMetaTemperature(Float.parseFloat(Args.value(args, ++i, a)));
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
        boolean builtIn = query == null;
        if (builtIn) {
            // the embedded default's task (README, "The embedded default"): one right answer, two slips
            query = BUILT_IN_QUERY;
            if (responses.isEmpty()) responses.addAll(BUILT_IN_RESPONSES);
        }
        if (responses.isEmpty()) {
            System.err.println("principia score: give at least one --response");
            return 2;
        }
        ScoreRequest.Builder request = ScoreRequest.newBuilder().setId("cli").setBudget(budget).setReturnSamples(showSamples || builtIn);
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
            if (builtIn && !showSamples) {
                for (int i = 0; i < r.getSamplesCount(); i++) System.out.print(verdicts(i, r.getSamples(i)));
            }
            if (showSamples) {
                for (int i = 0; i < r.getSamplesCount(); i++) {
                    var s = r.getSamples(i);
                    System.out.printf("--- sample %d order %s scores %s valid %s%s%s%s%n%s%n", i, s.getOrderList(), s.getScoresList(),
                            s.getValid(), s.getForced() ? " forced" : "", s.getValid() ? "" : " (" + s.getInvalidReason() + ")",
                            s.getMetaScore() != 0f ? String.format(" meta-RM %.2f vote weight %.3g", s.getMetaScore(), s.getVoteWeight()) : "",
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

    /** The built-in example: the question {@code demo} and a bare {@code score} ask. */
    public static final String BUILT_IN_QUERY = "What is 47 + 38?";
    /** Its responses: a dropped carry, the right sum, off by one. */
    public static final List<String> BUILT_IN_RESPONSES = List.of("47 + 38 = 75", "The answer is 85.", "86");
    private static final java.util.regex.Pattern VERDICT = java.util.regex.Pattern.compile("(?m)^Response (\\d+) (.*)$");

    /**
     * One sample's verdict lines ({@code Response i says N: right.}) with {@code i} mapped back from the order the
     * sample saw the responses in to the caller's order, and its scores; the whole text when it has no such lines.
     */
    static String verdicts(int index, dev.principia.api.v1.Sample s) {
        StringBuilder out = new StringBuilder();
        out.append(String.format("sample %d: %s%s%s%n", index, s.getValid() ? "scores " + s.getScoresList() : "invalid (" + s.getInvalidReason() + ")",
                s.getForced() ? ", forced" : "", s.getMetaScore() != 0f ? String.format(", meta-RM %.2f, vote weight %.3g", s.getMetaScore(),
                        s.getVoteWeight()) : ""));
        java.util.regex.Matcher m = VERDICT.matcher(s.getText());
        boolean any = false;
        while (m.find()) {
            int shown = Integer.parseInt(m.group(1));
            if (shown < 1 || shown > s.getOrderCount()) continue;
            out.append(String.format("  response %d %s%n", s.getOrder(shown - 1), m.group(2)));
            any = true;
        }
        if (!any) out.append("  ").append(abbreviate(s.getText())).append(System.lineSeparator());
        return out.toString();
    }

    private static String abbreviate(String s) {
        String one = s.replace('\n', ' ');
        return one.length() <= 60 ? one : one.substring(0, 57) + "...";
    }
}
