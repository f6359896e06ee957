package dev.principia.benchmark;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

import dev.principia.api.v1.Budget;
import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/**
 * Drain: per run, starts the packaged server, puts 16 unary Score requests in flight (k = 4, 64 new
 * tokens; RMB items with {@code --rmb FILE}, else the fixed example), waits until the GRM engine reports
 * them pending (at most 20 s), sends SIGTERM and records every answer's status, the JVM's exit code, the
 * time from SIGTERM to exit, and whether it crashed (an hs_err file or "SIGSEGV" in its log). Runs
 * {@code --runs} times with plain voting ({@code meta_keep} = k), then once with meta-RM guided voting
 * ({@code meta_keep} 0, the embedded meta-RM). A run passes when each request has exactly one answer from
 * the server, OK or UNAVAILABLE (grpc-java's "Network closed" UNAVAILABLE after a dropped connection
 * counts as lost), and the JVM did not crash; exits 1 when any run fails.
 *
 * <p>Usage: {@code benchmark/run.sh drain [--rmb ../shared/data/rmb/rmb-pairwise-dev.jsonl] [--runs 3]}
 */
public final class Drain {

    private static final int IN_FLIGHT = 16;
    private static final int K = 4;
    private static final List<String> NOTES = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        Path rmb = null;
        int runs = 3;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rmb" -> rmb = Path.of(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (runs < 0 || runs > 20) throw new IllegalArgumentException("--runs 0..20");
        List<ScoreRequest> pool = rmb == null ? List.of(ScoreLoad.example()) : ScoreLoad.fromRmb(rmb);
        System.out.printf(Locale.ROOT, "%d unary Score requests in flight, k=%d, max_new_tokens 64, %s; principia.engine.drain-timeout-ms default (30 s)%n%n",
                IN_FLIGHT, K, rmb == null ? "fixed 2-response example" : pool.size() + " RMB pairwise items");
        System.out.println("| run | voting | load avg | pending at SIGTERM | answered | OK | UNAVAILABLE (of which connection lost) | other | lost | doubled | last answer after SIGTERM | exit code | SIGTERM to exit | crash | result |");
        System.out.println("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
        boolean all = true;
        for (int run = 1; run <= runs + 1; run++) all &= run(run, run > runs, pool);
        System.out.println();
        NOTES.forEach(System.out::println);
        System.out.println(all ? "PASS: every run answered each request exactly once, OK or UNAVAILABLE, without a crash" : "FAIL: see the rows above");
        System.exit(all ? 0 : 1);
    }

    private static boolean run(int run, boolean metaGuided, List<ScoreRequest> pool) throws Exception {
        Map<String, AtomicInteger> descriptions = new ConcurrentHashMap<>();
        Map<Status.Code, AtomicInteger> codes = new ConcurrentHashMap<>();
        AtomicIntegerArray answers = new AtomicIntegerArray(IN_FLIGHT);
        AtomicInteger answered = new AtomicInteger();
        AtomicLong lastAnswer = new AtomicLong();
        AtomicInteger connectionLost = new AtomicInteger();
        String load = PackagedServer.loadAverage();
        try (PackagedServer server = PackagedServer.start("drain-" + run, List.of())) {
            ManagedChannel channel = server.channel();
            try {
                RewardServiceGrpc.RewardServiceStub stub = RewardServiceGrpc.newStub(channel);
                for (int i = 0; i < IN_FLIGHT; i++) {
                    int index = i;
                    ScoreRequest r = pool.get(i % pool.size()).toBuilder().setId("drain-" + i).setBudget(Budget.newBuilder()
                            .setSamples(K).setMetaKeep(metaGuided ? 0 : K).setMaxNewTokens(64).setSeed(i + 1)).build();
                    stub.withDeadlineAfter(5, TimeUnit.MINUTES).score(r, new StreamObserver<>() {
                        @Override
                        public void onNext(ScoreResponse value) {
                        }

                        @Override
                        public void onError(Throwable t) {
                            Status s = Status.fromThrowable(t);
                            descriptions.computeIfAbsent(s.getCode() + ": " + s.getDescription(), d -> new AtomicInteger()).incrementAndGet();
                            // grpc-java's own status when the connection dropped: the server never answered
                            if (s.getCode() == Status.Code.UNAVAILABLE && String.valueOf(s.getDescription()).startsWith("Network closed")) {
                                connectionLost.incrementAndGet();
                            }
                            answer(s.getCode());
                        }

                        @Override
                        public void onCompleted() {
                            answer(Status.Code.OK);
                        }

                        private void answer(Status.Code code) {
                            codes.computeIfAbsent(code, c -> new AtomicInteger()).incrementAndGet();
                            lastAnswer.set(System.nanoTime());
                            if (answers.incrementAndGet(index) == 1) answered.incrementAndGet();
                        }
                    });
                }
                double pending = 0;
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (System.nanoTime() < until && answered.get() == 0) {
                    pending = PackagedServer.metric(server.metrics(), "principia_engine_requests_pending", "model=\"grm\"");
                    if (pending >= IN_FLIGHT) break;
                    Thread.sleep(50);
                }
                int answeredBefore = answered.get();
                long sigterm = System.nanoTime();
                server.sigterm();
                boolean exited = server.process().waitFor(120, TimeUnit.SECONDS);
                double exitSeconds = (System.nanoTime() - sigterm) / 1e9;
                String exitCode = exited ? Integer.toString(server.process().exitValue()) : "still running after 120 s";
                long wait = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (answered.get() < IN_FLIGHT && System.nanoTime() < wait) Thread.sleep(50);
                int doubled = 0;
                for (int i = 0; i < IN_FLIGHT; i++) if (answers.get(i) > 1) doubled++;
                int ok = get(codes, Status.Code.OK);
                int unavailable = get(codes, Status.Code.UNAVAILABLE);
                int other = codes.values().stream().mapToInt(AtomicInteger::get).sum() - ok - unavailable;
                int lost = IN_FLIGHT - answered.get();
                boolean crash = server.crashed() || !exited
                        || !(exitCode.equals("0") || exitCode.equals("143"));
                boolean pass = lost == 0 && connectionLost.get() == 0 && doubled == 0 && other == 0 && !crash;
                System.out.printf(Locale.ROOT, "| %d | %s | %s | %.0f%s | %d | %d | %d (%d) | %d | %d | %d | %s | %s | %.2f s | %s | %s |%n", run,
                        metaGuided ? "meta-RM guided" : "plain", load, pending, answeredBefore > 0 ? " (" + answeredBefore + " answered before)" : "",
                        answered.get(), ok, unavailable, connectionLost.get(), other, lost, doubled,
                        lastAnswer.get() == 0 ? "-" : String.format(Locale.ROOT, "%.2f s", (lastAnswer.get() - sigterm) / 1e9),
                        exitCode, exitSeconds, crash ? "YES (see " + server.log + ")" : "no", pass ? "pass" : "FAIL");
                if (!descriptions.isEmpty()) NOTES.add("run " + run + ", statuses other than OK: " + new TreeMap<>(Map.copyOf(descriptions)));
                return pass;
            } finally {
                channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
            }
        }
    }

    private static int get(Map<Status.Code, AtomicInteger> codes, Status.Code code) {
        AtomicInteger a = codes.get(code);
        return a == null ? 0 : a.get();
    }
}
