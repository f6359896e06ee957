package dev.principia.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import dev.principia.cli.ArithmeticTask;
import dev.principia.grm.Conversation;
import dev.principia.grm.JudgmentParser;
import dev.principia.grm.PromptCodec;
import dev.principia.grm.MetaInput;
import dev.principia.grm.MetaTemperature;
import dev.principia.grm.PromptTemplate;
import dev.principia.grm.Turn;
import dev.principia.model.ChatTemplate;
import dev.principia.model.DType;
import dev.principia.model.ModelConfig;
import dev.principia.model.Tokenizer;

/**
 * Trains the embedded default GRM and its meta-RM (issue 11), on libtorch's CPU build, without Python.
 *
 * <pre>
 *   src/train/train.sh grm  --work DIR --out DIR [--seed 11] [--steps 3000] [--batch 32] [--minutes M] ...
 *   src/train/train.sh meta --grm DIR --collect DIR[,DIR...] --out DIR [--epochs 2] [--pairwise 0] [--synthetic 0] ...
 * </pre>
 *
 * {@code grm}: draws training items ({@link ArithmeticTask#trainingItem}) from the seed, renders each prompt with
 * the server's own template, chat template and tokenizer, writes the judgment {@link Critiques} prescribes, and
 * trains a small Llama on the judgment tokens. The tokenizer is trained first on the same corpus. Resumable: the
 * work directory holds the last checkpoint (parameters and AdamW moments); rerunning continues from it.
 * {@code meta}: {@link MetaTrain}.
 */
