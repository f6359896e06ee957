package dev.principia.benchmark;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

import dev.principia.api.v1.Budget;
import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/**
 * Overload: starts the packaged server with a small admission queue
 * ({@code principia.engine.max-pending-requests=16}), measures its sustainable unary Score rate closed-loop
 * (2 in flight, k = 1, 32 new tokens, 20 s), then sends open-loop at {@code factor} × that rate for
 * {@code seconds} (at most 4096 outstanding; a send that would exceed it is skipped and counted). Every
 * request must get exactly one answer; reports answers by status code, refusal and OK latency percentiles,
 * and the server's heap after GC and RSS at start and end. Exits 1 when an answer is missing or doubled.
 *
 * <p>Usage: {@code benchmark/run.sh overload [--seconds 60] [--factor 10]}
 */
public final class Overload {

    private static final int MAX_OUTSTANDING = 4096;
    private static final int MAX_NEW_TOKENS = 32;

    public static void main(String[] args) throws Exception {
        int seconds = 60;
        double factor = 10;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--factor" -> factor = Double.parseDouble(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (seconds < 1 || seconds > 3600 || factor <= 0 || factor > 1000) throw new IllegalArgumentException("--seconds 1..3600, --factor (0, 1000]");
        boolean ok;
        try (PackagedServer server = PackagedServer.start("overload", List.of("-Dprincipia.engine.max-pending-requests=16"))) {
            ManagedChannel channel = server.channel();
            try {
                ok = run(server, channel, seconds, factor);
            } finally {
                channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
            }
        }
        System.exit(ok ? 0 : 1);
    }

    private static boolean run(PackagedServer server, ManagedChannel channel, int seconds, double factor) throws Exception {
        RewardServiceGrpc.RewardServiceStub stub = RewardServiceGrpc.newStub(channel);
        ScoreRequest base = ScoreLoad.example().toBuilder()
                .setBudget(Budget.newBuilder().setSamples(1).setMaxNewTokens(MAX_NEW_TOKENS)).build();
        double heap0 = server.heapAfterGc();
        double rss0 = server.rssBytes();
        String load0 = PackagedServer.loadAverage();

        double sustainable = closedLoop(stub, base, 2, 20);
        double rate = sustainable * factor;
        long intervalNanos = (long) (1e9 / rate);
        int planned = (int) Math.min(Integer.MAX_VALUE - 1, Math.ceil(rate * seconds));
        AtomicIntegerArray answers = new AtomicIntegerArray(planned);
        Map<Status.Code, LongAdder> codes = new ConcurrentHashMap<>();
        ConcurrentLinkedQueue<Long> okNanos = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<Long> refusedNanos = new ConcurrentLinkedQueue<>();
        AtomicInteger outstanding = new AtomicInteger();
        AtomicInteger answered = new AtomicInteger();
        int sent = 0;
        int skipped = 0;
        long t0 = System.nanoTime();
        long end = t0 + TimeUnit.SECONDS.toNanos(seconds);
        for (int i = 0; i < planned; i++) {
            long due = t0 + i * intervalNanos;
            if (due >= end) break;
            for (long now = System.nanoTime(); now < due; now = System.nanoTime()) LockSupport.parkNanos(due - now);
            if (outstanding.get() >= MAX_OUTSTANDING) {
                skipped++;
                continue;
            }
            outstanding.incrementAndGet();
            sent++;
            int index = i;
            long start = System.nanoTime();
            stub.withDeadlineAfter(120, TimeUnit.SECONDS).score(base.toBuilder().setId("overload-" + i).build(), new StreamObserver<>() {
                @Override
                public void onNext(ScoreResponse value) {
                }

                @Override
                public void onError(Throwable t) {
                    answer(Status.fromThrowable(t).getCode());
                }

                @Override
                public void onCompleted() {
                    answer(Status.Code.OK);
                }

                private void answer(Status.Code code) {
                    long nanos = System.nanoTime() - start;
                    codes.computeIfAbsent(code, c -> new LongAdder()).increment();
                    if (code == Status.Code.OK) okNanos.add(nanos);
                    if (code == Status.Code.RESOURCE_EXHAUSTED) refusedNanos.add(nanos);
                    if (answers.incrementAndGet(index) == 1) answered.incrementAndGet();
                    outstanding.decrementAndGet();
                }
            });
        }
        double sendSeconds = (System.nanoTime() - t0) / 1e9;
        long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (answered.get() < sent && System.nanoTime() < waitUntil) Thread.sleep(100);
        double drainSeconds = (System.nanoTime() - t0) / 1e9 - sendSeconds;
        int doubled = 0;
        for (int i = 0; i < answers.length(); i++) if (answers.get(i) > 1) doubled++;
        String metrics = server.metrics();
        double heap1 = server.heapAfterGc();
        double rss1 = server.rssBytes();

        long[] okL = okNanos.stream().mapToLong(Long::longValue).sorted().toArray();
        long[] refL = refusedNanos.stream().mapToLong(Long::longValue).sorted().toArray();
        long other = codes.entrySet().stream().filter(e -> e.getKey() != Status.Code.OK && e.getKey() != Status.Code.RESOURCE_EXHAUSTED)
                .mapToLong(e -> e.getValue().sum()).sum();
        System.out.printf(Locale.ROOT, "server pid %d, gRPC 127.0.0.1:%d, principia.engine.max-pending-requests=16; load average %s at start, %s at end%n",
                server.pid(), server.grpcPort, load0, PackagedServer.loadAverage());
        System.out.printf(Locale.ROOT, "sustainable (closed loop, 2 in flight, k=1, %d new tokens, 20 s): %.2f req/s; open loop at %.0f x = %.1f req/s for %d s%n%n",
                MAX_NEW_TOKENS, sustainable, factor, rate, seconds);
        System.out.println("| sent | answered | OK | RESOURCE_EXHAUSTED | other codes | doubled | skipped (client cap) | refusal p50 / p99 ms | OK p50 / p99 ms | answers drained after send |");
        System.out.println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        System.out.printf(Locale.ROOT, "| %d | %d | %d | %d | %d %s | %d | %d | %.1f / %.1f | %.0f / %.0f | %.1f s |%n", sent, answered.get(),
                count(codes, Status.Code.OK), count(codes, Status.Code.RESOURCE_EXHAUSTED), other, other == 0 ? "" : otherCodes(codes),
                doubled, skipped, ScoreLoad.pct(refL, 0.5), ScoreLoad.pct(refL, 0.99), ScoreLoad.pct(okL, 0.5), ScoreLoad.pct(okL, 0.99), drainSeconds);
        System.out.printf(Locale.ROOT, "%nserver heap after GC: %.1f MB at start, %.1f MB at end; RSS %.0f MB at start, %.0f MB at end%n",
                heap0 / 1e6, heap1 / 1e6, rss0 / 1e6, rss1 / 1e6);
        System.out.printf(Locale.ROOT, "server counters: principia_engine_rejections_total %.0f, requests pending %.0f, KV used tokens %.0f%n",
                PackagedServer.metric(metrics, "principia_engine_rejections_total", "model=\"grm\""),
                PackagedServer.metric(metrics, "principia_engine_requests_pending", "model=\"grm\""),
                PackagedServer.metric(metrics, "principia_engine_kv_used_tokens", "model=\"grm\""));
        boolean ok = answered.get() == sent && doubled == 0;
        System.out.println(ok ? "PASS: every request answered exactly once" : "FAIL: sent " + sent + ", answered " + answered.get() + ", doubled " + doubled);
        return ok;
    }

