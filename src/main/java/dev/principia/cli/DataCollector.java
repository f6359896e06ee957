package dev.principia.cli;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.principia.api.v1.Budget;
import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.Sample;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import dev.principia.api.v1.Turn;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;

/**
 * SPCT data collection: reads labelled preference data (RMB pairwise or best-of-N JSONL), samples N
 * GRM trajectories per item through a running server's ScoreStream, and appends
 * <ul>
 *   <li>{@code accepted.jsonl}: trajectories whose scores put the labelled best response strictly highest
 *       (rejective fine-tuning keeps these);</li>
 *   <li>{@code rejected.jsonl}: the others, with why;</li>
 *   <li>{@code meta-labels.jsonl}: one correctness label per trajectory, for meta-RM training;</li>
 *   <li>{@code summary.json}: counts, rewritten at the end.</li>
 * </ul>
 * Resumable: items whose id is already in {@code done.txt} are skipped. The labelled best response
 * is always sent first ({@code best_index} 0); the server shuffles per sample.
 */
public final class DataCollector {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One labelled item: the best response is always {@code responses.get(0)}. */
    public record Item(String id, List<Turn> conversation, List<String> responses) {
    }

    /**
     * @param temperature the trajectories' sampling temperature (the paper's 0.5 by default)
     * @param apiKey      sent as {@code authorization: Bearer}; null for none
     */
    public record Options(String target, Path input, Path outDir, int samples, int maxNewTokens, float temperature, int limit, int inFlight,
                          long seed, String apiKey) {
    }

    public record Summary(int items, int skipped, int failed, long trajectories, long accepted, long rejected, long invalid, int voteCorrect) {
    }

    /**
     * Reads RMB pairwise ({@code pair_uid}, {@code chosen}/{@code reject}) or best-of-N ({@code bon_uid},
     * {@code bon_best}/{@code loser_list}) JSONL, the arithmetic items' format included; {@code limit} 0 reads all.
     */
    public static List<Item> read(Path input, int limit) throws IOException {
        List<Item> items = new ArrayList<>();
        int lineNo = 0;
        for (String line : Files.readAllLines(input, StandardCharsets.UTF_8)) {
            lineNo++;
            if (line.isBlank()) continue;
            JsonNode n = JSON.readTree(line);
            List<Turn> turns = new ArrayList<>();
            for (JsonNode t : n.path("conversation_input")) {
                turns.add(Turn.newBuilder().setRole(t.path("role").asText()).setContent(t.path("content").asText()).build());
            }
            List<String> responses = new ArrayList<>();
            String id;
            if (n.has("pair_uid")) {
                id = n.get("pair_uid").asText();
                responses.add(n.path("chosen").path("answer").asText());
                responses.add(n.path("reject").path("answer").asText());
            } else if (n.has("bon_uid")) {
                id = n.get("bon_uid").asText();
                responses.add(n.path("bon_best").path("answer").asText());
                for (JsonNode l : n.path("loser_list")) responses.add(l.path("answer").asText());
            } else {
                throw new IOException(input + ":" + lineNo + ": neither pair_uid nor bon_uid: not RMB pairwise or best-of-N JSONL");
            }
            if (turns.isEmpty()) throw new IOException(input + ":" + lineNo + ": empty conversation_input");
            items.add(new Item(id, turns, responses));
            if (limit > 0 && items.size() == limit) break;
        }
        return items;
    }

