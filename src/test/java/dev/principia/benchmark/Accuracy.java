package dev.principia.benchmark;

import dev.principia.api.v1.Budget;
import dev.principia.api.v1.GetServerInfoRequest;
import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.Sample;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import dev.principia.api.v1.Turn;
import dev.principia.cli.DataCollector;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The accuracy harness: against a running server, draws up to {@code --samples} GRM samples per item once (seeded,
 * {@code return_samples}), plus one greedy k = 1 request (its responses in a seeded random order), then computes Voting@k and MetaRM@k for k = 1, 2, 4, ...
 * up to the draws by subsampling them ({@link VotingCurves}). Reads RMB pairwise ({@code chosen}/{@code reject}) and
 * best-of-N ({@code bon_best}/{@code loser_list}) JSONL, and arithmetic items in the best-of-N shape
 * ({@link ArithmeticItems}). Writes {@code accuracy.md}, {@code accuracy.csv} and {@code accuracy.png} to {@code --out}, and
 * every draw to {@code draws.jsonl} ({@link VotingCurves#toJsonLine}; items that failed are left out).
 *
 * <p>Usage: {@code benchmark/run.sh accuracy --input FILE [--samples 32] [--addr localhost:9000] [--out DIR]
 * [--limit N] [--concurrency 2] [--seed 1] [--max-new-tokens N] [--max-responses 4]
 * [--temperature T] (the sampled draws; default the server's) [--meta-min-score X] (MetaRM@k keeps the draws the meta-RM
 * scores at least X, as the server's {@code meta_min_score} does) [--meta-temperature T] (MetaRM@k weights every draw as the
 * server's {@code meta_temperature} does); with neither, MetaRM@k votes as the server votes a request that sets no meta
 * rule (its {@code default_meta_temperature}, else the top half; the top half with {@code --draws}); {@code --samples 0} measures
 * greedy only; {@code --draws FILE} recomputes the Voting@k and MetaRM@k table from an earlier run's {@code draws.jsonl}
 * (for another {@code --meta-min-score} or {@code --meta-temperature}) without a server, and prints it}
 */
public final class Accuracy {
    static final int[] KS = {1, 2, 4, 8, 16, 32};

    record Item(List<Turn> conversation, List<String> responses, int best) {
    }

    public static void main(String[] args) throws Exception {
        Path input = null, out = Path.of("target/accuracy"), drawsFile = null;
        String addr = "localhost:9000";
        int samples = 32, limit = Integer.MAX_VALUE, concurrency = 2, maxResponses = 4;
        Integer maxNewTokens = null;
        Float temperature = null, metaMinScore = null, metaTemperature = null;
        boolean ruleFromServer = false;
        long seed = 1;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--input" -> input = Path.of(args[++i]);
                case "--samples" -> samples = Integer.parseInt(args[++i]);
                case "--addr" -> addr = args[++i];
                case "--out" -> out = Path.of(args[++i]);
                case "--limit" -> limit = Integer.parseInt(args[++i]);
                case "--concurrency" -> concurrency = Integer.parseInt(args[++i]);
                case "--seed" -> seed = Long.parseLong(args[++i]);
                case "--max-new-tokens" -> maxNewTokens = Integer.parseInt(args[++i]);
                case "--max-responses" -> maxResponses = Integer.parseInt(args[++i]);
                case "--temperature" -> temperature = Float.parseFloat(args[++i]);
                case "--meta-min-score" -> metaMinScore = Float.parseFloat(args[++i]);
                case "--meta-temperature" -> metaTemperature = Float.parseFloat(args[++i]);
                case "--draws" -> drawsFile = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (metaMinScore != null && metaTemperature != null) {
            throw new IllegalArgumentException("--meta-min-score keeps some draws, --meta-temperature weights all of them: give one, not both");
        }
        if (metaTemperature != null && !(metaTemperature > 0 && Float.isFinite(metaTemperature))) {
            throw new IllegalArgumentException("--meta-temperature must be finite and > 0, got " + metaTemperature);
        }
        if (drawsFile != null) {
            List<VotingCurves.ItemDraws> earlier = new ArrayList<>();
            for (String line : Files.readAllLines(drawsFile)) if (!line.isBlank()) earlier.add(VotingCurves.fromJsonLine(line));
            System.out.print(table(VotingCurves.curve(earlier, KS, seed, metaMinScore, metaTemperature)));
            return;
        }
        if (input == null) throw new IllegalArgumentException("--input FILE is required (RMB pairwise/best-of-N or arithmetic JSONL)");
        List<Item> items = read(input, maxResponses);
        if (items.size() > limit) items = items.subList(0, limit);
        ManagedChannel channel = NettyChannelBuilder.forTarget(addr).usePlaintext().maxInboundMessageSize(64 << 20).build();
        List<VotingCurves.ItemDraws> draws = new ArrayList<>();
        int greedyCorrect = 0, greedyValid = 0, greedyScored = 0, failed = 0;
        long started = System.nanoTime();
        try {
            var stub = RewardServiceGrpc.newBlockingStub(channel);
            if (metaMinScore == null && metaTemperature == null) {
                // no rule given: MetaRM@k votes as the server votes a request that sets none
                float serverDefault = stub.withDeadlineAfter(1, TimeUnit.MINUTES).getServerInfo(GetServerInfoRequest.getDefaultInstance())
                        .getBudgetPolicy().getDefaultMetaTemperature();
                if (serverDefault > 0) {
                    metaTemperature = serverDefault;
                    ruleFromServer = true;
                }
            }
            ExecutorService pool = Executors.newFixedThreadPool(concurrency);
            List<Future<Object[]>> futures = new ArrayList<>();
            AtomicInteger done = new AtomicInteger();
            Progress progress = new Progress(items.size());
            List<Item> greedyItems = new ArrayList<>();
            for (int i = 0; i < items.size(); i++) {
                Item item = items.get(i);
                long itemSeed = seed * 1_000_003L + i + 1;
                int k = samples;
                Integer mnt = maxNewTokens;
                Float temp = temperature;
                Item greedyItem = shuffled(item, itemSeed);
                greedyItems.add(greedyItem);
                futures.add(pool.submit(() -> {
                    ScoreResponse sampled = k == 0 ? null : scoreOrNoValidSample(stub, request(item, k, itemSeed, temp, mnt));
                    ScoreResponse greedy = scoreOrNoValidSample(stub, request(greedyItem, 1, itemSeed, 0f, mnt));
                    progress.step(done.incrementAndGet());
                    return new Object[]{sampled, greedy};
                }));
            }
            for (int i = 0; i < futures.size(); i++) {
                Object[] r;
                try {
                    r = futures.get(i).get();
                } catch (java.util.concurrent.ExecutionException e) {
                    failed++;
                    System.err.printf("%nitem %d failed: %s%n", i, e.getCause().getMessage());
                    continue;
                }
                ScoreResponse sampled = (ScoreResponse) r[0], greedy = (ScoreResponse) r[1];
                Item item = items.get(i);
                if (samples > 0) draws.add(itemDraws(item, sampled, samples));
                if (greedy != null && greedy.getSamplesCount() == 1 && greedy.getSamples(0).getValid()) greedyValid++;
                greedyScored++;
                VotingCurves.ItemDraws g = itemDraws(greedyItems.get(i), greedy, 1);
                if (g.draws().size() == 1) greedyCorrect += VotingCurves.correct(g, new int[]{0}, false);
            }
            pool.shutdown();
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        List<VotingCurves.Point> curve = VotingCurves.curve(draws, KS, seed, metaMinScore, metaTemperature);
        double greedy = greedyScored == 0 ? 0 : (double) greedyCorrect / greedyScored;
        double chance = chance(items);
        System.err.printf(Locale.ROOT, "greedy: %d of %d samples valid (an invalid sample or a tie with the best is not correct)%n", greedyValid,
                greedyScored);
        write(out, input, curve, greedy, chance, greedyScored, failed, samples, (System.nanoTime() - started) / 1e9,
                metaRule(metaMinScore, metaTemperature) + (ruleFromServer ? ", the server's default for its meta-RM" : ""));
        StringBuilder lines = new StringBuilder();
        for (VotingCurves.ItemDraws d : draws) lines.append(VotingCurves.toJsonLine(d)).append('\n');
        Files.writeString(out.resolve("draws.jsonl"), lines);
    }

    /**
     * The call's response, or null when the server answered FAILED_PRECONDITION because no sample wrote a valid score
     * block: the item then counts, as every invalid sample does, as not correct (it is not dropped). Other failures
     * propagate and drop the item, counted as failed.
     */
    static ScoreResponse scoreOrNoValidSample(RewardServiceGrpc.RewardServiceBlockingStub stub, ScoreRequest request) {
        try {
            return stub.withDeadlineAfter(30, TimeUnit.MINUTES).score(request);
        } catch (io.grpc.StatusRuntimeException e) {
            if (e.getStatus().getCode() == io.grpc.Status.Code.FAILED_PRECONDITION) return null;
            throw e;
        }
    }

    /**
     * The item with its responses in a seeded random order, {@code best} moved with them. The greedy request is
     * k = 1, which the server shows in request order (it shuffles only when k > 1); sent as read, the labelled best
     * would always be "Response 1" and greedy accuracy would measure position bias (12 of 15 RMB pairs for a model
     * that knows only arithmetic).
     */
    static Item shuffled(Item item, long seed) {
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < item.responses().size(); i++) idx.add(i);
        // SplittableRandom mixes its seed: java.util.Random's first draws for consecutive item seeds are correlated
        // (every RMB pair put its best second)
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
        for (int i = idx.size() - 1; i > 0; i--) java.util.Collections.swap(idx, i, rnd.nextInt(i + 1));
        List<String> responses = new ArrayList<>();
        for (int i : idx) responses.add(item.responses().get(i));
        return new Item(item.conversation(), List.copyOf(responses), idx.indexOf(item.best()));
    }

    /**
     * An item's draws as the server returned them; a null response (FAILED_PRECONDITION: no sample wrote a valid
     * score block) becomes {@code samples} invalid draws, so the item counts as wrong at every k rather than vanishing.
     */
    static VotingCurves.ItemDraws itemDraws(Item item, ScoreResponse response, int samples) {
        List<VotingCurves.Draw> d = new ArrayList<>();
        if (response == null) {
            for (int s = 0; s < samples; s++) d.add(new VotingCurves.Draw(false, new int[0], 0));
        } else {
            for (Sample s : response.getSamplesList()) {
                d.add(new VotingCurves.Draw(s.getValid(), s.getScoresList().stream().mapToInt(Integer::intValue).toArray(), s.getMetaScore()));
            }
        }
        return new VotingCurves.ItemDraws(d, item.best(), item.responses().size());
    }

    static ScoreRequest request(Item item, int k, long seed, Float temperature, Integer maxNewTokens) {
        Budget.Builder budget = Budget.newBuilder().setSamples(k).setSeed(seed);
        if (temperature != null) budget.setTemperature(temperature);
        if (maxNewTokens != null) budget.setMaxNewTokens(maxNewTokens);
        return ScoreRequest.newBuilder().addAllConversation(item.conversation()).addAllResponses(item.responses())
                .setBudget(budget).setReturnSamples(true).build();
    }

    /** Items of any of the three formats ({@link DataCollector#read}); best-of-N items keep at most {@code maxResponses} responses, the best first. */
    static List<Item> read(Path file, int maxResponses) throws Exception {
        List<Item> items = new ArrayList<>();
        for (DataCollector.Item i : DataCollector.read(file, 0)) {
            items.add(new Item(i.conversation(), List.copyOf(i.responses().subList(0, Math.min(maxResponses, i.responses().size()))), 0));
        }
        return items;
    }

    /** Accuracy of a uniformly random strict ranking: mean of 1/n over items. */
    static double chance(List<Item> items) {
        return items.stream().mapToDouble(i -> 1.0 / i.responses().size()).average().orElse(0);
    }

    /** How MetaRM@k votes, in words, for the table's header line. */
    static String metaRule(Float metaMinScore, Float metaTemperature) {
        if (metaTemperature != null) {
            return "every draw weighted by exp((meta-RM score - highest) / " + metaTemperature + ") (meta_temperature)";
        }
        return metaMinScore == null ? "the top half of the draws by meta-RM score (meta_keep = ceil(k/2))"
                : "the draws with meta-RM score >= " + metaMinScore + ", all when none is (meta_min_score)";
    }

    /** The Markdown table of a curve: k, Voting@k and MetaRM@k with their standard errors. */
    static String table(List<VotingCurves.Point> curve) {
        StringBuilder md = new StringBuilder("| k | Voting@k | ± | MetaRM@k | ± |\n|---:|---:|---:|---:|---:|\n");
        for (VotingCurves.Point p : curve) {
            md.append(String.format(Locale.ROOT, "| %d | %.1f %% | %.1f | %.1f %% | %.1f |%n", p.k(), 100 * p.voting(), 100 * p.votingStderr(),
                    100 * p.meta(), 100 * p.metaStderr()));
        }
        return md.toString();
    }

    static void write(Path out, Path input, List<VotingCurves.Point> curve, double greedy, double chance, int items, int failed,
                      int samples, double seconds, String metaRule) throws Exception {
        Files.createDirectories(out);
        StringBuilder md = new StringBuilder();
        md.append(String.format(Locale.ROOT, "%s: %d items (%d failed), %d draws each, %.0f s; greedy (k = 1, temperature 0) %.1f %%, "
                + "chance %.1f %%; MetaRM@k votes %s%n%n", input.getFileName(), items, failed, samples, seconds, 100 * greedy, 100 * chance,
                metaRule));
        md.append(table(curve));
        StringBuilder csv = new StringBuilder("k,voting,voting_stderr,meta,meta_stderr,items,greedy,chance\n");
        XYSeries voting = new XYSeries("Voting@k"), meta = new XYSeries("MetaRM@k"), greedyLine = new XYSeries("greedy (k = 1, temperature 0)"),
                chanceLine = new XYSeries("chance");
        List<String> labels = new ArrayList<>();
        for (VotingCurves.Point p : curve) {
            csv.append(String.format(Locale.ROOT, "%d,%.5f,%.5f,%.5f,%.5f,%d,%.5f,%.5f%n", p.k(), p.voting(), p.votingStderr(), p.meta(),
                    p.metaStderr(), p.items(), greedy, chance));
            int x = labels.size();
            labels.add(Integer.toString(p.k()));
            voting.add(x, 100 * p.voting());
            meta.add(x, 100 * p.meta());
            greedyLine.add(x, 100 * greedy);
            chanceLine.add(x, 100 * chance);
        }
        Files.writeString(out.resolve("accuracy.md"), md);
        Files.writeString(out.resolve("accuracy.csv"), csv);
        var data = new XYSeriesCollection();
        data.addSeries(voting);
        data.addSeries(meta);
        data.addSeries(greedyLine);
        data.addSeries(chanceLine);
        JFreeChart chart = ChartFactory.createXYLineChart("Accuracy vs samples: " + input.getFileName(), "k (samples)", "accuracy (%)", data,
                PlotOrientation.VERTICAL, true, false, false);
        // k doubles: one evenly spaced tick per k, labelled with k
        var k = new org.jfree.chart.axis.SymbolAxis("k (samples, log scale)", labels.toArray(String[]::new));
        var plot = chart.getXYPlot();
        plot.setDomainAxis(k);
        plot.getRangeAxis().setRange(0, 100);
        plot.setBackgroundPaint(java.awt.Color.WHITE);
        plot.setDomainGridlinePaint(java.awt.Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(java.awt.Color.LIGHT_GRAY);
        ChartUtils.saveChartAsPNG(out.resolve("accuracy.png").toFile(), chart, 800, 500);
        System.out.print("\n" + md);
        System.out.println("wrote " + out.resolve("accuracy.md") + ", accuracy.csv, accuracy.png");
    }

    /** A one-line progress bar on stderr: items, elapsed, time left. */
    static final class Progress {
        private final int total;
        private final long start = System.nanoTime();

        Progress(int total) {
            this.total = total;
        }

        synchronized void step(int done) {
            double s = (System.nanoTime() - start) / 1e9;
            int width = 30, filled = (int) ((long) width * done / Math.max(1, total));
            System.err.printf(Locale.ROOT, "\r[%s%s] %d/%d items, %.0f s, about %.0f s left ", "#".repeat(filled), ".".repeat(width - filled),
                    done, total, s, done == 0 ? 0 : s / done * (total - done));
            if (done == total) System.err.println();
        }
    }
}
