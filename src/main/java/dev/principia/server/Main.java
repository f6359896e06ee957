package dev.principia.server;

import java.util.ArrayList;
import java.util.Arrays;
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
import org.eclipse.microprofile.config.ConfigProvider;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.QuarkusApplication;
import io.quarkus.runtime.annotations.QuarkusMain;

/**
 * Entry point. With no command (or {@code serve}) it starts the server; {@code score} is a small
 * client that sends one ScoreRequest to a running server and prints the rewards.
 */
@QuarkusMain
public class Main {

    static final String HELP = """
            Principia: a gRPC reward server for generative reward models.

            Usage:
              principia [serve]            start the server (gRPC on :9000, metrics on :8080/q/metrics)
              principia score [options]    score one request against a running server and print rewards
              principia demo [options]     start the server, score the built-in example (score options
                                           apply), print the rewards and keep serving
              principia collect [options]  SPCT data collection against a running server (see below)
              principia --help

            Server configuration is read from principia.* properties (-Dprincipia.model.dir=/path, or
            environment variables such as PRINCIPIA_MODEL_DIR); see README, "Configuration".

            score options:
              --target HOST:PORT        server address (default localhost:9000)
              --query TEXT              the user turn to answer (default: a built-in example)
              --response TEXT           a candidate response; repeat for several (default: two examples)
              --system TEXT             an optional system turn before the query
              --samples K               GRM samples (budget.samples; default: server default)
              --max-new-tokens N        tokens per sample (budget.max_new_tokens)
              --temperature T           sampling temperature (budget.temperature)
              --seed S                  seed for permutations and sampling (default: random)
              --show-samples            print every sample's scores and text
              --timeout-seconds S       call deadline (default 300)
              --api-key K               sent as 'authorization: Bearer K' (servers with principia.auth.api-keys)

            collect options (RMB pairwise or best-of-N JSONL in; accepted/rejected trajectories out):
              --input FILE              labelled JSONL (pair_uid + chosen/reject, or bon_uid + bon_best/loser_list)
              --out DIR                 appends accepted.jsonl, rejected.jsonl, meta-labels.jsonl, done.txt;
                                        writes summary.json; items in done.txt are skipped (resumable)
              --samples N               trajectories per item (default 8)
              --max-new-tokens N        per trajectory (default 1024)
              --limit N                 first N items only
              --in-flight N             items scored at once (default 16)
              --seed S                  request seed (default 1)
              --target HOST:PORT        server address (default localhost:9000)
              --api-key K               sent as 'authorization: Bearer K'
            """;

