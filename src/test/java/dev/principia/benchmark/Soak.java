package dev.principia.benchmark;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import dev.principia.api.v1.Budget;
import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;

/**
 * Soak: starts the packaged server and keeps {@code --concurrency} clients busy for {@code --minutes}, each
 * call with k drawn from 1..8 and 64 new tokens, unary Score or a ScoreStream of 1..3 items at random. Every
 * 30 s it samples the server's heap after a GC, RSS, GRM KV used tokens, running / waiting sequences and
 * pending requests, plus the machine's load average, as a Markdown table and {@code target/bench-soak.csv}.
 * After the load stops, KV used tokens, pending requests and sequences must be back to 0; exits 1 otherwise,
 * or when a stream item got no answer or two.
 *
 * <p>Usage: {@code benchmark/run.sh soak [--minutes 30] [--concurrency 4] [--rmb FILE]}
 */
public final class Soak {

    private static final Path CSV = Path.of("target/bench-soak.csv");
    private static final String G = "model=\"grm\"";

    public static void main(String[] args) throws Exception {
        double minutes = 30;
        int concurrency = 4;
        Path rmb = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--minutes" -> minutes = Double.parseDouble(args[++i]);
                case "--concurrency" -> concurrency = Integer.parseInt(args[++i]);
                case "--rmb" -> rmb = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (minutes <= 0 || minutes > 24 * 60 || concurrency < 1 || concurrency > 64) throw new IllegalArgumentException("--minutes (0, 1440], --concurrency 1..64");
        List<ScoreRequest> pool = rmb == null ? List.of(ScoreLoad.example()) : ScoreLoad.fromRmb(rmb);
        boolean ok;
        try (PackagedServer server = PackagedServer.start("soak", List.of()); PrintWriter csv = new PrintWriter(Files.newBufferedWriter(CSV, StandardCharsets.UTF_8))) {
            ManagedChannel channel = server.channel();
            try {
                ok = run(server, channel, pool, (long) (minutes * 60_000), concurrency, csv, rmb == null ? "fixed 2-response example" : pool.size() + " RMB pairwise items");
            } finally {
                channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
            }
        }
        System.exit(ok ? 0 : 1);
    }

