package dev.principia.benchmark;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import dev.principia.api.v1.Budget;
import dev.principia.api.v1.GetServerInfoRequest;
import dev.principia.api.v1.ModelInfo;
import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import dev.principia.api.v1.ServerInfo;

/**
 * A real-size checkpoint through the packaged server, as a user runs it: starts the jar on
 * {@code principia.model.dir=DIR} with {@code principia.backend.weights=W} and a fresh cache, waits for
 * SERVING (the export happens inside), answers Score with k samples over a real gRPC channel, and prints
 * export time (from the server's progress log), time to SERVING, first-Score time, peak RSS (VmHWM) and
 * what GetServerInfo reports (precision, weight and KV bytes, attention, memory plan).
 *
 * <p>Usage: {@code benchmark/run.sh serve --model DIR [--weights auto|fp32|fp16|bf16|int8|int4] [--samples 4]
 * [--max-new-tokens 32] [--xmx 2g] [--cache DIR] [--keep-cache]}.
 */
public final class Serve {
    private Serve() {
    }

    public static void main(String[] args) throws Exception {
        String model = null, weights = "auto", xmx = "2g", cache = null;
        int samples = 4, maxNewTokens = 32;
        boolean keepCache = false;
        List<String> extra = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = args[++i];
                case "--weights" -> weights = args[++i];
                case "--samples" -> samples = Integer.parseInt(args[++i]);
                case "--max-new-tokens" -> maxNewTokens = Integer.parseInt(args[++i]);
                case "--xmx" -> xmx = args[++i];
                case "--cache" -> cache = args[++i];
                case "--keep-cache" -> keepCache = true;
                case "-D" -> extra.add("-D" + args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (model == null) throw new IllegalArgumentException("--model DIR is required");
        Path cacheDir = Path.of(cache != null ? cache : "target/serve-cache/" + Path.of(model).getFileName() + "-" + weights).toAbsolutePath();
        if (!keepCache) deleteTree(cacheDir);
        List<String> props = new ArrayList<>(List.of("-Dprincipia.model.dir=" + Path.of(model).toAbsolutePath(),
                "-Dprincipia.backend.weights=" + weights, "-Dprincipia.model.cache-dir=" + cacheDir));
        props.addAll(extra);
        String name = "serve-" + Path.of(model).getFileName() + "-" + weights;
        long t0 = System.nanoTime();
        try (PackagedServer server = PackagedServer.start(name, List.of("-Xmx" + xmx), props, Duration.ofMinutes(90))) {
            double toServing = (System.nanoTime() - t0) / 1e9;
            String log = Files.readString(server.log, StandardCharsets.UTF_8);
            String exportLine = log.lines().filter(l -> l.contains("export 100%")).reduce((a, b) -> b).orElse("(no export: cached or pre-exported)");
            ServerInfo info = RewardServiceGrpc.newBlockingStub(server.channel()).getServerInfo(GetServerInfoRequest.getDefaultInstance());
            ModelInfo grm = info.getModels(0);
            System.out.printf(Locale.ROOT, "model %s (%s, %.2f B parameters), weights %s = %.2f GB, KV %s %.2f GB, attention %s%n",
                    grm.getName(), grm.getArchitecture(), grm.getNumParameters() / 1e9, grm.getWeightPrecision(), grm.getWeightBytes() / 1e9,
                    grm.getKvCacheDtype(), grm.getKvCacheBytes() / 1e9, grm.getAttention());
            System.out.printf(Locale.ROOT, "memory plan: %s%n", info.getMemoryPlan().toString().replace('\n', ' '));
            System.out.printf(Locale.ROOT, "export: %s%n", exportLine.replaceFirst("^.*export 100%", "export 100%"));
            System.out.printf(Locale.ROOT, "SERVING after %.1f s (export included); peak RSS so far %.2f GB (VmHWM), anonymous now %.2f GB%n", toServing,
                    server.peakRssBytes() / 1e9, server.anonRssBytes() / 1e9);
            ScoreRequest r = ScoreLoad.example().toBuilder().setId("serve-1")
                    .setBudget(Budget.newBuilder().setSamples(samples).setMaxNewTokens(maxNewTokens)).build();
            for (int run = 1; run <= 2; run++) {
                long t1 = System.nanoTime();
                ScoreResponse resp = RewardServiceGrpc.newBlockingStub(server.channel()).score(r);
                double secs = (System.nanoTime() - t1) / 1e9;
                System.out.printf(Locale.ROOT, "Score %d (k=%d, max_new_tokens %d): %.1f s, rewards %s, prompt %d tokens, generated %d tokens "
                                + "(%.1f tok/s over the call), error '%s'%n", run, samples, maxNewTokens, secs,
                        resp.getScoresList().stream().map(s -> String.format(Locale.ROOT, "%.2f", s.getReward())).toList(),
                        resp.getUsage().getPromptTokens(), resp.getUsage().getGeneratedTokens(),
                        resp.getUsage().getGeneratedTokens() / secs, resp.getError().getMessage());
            }
            System.out.printf(Locale.ROOT, "peak RSS %.2f GB (VmHWM, memory-mapped files included), RSS now %.2f GB, of it anonymous %.2f GB, "
                    + "load average %s%n", server.peakRssBytes() / 1e9, server.rssBytes() / 1e9, server.anonRssBytes() / 1e9, PackagedServer.loadAverage());
        }
    }

    private static void deleteTree(Path root) throws java.io.IOException {
        if (!Files.exists(root)) return;
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