    public static void main(String... args) {
        if (args.length > 0 && (args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help"))) {
            System.out.print(HELP);
            return;
        }
        if (args.length > 0 && args[0].equals("score")) {
            System.exit(score(Arrays.copyOfRange(args, 1, args.length)));
        }
        if (args.length > 0 && args[0].equals("collect")) {
            System.exit(collect(Arrays.copyOfRange(args, 1, args.length)));
        }
        if (args.length > 0 && args[0].equals("demo")) {
            Quarkus.run(Demo.class, Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        String[] rest = args.length > 0 && args[0].equals("serve") ? Arrays.copyOfRange(args, 1, args.length) : args;
        Quarkus.run(rest);
    }

    /** {@code demo}: serve, score the built-in example against ourselves once, print it, keep serving. */
    public static class Demo implements QuarkusApplication {
        @Override
        public int run(String... args) {
            int port = ConfigProvider.getConfig().getOptionalValue("quarkus.grpc.server.port", Integer.class).orElse(9000);
            String[] scoreArgs = new String[args.length + 2];
            scoreArgs[0] = "--target";
            scoreArgs[1] = "localhost:" + port;
            System.arraycopy(args, 0, scoreArgs, 2, args.length);
            int rc = score(scoreArgs);
            System.out.println(rc == 0 ? "demo request scored; still serving on port " + port + " (Ctrl-C to stop)"
                    : "demo request failed (exit " + rc + "); still serving on port " + port);
            Quarkus.waitForExit();
            return 0;
        }
    }

    static int score(String[] args) {
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
                    case "--target" -> target = value(args, ++i, a);
                    case "--query" -> query = value(args, ++i, a);
                    case "--system" -> system = value(args, ++i, a);
                    case "--response" -> responses.add(value(args, ++i, a));
                    case "--samples" -> budget.setSamples(Integer.parseInt(value(args, ++i, a)));
                    case "--max-new-tokens" -> budget.setMaxNewTokens(Integer.parseInt(value(args, ++i, a)));
                    case "--temperature" -> budget.setTemperature(Float.parseFloat(value(args, ++i, a)));
                    case "--seed" -> budget.setSeed(Long.parseUnsignedLong(value(args, ++i, a)));
                    case "--show-samples" -> showSamples = true;
                    case "--timeout-seconds" -> timeoutSeconds = Long.parseLong(value(args, ++i, a));
                    case "--api-key" -> apiKey = value(args, ++i, a);
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
            ScoreResponse r = withApiKey(RewardServiceGrpc.newBlockingStub(channel), apiKey).withDeadlineAfter(timeoutSeconds, TimeUnit.SECONDS)
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

    static int collect(String[] args) {
        String target = "localhost:9000";
        java.nio.file.Path input = null;
        java.nio.file.Path out = null;
        int samples = 8;
        int maxNewTokens = 1024;
        int limit = 0;
        int inFlight = 16;
        long seed = 1;
        String apiKey = null;
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--target" -> target = value(args, ++i, a);
                    case "--input" -> input = java.nio.file.Path.of(value(args, ++i, a));
                    case "--out" -> out = java.nio.file.Path.of(value(args, ++i, a));
                    case "--samples" -> samples = Integer.parseInt(value(args, ++i, a));
                    case "--max-new-tokens" -> maxNewTokens = Integer.parseInt(value(args, ++i, a));
                    case "--limit" -> limit = Integer.parseInt(value(args, ++i, a));
                    case "--in-flight" -> inFlight = Integer.parseInt(value(args, ++i, a));
                    case "--seed" -> seed = Long.parseUnsignedLong(value(args, ++i, a));
                    case "--api-key" -> apiKey = value(args, ++i, a);
                    default -> throw new IllegalArgumentException("unknown option " + a + " (see --help)");
                }
            }
            if (input == null || out == null) throw new IllegalArgumentException("--input and --out are required");
        } catch (IllegalArgumentException e) {
            System.err.println("principia collect: " + e.getMessage());
            return 2;
        }
        try {
            DataCollector.Summary s = DataCollector.run(new DataCollector.Options(target, input, out, samples, maxNewTokens, limit,
                    inFlight, seed, apiKey), System.out);
            System.out.printf("%d items (%d already done), %d failed: %d trajectories, %d accepted, %d rejected (%d invalid); "
                    + "wrote %s%n", s.items(), s.skipped(), s.failed(), s.trajectories(), s.accepted(), s.rejected(), s.invalid(), out);
            return s.failed() == 0 ? 0 : 1;
        } catch (java.io.IOException e) {
            System.err.println("principia collect: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    /** Attaches {@code authorization: Bearer <key>} to every call of the stub when a key is given. */
    static <S extends io.grpc.stub.AbstractStub<S>> S withApiKey(S stub, String apiKey) {
        if (apiKey == null) return stub;
        io.grpc.Metadata headers = new io.grpc.Metadata();
        headers.put(ApiKeyInterceptor.AUTHORIZATION, "Bearer " + apiKey);
        return stub.withInterceptors(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(headers));
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) throw new IllegalArgumentException(option + " needs a value");
        return args[i];
    }

    private static String abbreviate(String s) {
        String one = s.replace('\n', ' ');
        return one.length() <= 60 ? one : one.substring(0, 57) + "...";
    }
}