    private static boolean run(PackagedServer server, ManagedChannel channel, List<ScoreRequest> pool, long millis, int concurrency,
            PrintWriter csv, String items) throws Exception {
        RewardServiceGrpc.RewardServiceStub async = RewardServiceGrpc.newStub(channel);
        RewardServiceGrpc.RewardServiceBlockingStub blocking = RewardServiceGrpc.newBlockingStub(channel);
        Map<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();
        AtomicLong items0 = new AtomicLong();
        AtomicInteger streamFaults = new AtomicInteger();
        long t0 = System.nanoTime();
        long end = t0 + TimeUnit.MILLISECONDS.toNanos(millis);
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < concurrency; w++) {
            int worker = w;
            Thread t = new Thread(() -> {
                SplittableRandom rnd = new SplittableRandom(worker + 1);
                for (int call = 0; call < 1_000_000 && System.nanoTime() < end; call++) {
                    boolean stream = rnd.nextBoolean();
                    int n = stream ? 1 + rnd.nextInt(3) : 1;
                    List<ScoreRequest> rs = new ArrayList<>();
                    for (int j = 0; j < n; j++) {
                        rs.add(pool.get(rnd.nextInt(pool.size())).toBuilder().setId("soak-" + worker + "-" + call + "-" + j)
                                .setBudget(Budget.newBuilder().setSamples(1 + rnd.nextInt(8)).setMaxNewTokens(64).setSeed(rnd.nextLong() | 1)).build());
                    }
                    try {
                        if (stream) streamCall(async, rs, outcomes, streamFaults);
                        else {
                            blocking.withDeadlineAfter(5, TimeUnit.MINUTES).score(rs.get(0));
                            count(outcomes, "unary OK");
                        }
                    } catch (StatusRuntimeException e) {
                        count(outcomes, (stream ? "stream " : "unary ") + e.getStatus().getCode());
                    } catch (InterruptedException e) {
                        return;
                    }
                    items0.addAndGet(n);
                }
            }, "soak-" + w);
            t.start();
            workers.add(t);
        }
        System.out.printf(Locale.ROOT, "server pid %d, %d clients, k 1..8, 64 new tokens, unary or ScoreStream of 1..3, %s; sample every 30 s after jcmd GC.run%n%n",
                server.pid(), concurrency, items);
        String header = "minute,load_avg_1m,heap_after_gc_mb,rss_mb,kv_used_tokens,running,waiting,pending,items_answered,not_ok";
        csv.println(header);
        System.out.println("| minute | load avg | heap after GC MB | RSS MB | KV used tokens | running | waiting | pending | items answered | not OK |");
        System.out.println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        sample(server, t0, items0, outcomes, csv);
        while (System.nanoTime() < end) {
            Thread.sleep(Math.max(1, Math.min(30_000, TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime()))));
            sample(server, t0, items0, outcomes, csv);
        }
        long joinUntil = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        for (Thread t : workers) t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(joinUntil - System.nanoTime())));
        boolean joined = workers.stream().noneMatch(Thread::isAlive);
        workers.forEach(Thread::interrupt);
        Thread.sleep(2000);
        double[] last = sample(server, t0, items0, outcomes, csv);
        csv.flush();
        System.out.printf(Locale.ROOT, "%nran %.1f min; outcomes %s; stream items without exactly one answer: %d%n", (System.nanoTime() - t0) / 6e10,
                new TreeMap<>(Map.copyOf(outcomes)), streamFaults.get());
        boolean idle = last[0] == 0 && last[1] == 0 && last[2] == 0 && last[3] == 0;
        boolean ok = idle && joined && streamFaults.get() == 0;
        System.out.println(ok ? "PASS: after the load, KV used tokens, sequences and pending requests are 0; every stream item answered once"
                : "FAIL: after the load kv=" + last[0] + " running=" + last[1] + " waiting=" + last[2] + " pending=" + last[3]
                        + ", clients finished " + joined + ", stream faults " + streamFaults.get());
        System.out.println("samples: " + CSV.toAbsolutePath());
        return ok;
    }

    /** One ScoreStream call; each item must get exactly one answer. */
    private static void streamCall(RewardServiceGrpc.RewardServiceStub async, List<ScoreRequest> rs, Map<String, AtomicInteger> outcomes,
            AtomicInteger streamFaults) throws InterruptedException {
        Map<String, AtomicInteger> seen = new ConcurrentHashMap<>();
        CountDownLatch done = new CountDownLatch(1);
        Status[] status = {Status.OK};
        StreamObserver<ScoreRequest> out = async.withDeadlineAfter(5, TimeUnit.MINUTES).scoreStream(new StreamObserver<>() {
            @Override
            public void onNext(ScoreResponse r) {
                seen.computeIfAbsent(r.getId(), id -> new AtomicInteger()).incrementAndGet();
                count(outcomes, r.hasError() ? "stream item error " + Status.fromCodeValue(r.getError().getCode()).getCode() : "stream item OK");
            }

            @Override
            public void onError(Throwable t) {
                status[0] = Status.fromThrowable(t);
                done.countDown();
            }

            @Override
            public void onCompleted() {
                done.countDown();
            }
        });
        rs.forEach(out::onNext);
        out.onCompleted();
        if (!done.await(6, TimeUnit.MINUTES)) throw new IllegalStateException("stream did not finish");
        if (!status[0].isOk()) throw status[0].asRuntimeException();
        for (ScoreRequest r : rs) {
            AtomicInteger n = seen.get(r.getId());
            if (n == null || n.get() != 1) streamFaults.incrementAndGet();
        }
    }

    private static void count(Map<String, AtomicInteger> outcomes, String key) {
        outcomes.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
    }

    /** Prints and writes one sample; returns {kv used, running, waiting, pending}. */
    private static double[] sample(PackagedServer server, long t0, AtomicLong items, Map<String, AtomicInteger> outcomes, PrintWriter csv) throws Exception {
        String load = PackagedServer.loadAverage();
        double heap = server.heapAfterGc();
        double rss = server.rssBytes();
        String m = server.metrics();
        double kv = PackagedServer.metric(m, "principia_engine_kv_used_tokens", G);
        double running = PackagedServer.metric(m, "principia_engine_sequences_running", G);
        double waiting = PackagedServer.metric(m, "principia_engine_sequences_waiting", G);
        double pending = PackagedServer.metric(m, "principia_engine_requests_pending", G);
        long notOk = outcomes.entrySet().stream().filter(e -> !e.getKey().endsWith("OK")).mapToLong(e -> e.getValue().get()).sum();
        double minute = (System.nanoTime() - t0) / 6e10;
        System.out.printf(Locale.ROOT, "| %.1f | %s | %.1f | %.0f | %.0f | %.0f | %.0f | %.0f | %d | %d |%n", minute, load, heap / 1e6, rss / 1e6, kv, running,
                waiting, pending, items.get(), notOk);
        csv.printf(Locale.ROOT, "%.2f,%s,%.1f,%.0f,%.0f,%.0f,%.0f,%.0f,%d,%d%n", minute, load, heap / 1e6, rss / 1e6, kv, running, waiting, pending, items.get(), notOk);
        csv.flush();
        return new double[] {kv, running, waiting, pending};
    }
}