public final class Train {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Train() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || args[0].equals("--help")) {
            System.out.println("usage: train.sh grm|meta [options]  (see src/train/README.md)");
            return;
        }
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 1; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) throw new IllegalArgumentException("bad option " + args[i]);
            o.put(args[i].substring(2), args[++i]);
        }
        torch.set_num_threads(Integer.parseInt(o.getOrDefault("threads", "1")));
        switch (args[0]) {
            case "grm" -> grm(o);
            case "meta" -> MetaTrain.run(o);
            case "selftest" -> Selftest.run(Path.of(o.getOrDefault("work", "target/train-selftest")));
            default -> throw new IllegalArgumentException("unknown command " + args[0] + " (grm, meta, selftest)");
        }
    }

    static String opt(Map<String, String> o, String key) {
        String v = o.get(key);
        if (v == null) throw new IllegalArgumentException("--" + key + " is required");
        return v;
    }

    // ---- GRM --------------------------------------------------------------------------------------------

    record Example(int[] prompt, int[] target) {
    }

    /** A random presentation order of {@code n} responses: presented i is the item's response order[i]. */
    static int[] order(int n, Random rnd) {
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < n; i++) idx.add(i);
        Collections.shuffle(idx, rnd);
        return idx.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The item's responses in presentation {@code order}. */
    static List<String> presented(ArithmeticTask.Item item, int[] order) {
        List<String> presented = new ArrayList<>();
        for (int r : order) presented.add(item.responses().get(r));
        return presented;
    }

    /**
     * One drawn training example: the GRM's user turn, the judgment it is trained to write, the meta-RM's rendering of
     * both, and what that rendering was made from.
     */
    record Drawn(String user, String judgment, String meta, MetaTrain.Source source) {
    }

    /** Draws one training example (rendered text; the caller tokenizes). */
    static Drawn draw(Random rnd, PromptTemplate grm, PromptTemplate metaTemplate) {
        return draw(rnd, grm, metaTemplate, null);
    }

    /**
     * As {@link #draw(Random, PromptTemplate, PromptTemplate)}, with the operations weighted ({@code opWeights} in
     * {@link ArithmeticTask.Op} order, null for the task's own uniform mix): an item of operation o is kept with
     * probability weight(o) / max weight, so a stream can dwell on what a model gets wrong most.
     */
    static Drawn draw(Random rnd, PromptTemplate grm, PromptTemplate metaTemplate, double[] opWeights) {
        ArithmeticTask.Item item = ArithmeticTask.trainingItem(rnd);
        if (opWeights != null) {
            double max = Arrays.stream(opWeights).max().orElse(1);
            while (rnd.nextDouble() * max >= opWeights[item.op().ordinal()]) item = ArithmeticTask.trainingItem(rnd);
        }
        int n = item.responses().size();
        int[] order = order(n, rnd);
        List<String> presented = presented(item, order);
        Conversation conv = Conversation.of(new Turn(Turn.USER, item.query()));
        String user = grm.render(conv, presented);
        String judgment = Critiques.judge(item, order, rnd);
        var parsed = JudgmentParser.defaults().parse(judgment, n);
        if (!parsed.valid()) throw new IllegalStateException("unparseable synthetic judgment: " + judgment);
        String meta = metaTemplate.render(conv, presented, List.of(), judgment);
        return new Drawn(user, judgment, meta, new MetaTrain.Source(conv, presented, judgment));
    }

    static void grm(Map<String, String> o) throws IOException {
        long seed = Long.parseLong(o.getOrDefault("seed", "11"));
        int steps = Integer.parseInt(o.getOrDefault("steps", "3000"));
        int batch = Integer.parseInt(o.getOrDefault("batch", "32"));
        double lr = Double.parseDouble(o.getOrDefault("lr", "1e-3"));
        int hidden = Integer.parseInt(o.getOrDefault("hidden", "256"));
        int layers = Integer.parseInt(o.getOrDefault("layers", "4"));
        int heads = Integer.parseInt(o.getOrDefault("heads", "8"));
        int kvHeads = Integer.parseInt(o.getOrDefault("kv-heads", "4"));
        int ffn = Integer.parseInt(o.getOrDefault("ffn", Integer.toString(hidden * 3)));
        int vocab = Integer.parseInt(o.getOrDefault("vocab", "1024"));
        int maxPositions = Integer.parseInt(o.getOrDefault("max-positions", "4096"));
        int saveEvery = Integer.parseInt(o.getOrDefault("save-every", "100"));
        int exportEvery = Integer.parseInt(o.getOrDefault("export-every", "500"));
        double minutes = Double.parseDouble(o.getOrDefault("minutes", "1e9"));
        Path work = Path.of(opt(o, "work")), out = Path.of(opt(o, "out"));
        double[] opWeights = opWeights(o.get("op-weights"));
        double metaShare = Double.parseDouble(o.getOrDefault("meta-context", "0"));
        if (!(metaShare >= 0 && metaShare <= 1)) throw new IllegalArgumentException("--meta-context must be a share in 0..1, got " + metaShare);
        Files.createDirectories(work);

        PromptTemplate grmTemplate = PromptTemplate.loadDefault();
        PromptTemplate metaTemplate = PromptTemplate.loadResource(PromptTemplate.META_RESOURCE);
        Path tok = work.resolve("tokenizer");
        Path init = o.containsKey("init") ? Path.of(o.get("init")) : null;
        boolean fresh = !Files.isRegularFile(work.resolve("checkpoint").resolve("step.txt"));
        if (init != null) {
            // continue an exported model (the embedded default: its checkpoint is not in the repository): its tokenizer
            // and shape, its weights as the start, its recorded step as the start of the data stream and schedule
            JsonNode c = JSON.readTree(init.resolve("config.json").toFile());
            if (!c.path("architectures").path(0).asText().endsWith("ForCausalLM")) {
                throw new IllegalArgumentException("--init " + init + " is not a causal LM");
            }
            hidden = shapeOf(o, c, "hidden", "hidden_size");
            layers = shapeOf(o, c, "layers", "num_hidden_layers");
            heads = shapeOf(o, c, "heads", "num_attention_heads");
            kvHeads = shapeOf(o, c, "kv-heads", "num_key_value_heads");
            ffn = shapeOf(o, c, "ffn", "intermediate_size");
            maxPositions = shapeOf(o, c, "max-positions", "max_position_embeddings");
        }
        if (init != null && fresh) {
            Files.createDirectories(tok);
            Files.copy(init.resolve("tokenizer.json"), tok.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
            Files.copy(init.resolve("tokenizer_config.json"), tok.resolve("tokenizer_config.json"), StandardCopyOption.REPLACE_EXISTING);
            try (Tokenizer t = Tokenizer.load(tok.resolve("tokenizer.json"))) {
                Files.writeString(tok.resolve("vocab-size.txt"), (t.tokenId(Bpe.IM_END) + 1) + "\n");
            }
        }
        if (!Files.isRegularFile(tok.resolve("tokenizer.json"))) {
            System.out.println("training the tokenizer (target vocabulary " + vocab + ") on 3000 rendered examples");
            ChatTemplate chat = ChatTemplate.of(Bpe.CHAT_TEMPLATE, null, Bpe.IM_END);
            Random rnd = new Random(seed ^ 0x70CE);
            List<String> corpus = new ArrayList<>();
            for (int i = 0; i < 3000; i++) {
                Drawn d = draw(rnd, grmTemplate, metaTemplate);
                corpus.add(chat.render(List.of(Map.of("role", "user", "content", d.user())), true, Map.of()) + d.judgment() + Bpe.IM_END);
                if (i % 3 == 0) corpus.add(chat.render(List.of(Map.of("role", "user", "content", d.meta())), false, Map.of()));
            }
            Bpe.Vocab v = Bpe.train(corpus, vocab, 8);
            Files.createDirectories(tok);
            Bpe.write(v, tok, 1024);
            Files.writeString(tok.resolve("vocab-size.txt"), v.size() + "\n");
            System.out.println("tokenizer: " + v.size() + " tokens (" + v.merges().size() + " merges)");
        }
        int vocabSize = Integer.parseInt(Files.readString(tok.resolve("vocab-size.txt")).trim());
        int imEnd = vocabSize - 1, pad = vocabSize - 3;
        try (Tokenizer tokenizer = Tokenizer.load(tok.resolve("tokenizer.json"))) {
            if (tokenizer.tokenId(Bpe.IM_END) != imEnd) throw new IllegalStateException("<|im_end|> is not id " + imEnd);
            PromptCodec codec = PromptCodec.of(tokenizer, ChatTemplate.read(tok.resolve("tokenizer_config.json")));
            ModelConfig config = ModelConfig.parse(JSON.readTree(llamaConfig(roundUp(vocabSize, 64), hidden, ffn, layers, heads, kvHeads,
                    imEnd, pad, false, maxPositions)));
            Net net = new Net(config, seed);
            int done = net.loadCheckpoint(work.resolve("checkpoint"));
            if (done > 0) System.out.println("resuming from step " + done);
            if (init != null && done == 0) {
                net.initFrom(init);
                done = Integer.parseInt(JSON.readTree(init.resolve("training.json").toFile()).path("steps").asText("0"));
                if (done >= steps) throw new IllegalArgumentException("--init " + init + " ran " + done + " steps; --steps must be more");
                System.out.println("starting from " + init + " (step " + done + "; AdamW moments start at zero)");
            }
            System.out.printf(Locale.ROOT, "model: Llama, %d layers, hidden %d, heads %d/%d, ffn %d, vocabulary %d: %.2f M parameters%n",
                    layers, hidden, heads, kvHeads, ffn, config.vocabSize(), net.parameterCount() / 1e6);
            if (Boolean.parseBoolean(o.getOrDefault("export-only", "false"))) {
                if (done == 0) throw new IllegalArgumentException("--export-only: no checkpoint in " + work);
                export(net, tok, out, record(seed, done, batch, lr, Double.NaN, pad, init, o));
                System.out.println("exported step " + done + " to " + out);
                return;
            }
            // the data stream is a function of (seed, step): a resumed run sees the batches it would have seen
            long start = System.nanoTime();
            double ema = Double.NaN;
            long tokens = 0;
            int step = done;
            while (step < steps) {
                step++;
                Random rnd = new Random(seed * 1_000_003L + step);
                List<Example> ex = new ArrayList<>();
                for (int i = 0; i < batch; i++) {
                    Drawn d = draw(rnd, grmTemplate, metaTemplate, opWeights);
                    if (metaShare > 0 && rnd.nextDouble() < metaShare) {
                        ex.add(metaContextExample(codec, metaTemplate, d));
                        continue;
                    }
                    int[] prompt = codec.encodeUserTurn(d.user(), true);
                    int[] body = tokenizer.encode(d.judgment());
                    int[] target = Arrays.copyOf(body, body.length + 1);
                    target[body.length] = imEnd;
                    ex.add(new Example(prompt, target));
                }
                double rate = lr * schedule(step, steps);
                double loss;
                try (PointerScope scope = new PointerScope()) {
                    Tensor[] t = lmBatch(ex, pad);
                    Tensor l = torch.cross_entropy(net.logits(net.hidden(t[0])).view(-1, config.vocabSize()), t[1].view(-1));
                    loss = l.item_float();
                    l.backward();
                    net.step(step, rate, 0.1, 1.0);
                    tokens += t[0].numel();
                }
                ema = Double.isNaN(ema) ? loss : 0.95 * ema + 0.05 * loss;
                double secs = (System.nanoTime() - start) / 1e9;
                if (step % 5 == 0 || step == steps) progress(step, steps, done, ema, tokens / secs, secs);
                boolean outOfTime = secs > minutes * 60;
                if (step % saveEvery == 0 || step == steps || outOfTime) {
                    net.saveCheckpoint(work.resolve("checkpoint"), step, "seed " + seed);
                }
                if (step % exportEvery == 0 || step == steps || outOfTime) {
                    Path snap = step == steps || outOfTime ? out : work.resolve("export-step" + step);
                    export(net, tok, snap, record(seed, step, batch, lr, ema, pad, init, o));
                    System.out.println("\nexported step " + step + " to " + snap);
                }
                if (outOfTime) {
                    System.out.println("\nstopping at step " + step + " (--minutes " + minutes + "); rerun to continue");
                    return;
                }
            }
        }
    }

    /**
     * A drawn example ({@link #draw}) as the meta-RM reads it ({@code --meta-context}): the judgment inside the meta
     * template's user turn, the loss on its principles and critique (not the scores). A model trained only in the
     * GRM's own context cannot predict the working there, so a meta-RM grown from it starts without its arithmetic.
     */
    static Example metaContextExample(PromptCodec codec, PromptTemplate metaTemplate, Drawn drawn) {
        SelfLabels.Span span = SelfLabels.inMetaInput(MetaInput.template(codec, metaTemplate), drawn.source());
        return new Example(Arrays.copyOf(span.tokens(), span.from()), Arrays.copyOfRange(span.tokens(), span.from(), span.to()));
    }

    /** {@code --op-weights ADD,SUB,MUL,ADD_SUB} (non-negative, not all zero), or null when not given. */
    static double[] opWeights(String spec) {
        if (spec == null) return null;
        String[] parts = spec.split(",");
        int n = ArithmeticTask.Op.values().length;
        if (parts.length != n) throw new IllegalArgumentException("--op-weights needs " + n + " comma-separated weights (ADD,SUB,MUL,ADD_SUB), got " + spec);
        double[] w = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            w[i] = Double.parseDouble(parts[i].trim());
            if (!(w[i] >= 0) || Double.isInfinite(w[i])) throw new IllegalArgumentException("--op-weights: weight " + parts[i] + " is not a finite non-negative number");
            sum += w[i];
        }
        if (sum == 0) throw new IllegalArgumentException("--op-weights: all weights are zero");
        return w;
    }

    /** A shape value of the --init model; an option given beside --init must agree with it. */
    private static int shapeOf(Map<String, String> o, JsonNode config, String option, String key) {
        int value = config.path(key).asInt();
        if (o.containsKey(option) && Integer.parseInt(o.get(option)) != value) {
            throw new IllegalArgumentException("--" + option + " " + o.get(option) + " disagrees with --init's " + key + " " + value
                    + " (a continued model keeps its shape; leave --" + option + " out)");
        }
        return value;
    }

    private static Map<String, String> record(long seed, int step, int batch, double lr, double loss, int pad, Path init, Map<String, String> o) {
        Map<String, String> record = new LinkedHashMap<>();
        record.put("seed", Long.toString(seed));
        record.put("steps", Integer.toString(step));
        if (init != null) record.put("init", init.toString());
        record.put("batch", Integer.toString(batch));
        record.put("lr", Double.toString(lr));
        if (!Double.isNaN(loss)) record.put("loss", String.format(Locale.ROOT, "%.4f", loss));
        record.put("data", "ArithmeticTask.trainingItem from Random(seed * 1000003 + step), judgments by Critiques");
        if (o.containsKey("op-weights")) record.put("op_weights", o.get("op-weights") + " (ADD,SUB,MUL,ADD_SUB)");
        if (o.containsKey("meta-context")) record.put("meta_context", o.get("meta-context"));
        record.put("pad_token_id", Integer.toString(pad));
        return record;
    }

    static double schedule(int step, int steps) {
        int warm = Math.min(200, steps / 10);
        if (step <= warm) return (double) step / warm;
        double p = (double) (step - warm) / Math.max(1, steps - warm);
        return 0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * p));
    }

    private static int roundUp(int n, int m) {
        return (n + m - 1) / m * m;
    }

    /** Inputs [B, T-1] and targets [B, T-1] (-100 on prompt and padding) of a right-padded batch. */
    private static Tensor[] lmBatch(List<Example> ex, int pad) {
        int t = 0;
        for (Example e : ex) t = Math.max(t, e.prompt.length + e.target.length);
        int b = ex.size();
        long[] in = new long[b * (t - 1)], tg = new long[b * (t - 1)];
        for (int i = 0; i < b; i++) {
            Example e = ex.get(i);
            int len = e.prompt.length + e.target.length;
            for (int j = 0; j < t - 1; j++) {
                int tokAt = j < e.prompt.length ? e.prompt[j] : j < len ? e.target[j - e.prompt.length] : pad;
                int next = j + 1;
                in[i * (t - 1) + j] = tokAt;
                tg[i * (t - 1) + j] = next >= e.prompt.length && next < len ? e.target[next - e.prompt.length] : -100;
            }
        }
        return new Tensor[] {Net.longs(in, b, t - 1), Net.longs(tg, b, t - 1)};
    }

    static void progress(int step, int steps, int from, double loss, double tokPerSec, double secs) {
        int width = 30, filled = (int) ((long) width * step / steps);
        double eta = (steps - step) * secs / Math.max(1, step - from);
        System.out.printf(Locale.ROOT, "\r[%s%s] step %d/%d  loss %.4f  %.0f tok/s  elapsed %s  eta %s   ", "#".repeat(filled),
                ".".repeat(width - filled), step, steps, loss, tokPerSec, hms(secs), hms(eta));
        System.out.flush();
    }

    private static String hms(double secs) {
        Duration d = Duration.ofSeconds((long) secs);
        return String.format(Locale.ROOT, "%d:%02d:%02d", d.toHours(), d.toMinutesPart(), d.toSecondsPart());
    }

    static String llamaConfig(int vocab, int hidden, int ffn, int layers, int heads, int kvHeads, int eos, int pad, boolean classifier) {
        return llamaConfig(vocab, hidden, ffn, layers, heads, kvHeads, eos, pad, classifier, 1024);
    }

    /**
     * @param maxPositions {@code max_position_embeddings}: the served context. Rotary positions need no weights, so it
     *                     may exceed what training showed (judgments of about 400 tokens); longer requests are then
     *                     scored rather than refused, without any claim on their quality.
     */
    static String llamaConfig(int vocab, int hidden, int ffn, int layers, int heads, int kvHeads, int eos, int pad, boolean classifier,
                              int maxPositions) {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add(classifier ? "LlamaForSequenceClassification" : "LlamaForCausalLM");
        c.put("model_type", "llama").put("vocab_size", vocab).put("hidden_size", hidden).put("intermediate_size", ffn)
                .put("num_hidden_layers", layers).put("num_attention_heads", heads).put("num_key_value_heads", kvHeads)
                .put("head_dim", hidden / heads).put("max_position_embeddings", maxPositions).put("rms_norm_eps", 1e-6)
                .put("rope_theta", 10000.0).put("tie_word_embeddings", !classifier).put("hidden_act", "silu")
                .put("attention_bias", false).put("mlp_bias", false).put("torch_dtype", "float16")
                .put("eos_token_id", eos).put("pad_token_id", pad);
        c.putNull("bos_token_id");
        if (classifier) c.put("num_labels", 1);
        return c.toString();
    }

    private static void export(Net net, Path tok, Path dir, Map<String, String> record) throws IOException {
        writeModelDir(net, tok, dir, record, DType.F16);
    }

    /**
     * Publishes an HF model directory (config, weights in {@code dtype}, the tokenizer files from {@code tok}, the
     * training record) at {@code dir}: written beside it, then moved into place.
     */
    static void writeModelDir(Net net, Path tok, Path dir, Map<String, String> record, DType dtype) throws IOException {
        Path tmp = dir.resolveSibling(dir.getFileName() + ".tmp");
        Files2.deleteTree(tmp);
        Files.createDirectories(tmp);
        ObjectNode cfg = (ObjectNode) JSON.readTree(net.config.toJson());
        cfg.put("torch_dtype", dtype == DType.F16 ? "float16" : "float32");
        cfg.put("pad_token_id", Integer.parseInt(record.getOrDefault("pad_token_id", "0")));
        // a meta-RM declares the form it was trained to read, so that the server reads it so (MetaInput.Form.declaredBy)
        if (record.containsKey("meta_input")) cfg.put(MetaInput.CONFIG_KEY, MetaInput.Form.parse(record.get("meta_input")).configName());
        // and, when it was chosen, the vote its scores serve best (MetaTemperature.declaredBy)
        if (record.containsKey("vote_temperature")) cfg.put(MetaTemperature.CONFIG_KEY, Float.parseFloat(record.get("vote_temperature")));
        Files.writeString(tmp.resolve("config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(cfg));
        Map<String, String> meta = new LinkedHashMap<>(record);
        meta.remove("pad_token_id");
        net.writeWeights(tmp.resolve("model.safetensors"), dtype, meta);
        for (String f : new String[] {"tokenizer.json", "tokenizer_config.json"}) Files.copy(tok.resolve(f), tmp.resolve(f));
        ObjectNode t = JSON.createObjectNode();
        meta.forEach(t::put);
        Files.writeString(tmp.resolve("training.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(t));
        Files2.deleteTree(dir);
        Files.move(tmp, dir);
    }
}