    public static Summary run(Options o, PrintStream console) throws IOException, InterruptedException {
        Files.createDirectories(o.outDir());
        Path donePath = o.outDir().resolve("done.txt");
        Set<String> done = new HashSet<>(Files.exists(donePath) ? Files.readAllLines(donePath) : List.of());
        List<Item> all = read(o.input(), o.limit());
        List<Item> todo = all.stream().filter(i -> !done.contains(i.id())).toList();
        int skipped = all.size() - todo.size();
        long[] counts = new long[5]; // trajectories, accepted, rejected, invalid, failed items
        int[] voteCorrect = new int[1];
        int[] finished = new int[1];
        ManagedChannel channel = NettyChannelBuilder.forTarget(o.target()).usePlaintext().maxInboundMessageSize(64 << 20).build();
        try (BufferedWriter accepted = append(o.outDir().resolve("accepted.jsonl"));
             BufferedWriter rejected = append(o.outDir().resolve("rejected.jsonl"));
             BufferedWriter labels = append(o.outDir().resolve("meta-labels.jsonl"));
             BufferedWriter doneOut = append(donePath)) {
            Map<String, Item> byId = new LinkedHashMap<>();
            for (Item i : todo) byId.put(i.id(), i);
            Semaphore window = new Semaphore(o.inFlight());
            CountDownLatch complete = new CountDownLatch(1);
            java.util.concurrent.atomic.AtomicReference<Throwable> error = new java.util.concurrent.atomic.AtomicReference<>();
            progress(console, 0, todo.size(), counts, skipped);
            StreamObserver<ScoreRequest> requests = Args.withApiKey(RewardServiceGrpc.newStub(channel), o.apiKey()).scoreStream(new StreamObserver<>() {
                @Override
                public void onNext(ScoreResponse r) {
                    try {
                        synchronized (counts) {
                            Item item = byId.get(r.getId());
                            if (r.hasError()) {
                                counts[4]++;
                                console.printf("%nitem %s failed: %s%n", r.getId(), r.getError().getMessage());
                            } else {
                                if (r.getBestIndex() == 0) voteCorrect[0]++;
                                write(item, r, accepted, rejected, labels, counts);
                                doneOut.write(r.getId());
                                doneOut.newLine();
                                doneOut.flush();
                            }
                            finished[0]++;
                            progress(console, finished[0], todo.size(), counts, skipped);
                        }
                    } catch (IOException e) {
                        error.compareAndSet(null, e);
                    } finally {
                        window.release();
                    }
                }

                @Override
                public void onError(Throwable t) {
                    error.compareAndSet(null, t);
                    complete.countDown();
                    window.release(todo.size() + 1); // the sender may be waiting for a place no answer will free
                }

                @Override
                public void onCompleted() {
                    complete.countDown();
                }
            });
            for (Item item : todo) {
                window.acquire();
                if (error.get() != null || complete.getCount() == 0) break;
                requests.onNext(ScoreRequest.newBuilder().setId(item.id()).addAllConversation(item.conversation())
                        .addAllResponses(item.responses()).setReturnSamples(true)
                        .setBudget(Budget.newBuilder().setSamples(o.samples()).setMaxNewTokens(o.maxNewTokens()).setTemperature(o.temperature())
                                .setSeed(itemSeed(o.seed(), item.id())))
                        .build());
            }
            requests.onCompleted();
            complete.await();
            console.println();
            if (error.get() != null) throw new IOException("collection stopped: " + error.get(), error.get());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        Summary summary = new Summary(all.size(), skipped, (int) counts[4], counts[0], counts[1], counts[2], counts[3], voteCorrect[0]);
        ObjectNode s = JSON.createObjectNode();
        s.put("input", o.input().toString());
        s.put("items", summary.items());
        s.put("skipped_already_done", summary.skipped());
        s.put("failed_items", summary.failed());
        s.put("samples_per_item", o.samples());
        s.put("trajectories", summary.trajectories());
        s.put("accepted", summary.accepted());
        s.put("rejected", summary.rejected());
        s.put("invalid", summary.invalid());
        s.put("vote_correct_this_run", summary.voteCorrect());
        Files.writeString(o.outDir().resolve("summary.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(s) + "\n");
        return summary;
    }

    private static void write(Item item, ScoreResponse r, BufferedWriter accepted, BufferedWriter rejected, BufferedWriter labels,
                              long[] counts) throws IOException {
        for (int s = 0; s < r.getSamplesCount(); s++) {
            Sample sample = r.getSamples(s);
            boolean correct = sample.getValid() && strictlyHighest(sample, 0);
            ObjectNode line = JSON.createObjectNode();
            line.put("id", item.id());
            line.put("sample", s);
            ArrayNode conversation = line.putArray("conversation");
            for (Turn t : item.conversation()) conversation.addObject().put("role", t.getRole()).put("content", t.getContent());
            ArrayNode responses = line.putArray("responses");
            item.responses().forEach(responses::add);
            line.put("best", 0);
            ArrayNode order = line.putArray("order");
            sample.getOrderList().forEach(order::add);
            line.put("text", sample.getText());
            ArrayNode scores = line.putArray("scores");
            sample.getScoresList().forEach(scores::add);
            line.put("valid", sample.getValid());
            line.put("forced", sample.getForced());
            line.put("seed", Long.toUnsignedString(sample.getSeed()));
            counts[0]++;
            if (correct) {
                counts[1]++;
                accepted.write(JSON.writeValueAsString(line));
                accepted.newLine();
            } else {
                counts[2]++;
                if (!sample.getValid()) counts[3]++;
                line.put("reason", sample.getValid() ? "the labelled best response is not scored strictly highest" : sample.getInvalidReason());
                rejected.write(JSON.writeValueAsString(line));
                rejected.newLine();
            }
            ObjectNode label = JSON.createObjectNode();
            label.put("id", item.id());
            label.put("sample", s);
            label.put("correct", correct);
            labels.write(JSON.writeValueAsString(label));
            labels.newLine();
        }
        accepted.flush();
        rejected.flush();
        labels.flush();
    }

    /** Each item gets its own seed, derived from the run seed and its id: reruns replay, items differ. */
    static long itemSeed(long runSeed, String id) {
        long z = runSeed * 0x9E3779B97F4A7C15L + id.hashCode();
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return z == 0 ? 1 : z;
    }

    private static boolean strictlyHighest(Sample sample, int best) {
        for (int i = 0; i < sample.getScoresCount(); i++) {
            if (i != best && sample.getScores(i) >= sample.getScores(best)) return false;
        }
        return sample.getScoresCount() > 0;
    }

    private static BufferedWriter append(Path p) throws IOException {
        return Files.newBufferedWriter(p, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    private static void progress(PrintStream console, int finished, int total, long[] counts, int skipped) {
        int width = 30;
        int filled = total == 0 ? width : finished * width / total;
        console.printf("\r[%s%s] %d/%d items (%d skipped as done), %d trajectories: %d accepted, %d rejected", "#".repeat(filled),
                " ".repeat(width - filled), finished, total, skipped, counts[0], counts[1], counts[2]);
        console.flush();
    }
}