    /** Requests per second answered OK with {@code concurrency} in flight for {@code seconds} (at most 2000 requests). */
    private static double closedLoop(RewardServiceGrpc.RewardServiceStub stub, ScoreRequest base, int concurrency, int seconds)
            throws InterruptedException {
        Semaphore window = new Semaphore(concurrency);
        AtomicInteger ok = new AtomicInteger();
        long t0 = System.nanoTime();
        long end = t0 + TimeUnit.SECONDS.toNanos(seconds);
        for (int i = 0; i < 2000 && System.nanoTime() < end; i++) {
            window.acquire();
            stub.withDeadlineAfter(60, TimeUnit.SECONDS).score(base.toBuilder().setId("calibrate-" + i).build(), new StreamObserver<>() {
                @Override
                public void onNext(ScoreResponse value) {
                }

                @Override
                public void onError(Throwable t) {
                    window.release();
                }

                @Override
                public void onCompleted() {
                    ok.incrementAndGet();
                    window.release();
                }
            });
        }
        if (!window.tryAcquire(concurrency, 120, TimeUnit.SECONDS)) throw new IllegalStateException("calibration calls did not finish");
        return ok.get() / ((System.nanoTime() - t0) / 1e9);
    }

    private static long count(Map<Status.Code, LongAdder> codes, Status.Code code) {
        LongAdder a = codes.get(code);
        return a == null ? 0 : a.sum();
    }

    private static String otherCodes(Map<Status.Code, LongAdder> codes) {
        StringBuilder b = new StringBuilder("(");
        codes.forEach((c, n) -> {
            if (c != Status.Code.OK && c != Status.Code.RESOURCE_EXHAUSTED) b.append(b.length() > 1 ? ", " : "").append(c).append(' ').append(n.sum());
        });
        return b.append(')').toString();
    }
}
