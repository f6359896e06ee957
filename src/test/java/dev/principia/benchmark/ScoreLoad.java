package dev.principia.benchmark;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.principia.api.v1.Budget;
import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import dev.principia.api.v1.Turn;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;

/**
 * End-to-end Score load against a running server (a client of proto/ like any user's): for each k and
 * concurrency, sends a bounded number of requests keeping {@code concurrency} in flight, and prints
 * requests/s and latency percentiles as a Markdown table. Requests come from RMB pairwise JSONL when
 * {@code --rmb FILE} is given (conversation + chosen/reject), else from a fixed two-response example.
 *
 * <p>Usage: {@code benchmark/run.sh load [--target localhost:9000] [--samples 1,4,8] [--concurrency 1,4,16]
 * [--requests 32] [--max-new-tokens 64] [--rmb ../shared/data/rmb/rmb-pairwise-dev.jsonl]}
 */
public final class ScoreLoad {

    public static void main(String[] args) throws Exception {
        String target = "localhost:9000";
        int[] ks = {1, 4, 8};
        int[] concurrencies = {1, 4, 16};
        int requests = 32;
        int maxNewTokens = 64;
        Path rmb = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--target" -> target = args[++i];
                case "--samples" -> ks = ints(args[++i]);
                case "--concurrency" -> concurrencies = ints(args[++i]);
                case "--requests" -> requests = Integer.parseInt(args[++i]);
                case "--max-new-tokens" -> maxNewTokens = Integer.parseInt(args[++i]);
                case "--rmb" -> rmb = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<ScoreRequest> pool = rmb == null ? List.of(example()) : fromRmb(rmb);
        ManagedChannel channel = NettyChannelBuilder.forTarget(target).usePlaintext().maxInboundMessageSize(64 << 20).build();
        try {
            System.out.printf(Locale.ROOT, "target %s, %d requests per row, max_new_tokens %d, %s%n%n", target, requests, maxNewTokens,
                    rmb == null ? "fixed 2-response example" : pool.size() + " RMB pairwise items");
            System.out.println("| k | concurrency | requests/s | samples/s | p50 ms | p90 ms | p99 ms | errors |");
            System.out.println("|---:|---:|---:|---:|---:|---:|---:|---:|");
            for (int k : ks) {
                for (int c : concurrencies) {
                    run(channel, pool, k, c, Math.max(requests, c), maxNewTokens);
                }
            }
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static void run(ManagedChannel channel, List<ScoreRequest> pool, int k, int concurrency, int requests, int maxNewTokens)
            throws InterruptedException {
        RewardServiceGrpc.RewardServiceStub stub = RewardServiceGrpc.newStub(channel);
        Semaphore window = new Semaphore(concurrency);
        CountDownLatch done = new CountDownLatch(requests);
        ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
        AtomicInteger errors = new AtomicInteger();
        long t0 = System.nanoTime();
        for (int i = 0; i < requests; i++) {
            window.acquire();
            ScoreRequest base = pool.get(i % pool.size());
            ScoreRequest r = base.toBuilder().setId("load-" + i)
                    .setBudget(Budget.newBuilder().setSamples(k).setMaxNewTokens(maxNewTokens).setSeed(i + 1)).build();
            long start = System.nanoTime();
            stub.withDeadlineAfter(30, TimeUnit.MINUTES).score(r, new StreamObserver<>() {
                @Override
                public void onNext(ScoreResponse value) {
                    if (value.hasError()) errors.incrementAndGet();
                }

                @Override
                public void onError(Throwable t) {
                    errors.incrementAndGet();
                    finish();
                }

                @Override
                public void onCompleted() {
                    latencies.add(System.nanoTime() - start);
                    finish();
                }

                private void finish() {
                    window.release();
                    done.countDown();
                }
            });
        }
        done.await();
        double seconds = (System.nanoTime() - t0) / 1e9;
        long[] l = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
        System.out.printf(Locale.ROOT, "| %d | %d | %.2f | %.1f | %.0f | %.0f | %.0f | %d |%n", k, concurrency, requests / seconds,
                requests * (double) k / seconds, pct(l, 0.5), pct(l, 0.9), pct(l, 0.99), errors.get());
    }

    /** The p-quantile of nanosecond values, in ms; NaN when empty. */
    static double pct(long[] sorted, double p) {
        if (sorted.length == 0) return Double.NaN;
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)] / 1e6;
    }

    private static int[] ints(String csv) {
        return Arrays.stream(csv.split(",")).mapToInt(Integer::parseInt).toArray();
    }

    /** A fixed two-response request (no id, no budget). */
    static ScoreRequest example() {
        return ScoreRequest.newBuilder()
                .addConversation(Turn.newBuilder().setRole("user").setContent("What is the boiling point of water at sea level, in Celsius?"))
                .addResponses("100 degrees Celsius at standard atmospheric pressure.")
                .addResponses("About 90 degrees Celsius.").build();
    }

    /** RMB pairwise JSONL items as two-response requests (chosen first; no id, no budget). */
    static List<ScoreRequest> fromRmb(Path file) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<ScoreRequest> out = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            JsonNode n = json.readTree(line);
            ScoreRequest.Builder b = ScoreRequest.newBuilder();
            for (JsonNode t : n.path("conversation_input")) {
                b.addConversation(Turn.newBuilder().setRole(t.path("role").asText()).setContent(t.path("content").asText()));
            }
            b.addResponses(n.path("chosen").path("answer").asText()).addResponses(n.path("reject").path("answer").asText());
            out.add(b.build());
        }
        return out;
    }
}
