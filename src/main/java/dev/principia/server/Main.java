package dev.principia.server;

import java.util.Arrays;

import org.eclipse.microprofile.config.ConfigProvider;

import dev.principia.cli.CollectCommand;
import dev.principia.cli.ScoreCommand;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.QuarkusApplication;
import io.quarkus.runtime.annotations.QuarkusMain;

/**
 * Entry point. With no command (or {@code serve}) it starts the server; {@code demo} starts it and
 * scores the built-in example; {@code score} and {@code collect} are clients ({@link dev.principia.cli}).
 */
@QuarkusMain
public class Main {

    static final String HELP = """
            Principia: a gRPC reward server for generative reward models.

            Usage:
              principia [serve]            start the server (gRPC on :9000, metrics on :8080/q/metrics)
              principia score [options]    score one request against a running server and print rewards
              principia demo [options]     start the server, score the built-in example (score options
                                           apply), print the rewards and each sample's verdicts, keep serving
              principia collect [options]  SPCT data collection against a running server (see below)
              principia --help

            Server configuration is read from principia.* properties (-Dprincipia.model.dir=/path, or
            environment variables such as PRINCIPIA_MODEL_DIR); see README, "Configuration".

            score options:
              --target HOST:PORT        server address (default localhost:9000)
              --query TEXT              the user turn to answer (default: the built-in example, "What is 47 + 38?",
                                        the task the embedded default judges; its samples' verdicts are printed)
              --response TEXT           a candidate response; repeat for several (default: three examples)
              --system TEXT             an optional system turn before the query
              --samples K               GRM samples (budget.samples; default: server default)
              --max-new-tokens N        tokens per sample (budget.max_new_tokens)
              --temperature T           sampling temperature (budget.temperature)
              --seed S                  seed for permutations and sampling (default: random)
              --meta-keep K             vote the K samples the meta-RM trusts most (budget.meta_keep)
              --meta-min-score X        vote the samples the meta-RM scores at least X (budget.meta_min_score)
              --meta-temperature T      vote every sample weighted by exp((meta score - highest) / T)
                                        (budget.meta_temperature); with none of the three, the server's default
              --show-samples            print every sample's scores and text
              --timeout-seconds S       call deadline (default 300)
              --api-key K               sent as 'authorization: Bearer K' (servers with principia.auth.api-keys)

            collect options (RMB pairwise or best-of-N JSONL in; accepted/rejected trajectories out):
              --input FILE              labelled JSONL (pair_uid + chosen/reject, or bon_uid + bon_best/loser_list)
              --out DIR                 appends accepted.jsonl, rejected.jsonl, meta-labels.jsonl, done.txt;
                                        writes summary.json; items in done.txt are skipped (resumable)
              --samples N               trajectories per item (default 8)
              --max-new-tokens N        per trajectory (default 1024)
              --temperature T           sampling temperature (default 0.5, the paper's)
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
            System.exit(ScoreCommand.run(Arrays.copyOfRange(args, 1, args.length)));
        }
        if (args.length > 0 && args[0].equals("collect")) {
            System.exit(CollectCommand.run(Arrays.copyOfRange(args, 1, args.length)));
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
            int rc = ScoreCommand.run(scoreArgs);
            System.out.println(rc == 0 ? "demo request scored; still serving on port " + port + " (Ctrl-C to stop)"
                    : "demo request failed (exit " + rc + "); still serving on port " + port);
            Quarkus.waitForExit();
            return 0;
        }
    }
}
