package dev.principia.train;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import dev.principia.benchmark.VotingCurves;
import dev.principia.cli.ArithmeticTask;
import dev.principia.grm.Conversation;
import dev.principia.grm.JudgmentParser;
import dev.principia.grm.PromptCodec;
import dev.principia.grm.MetaInput;
import dev.principia.grm.PromptTemplate;
import dev.principia.grm.Turn;
import dev.principia.model.ChatTemplate;
import dev.principia.model.DType;
import dev.principia.model.ModelConfig;
import dev.principia.model.Tokenizer;

/**
 * The meta-RM job: the SPCT loop at small scale. Labels come from {@code principia collect} over the trained GRM
 * (a sample is trusted when it scores the labelled best response strictly highest); the meta-RM starts from the
 * GRM's weights with a one-logit head.
 *
 * <p>What the meta-RM is for is choosing, among one item's samples, the ones to keep before voting; a pointwise
 * loss mostly learns which items are hard (every sample of a hard item looks alike to it). So the loss is
 * pointwise BCE plus, weighted by {@code --pairwise}, a logistic loss on every (trusted, untrusted) pair of samples
 * of the same item: batches are items (up to {@code --max-samples} samples of each), and {@code --synthetic} groups
 * of right and slipped judgments ({@link Critiques.Slip}) teach the column-by-column check that the GRM's own
 * mistakes are too few to teach; {@code --process} adds a per-token loss on {@link ProcessLabels} (where the working
 * first departs from the right one). Items split into train and held-out sets (never samples of one item
 * in both), and each epoch reports on the held-out items what the server would do with them: Voting@k and
 * MetaRM@k ({@link VotingCurves}, the harness's own arithmetic) and the share of within-item pairs ordered right.
 */
final class MetaTrain {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One collected sample: its meta-RM input tokens, label, the GRM's scores in request order (best = 0), its
     * per-token {@link ProcessLabels} and whether its working departs from the right one, and what it was made of
     * (null where not known), for {@link SelfLabels}.
     */
    record Sample(int[] tokens, boolean trusted, boolean valid, int[] scores, byte[] process, boolean departs, Source source) {
    }

    /** The conversation, the responses in the order the sample saw them, and the GRM's judgment. */
    record Source(Conversation conversation, List<String> presented, String judgment) {
    }

    /** One item's samples, in the order collect drew them. */
    record Item(String id, int responses, List<Sample> samples) {
        boolean mixed() {
            boolean any = false, all = true;
            for (Sample s : samples) {
                any |= s.trusted;
                all &= s.trusted;
            }
            return any && !all;
        }
    }

    private MetaTrain() {
    }

    static void run(Map<String, String> o) throws IOException {
        long seed = Long.parseLong(o.getOrDefault("seed", "12"));
        int epochs = Integer.parseInt(o.getOrDefault("epochs", "2"));
        int itemsPerBatch = Integer.parseInt(o.getOrDefault("items-per-batch", "2"));
        int maxSamples = Integer.parseInt(o.getOrDefault("max-samples", "8"));
        double lr = Double.parseDouble(o.getOrDefault("lr", "3e-4"));
        double pairwise = Double.parseDouble(o.getOrDefault("pairwise", "0"));
        double process = Double.parseDouble(o.getOrDefault("process", "0"));
        double check = Double.parseDouble(o.getOrDefault("check", "2")), carry = Double.parseDouble(o.getOrDefault("carry", "2"));
        double unanimous = Double.parseDouble(o.getOrDefault("unanimous", "1.0"));
        double heldShare = Double.parseDouble(o.getOrDefault("held-out", "0.1"));
        Path grm = Path.of(Train.opt(o, "grm")), out = Path.of(Train.opt(o, "out"));
        List<Path> collects = new ArrayList<>();
        for (String c : Train.opt(o, "collect").split(",")) collects.add(Path.of(c));

        ModelConfig causal = ModelConfig.read(grm);
        int pad = JSON.readTree(grm.resolve("config.json").toFile()).path("pad_token_id").asInt();
        int extraLayers = Integer.parseInt(o.getOrDefault("extra-layers", "0"));
        if (extraLayers < 0) throw new IllegalArgumentException("--extra-layers must be >= 0, got " + extraLayers);
        // extra layers sit on top of the base's (initFrom copies the base's by name) with their output projections at
        // zero, so that the classifier starts as its base and has room to compare what the base predicted with what
        // was written; --evaluate takes the evaluated model's own shape, whatever its depth
        ModelConfig config = o.containsKey("evaluate") ? ModelConfig.read(Path.of(o.get("evaluate")))
                : ModelConfig.parse(JSON.readTree(Train.llamaConfig(causal.vocabSize(), causal.hiddenSize(), causal.intermediateSize(),
                        causal.numHiddenLayers() + extraLayers, causal.numAttentionHeads(), causal.numKeyValueHeads(),
                        causal.eosTokenIds().get(0), pad, true, causal.maxPositionEmbeddings())));
        int syntheticGroups = Integer.parseInt(o.getOrDefault("synthetic", "0"));
        List<Item> items, synthetic;
        List<Collected> records;
        Tokenizer tokenizer = Tokenizer.load(grm.resolve("tokenizer.json")); // open for the run (SelfLabels encodes with it); one run per process
        PromptCodec codec = PromptCodec.of(tokenizer, ChatTemplate.read(grm.resolve("tokenizer_config.json")));
        boolean[] digits = ProcessLabels.digits(tokenizer, config.vocabSize());
        records = collected(collects);
        // the form the meta-RM reads samples in: as given, else what the model it is evaluated or continued from declares
        Path declaring = o.containsKey("evaluate") ? Path.of(o.get("evaluate")) : o.containsKey("from") ? Path.of(o.get("from")) : null;
        MetaInput.Form form = o.containsKey("meta-input") ? MetaInput.Form.parse(o.get("meta-input"))
                : declaring == null ? MetaInput.Form.TEMPLATE : MetaInput.Form.declaredBy(declaring);
        o.put("meta-input", form.configName());
        if (o.containsKey("vote-temperature") && !(Float.parseFloat(o.get("vote-temperature")) > 0
                && Float.isFinite(Float.parseFloat(o.get("vote-temperature"))))) {
            throw new IllegalArgumentException("--vote-temperature must be finite and > 0, got " + o.get("vote-temperature"));
        }
        System.out.println("the meta-RM reads each sample in " + form.configName() + " form");
        MetaInput input = MetaInput.of(form, codec, PromptTemplate.loadResource(PromptTemplate.META_RESOURCE), PromptTemplate.loadDefault(),
                PromptTemplate.loadResource(PromptTemplate.PRINCIPLES_RESOURCE));
        items = read(input, records, digits);
        synthetic = synthetic(syntheticGroups, seed + 2, input, digits);
        Collections.shuffle(items, new Random(seed));
        int held = (int) Math.round(items.size() * heldShare);
        List<Item> test = items.subList(0, held), train = new ArrayList<>(items.subList(held, items.size()));
        train.addAll(synthetic);
        long n = 0, trusted = 0, mixed = 0, slipTrusted = 0, slipUntrusted = 0;
        for (Item it : items) {
            n += it.samples.size();
            trusted += it.samples.stream().filter(Sample::trusted).count();
            if (it.mixed()) mixed++;
            for (Sample s : it.samples) {
                if (s.departs) {
                    if (s.trusted) slipTrusted++;
                    else slipUntrusted++;
                }
            }
        }
        System.out.printf(Locale.ROOT, "meta-RM data: %d items (%d with both trusted and untrusted samples), %d samples (%.1f %% trusted); "
                + "%d items held out; %d synthetic groups%n", items.size(), mixed, n, 100.0 * trusted / n, held, synthetic.size());
        System.out.printf(Locale.ROOT, "  the working departs from the right one in %.1f %% of untrusted and %.1f %% of trusted samples%n",
                100.0 * slipUntrusted / Math.max(1, n - trusted), 100.0 * slipTrusted / Math.max(1, trusted));

        if (o.containsKey("grm-surprise")) {
            String context = o.getOrDefault("surprise-context", "grm");
            if (!context.equals("grm") && !context.equals("meta")) {
                throw new IllegalArgumentException("--surprise-context must be grm (after the GRM's prompt) or meta (inside the meta template), got " + context);
            }
            MetaEval.grmSurprise(Path.of(o.get("grm-surprise")), records, test, seed, context.equals("meta"));
            return;
        }
        Net net = new Net(config, seed);
        if (o.containsKey("evaluate")) {
            net.initFrom(Path.of(o.get("evaluate")));
            System.out.println("evaluating " + o.get("evaluate") + " on the held-out items");
            MetaEval.evaluate(net, test, pad, seed);
            return;
        }
        Path base = o.containsKey("from") ? Path.of(o.get("from")) : grm;
        net.initFrom(base);
        int fromLayers = ModelConfig.read(base).numHiddenLayers();
        net.zeroOutputs(fromLayers); // only the layers the model it starts from does not have
        // the frozen base: by default all of what it starts from; fewer when continuing a deeper model grown from a base
        int baseLayers = Integer.parseInt(o.getOrDefault("base-layers", Integer.toString(fromLayers)));
        if (baseLayers < 1 || baseLayers > fromLayers) throw new IllegalArgumentException("--base-layers must be 1.." + fromLayers + ", got " + baseLayers);
        if (Integer.parseInt(o.getOrDefault("freeze-base", "0")) != 0) {
            if (extraLayers == 0) throw new IllegalArgumentException("--freeze-base 1 needs --extra-layers N > 0: with the base frozen only the head would learn");
            net.freezeBelow(baseLayers);
        }
        double distill = Double.parseDouble(o.getOrDefault("distill", "0")), local = Double.parseDouble(o.getOrDefault("local", "0"));
        LocalCheck localCheck = null;
        if (distill > 0 || local > 0) {
            if (Integer.parseInt(o.getOrDefault("freeze-base", "0")) == 0) throw new IllegalArgumentException("--distill and --local need --freeze-base 1: their labels are the base's own predictions");
            localCheck = new LocalCheck(net, baseLayers, digits, distill, local).unsure(Double.parseDouble(o.getOrDefault("unsure", "0")));
        }
        boolean localOnly = Integer.parseInt(o.getOrDefault("local-only", "0")) != 0;
        double corrupt = Double.parseDouble(o.getOrDefault("corrupt", "0"));
        if ((localOnly || corrupt > 0) && localCheck == null) throw new IllegalArgumentException("--local-only and --corrupt need --distill or --local");
        if (corrupt > 0 && !localOnly && !o.containsKey("fit-local")) {
            throw new IllegalArgumentException("--corrupt needs --local-only 1 or --fit-local: a corrupted sample keeps its labels, which only the local check does not read");
        }
        SelfLabels checker = o.containsKey("self-labels") ? new SelfLabels(Path.of(o.get("self-labels")), tokenizer, codec, input, digits, pad, seed) : null;
        Random rnd = new Random(seed + 1);
        List<List<Item>> plan = new ArrayList<>();
        for (int e = 0; e < epochs; e++) plan.add(epoch(train, unanimous, rnd));
        int steps = 0;
        for (List<Item> p : plan) steps += (p.size() + itemsPerBatch - 1) / itemsPerBatch;
        if (o.containsKey("fit-local") || o.containsKey("min-layer")) {
            if (localCheck == null) throw new IllegalArgumentException("--fit-local and --min-layer need --local");
            List<List<Sample>> batches = new ArrayList<>();
            for (List<Item> p : plan) {
                for (int from = 0; from < p.size(); from += itemsPerBatch) batches.add(batch(p, from, itemsPerBatch, maxSamples, rnd, new ArrayList<>()));
            }
            // --min-layer alone writes the minimum above a check layer fitted before (--from that model)
            if (o.containsKey("fit-local")) localCheck.fit(net, batches, pad, corrupt, Integer.parseInt(o.get("fit-local")), lr, rnd);
            if (o.containsKey("min-layer")) {
                List<Sample> calibration = new ArrayList<>();
                for (List<Sample> b : batches.subList(0, Math.min(8, batches.size()))) calibration.addAll(b);
                localCheck.minLayer(net, calibration, pad, Double.parseDouble(o.getOrDefault("sharpness", "4")), Double.parseDouble(o.get("min-layer")));
            }
            Map<String, String> record = MetaEval.evaluate(net, test, pad, seed);
            if (o.containsKey("fit-local")) record.put("fit_local", o.get("fit-local"));
            publish(net, grm, out, record, o, collects, items.size(), n, trusted, pad);
            System.out.println("meta-RM with its local check fitted written to " + out);
            return;
        }
        int step = 0;
        long start = System.nanoTime(), tokens = 0;
        double ema = Double.NaN;
        for (int e = 0; e < epochs; e++) {
            List<Item> p = plan.get(e);
            for (int from = 0; from < p.size(); from += itemsPerBatch) {
                step++;
                List<Integer> group = new ArrayList<>();
                List<Sample> batch = batch(p, from, itemsPerBatch, maxSamples, rnd, group);
                if (checker != null) batch = checker.relabel(batch);
                if (corrupt > 0) batch = LocalCheck.corrupt(batch, corrupt, digits, rnd);
                try (PointerScope scope = new PointerScope()) {
                    Tensor[] t = tensors(batch, pad, check, carry);
                    Tensor[] taps = localCheck == null ? null : localCheck.taps();
                    Tensor states = net.hidden(t[0], taps);
                    Tensor loss = localOnly ? torch.zeros(new long[] {}) : loss(net.classify(states, t[1]), t[2], pairMask(batch, group), pairwise);
                    if (process > 0 && !localOnly) loss = loss.add(ProcessLabels.loss(net.scores(states), t[3], t[4]).mul(new Scalar(process)));
                    if (localCheck != null) loss = loss.add(localCheck.loss(net, taps, t[0], batch, (int) t[0].size(1)));
                    double l = loss.item_float();
                    loss.backward();
                    net.step(step, lr * Train.schedule(step, steps), 0.1, 1.0);
                    tokens += t[0].numel();
                    ema = Double.isNaN(ema) ? l : 0.95 * ema + 0.05 * l;
                }
                double secs = (System.nanoTime() - start) / 1e9;
                Train.progress(step, steps, 0, ema, tokens / secs, secs);
            }
            if (checker != null) System.out.printf(Locale.ROOT, "%n%s", checker.summary());
            if (localCheck != null) System.out.printf(Locale.ROOT, "%n%s", localCheck.summary());
            System.out.printf(Locale.ROOT, "%nepoch %d of %d, on the %d held-out items:%n", e + 1, epochs, test.size());
            Map<String, String> record = MetaEval.evaluate(net, test, pad, seed);
            record.put("epochs", (e + 1) + " of " + epochs);
            record.put("steps", Integer.toString(step));
            publish(net, grm, out, record, o, collects, items.size(), n, trusted, pad);
            System.out.println("meta-RM after epoch " + (e + 1) + " written to " + out);
        }
    }

    /** Writes the model directory with its training record (rewritten after every epoch, so a stopped run keeps one). */
    private static void publish(Net net, Path grm, Path out, Map<String, String> evaluation, Map<String, String> o, List<Path> collects,
                                int items, long n, long trusted, int pad) throws IOException {
        Map<String, String> record = new LinkedHashMap<>();
        record.put("seed", o.getOrDefault("seed", "12"));
        record.putAll(evaluation);
        for (String k : new String[] {"items-per-batch", "max-samples", "lr", "pairwise", "process", "check", "carry", "from", "unanimous", "synthetic", "held-out", "self-labels", "extra-layers", "freeze-base", "distill", "local", "base-layers", "local-only", "corrupt", "fit-local", "min-layer", "sharpness", "unsure", "meta-input", "vote-temperature"}) {
            if (o.containsKey(k)) record.put(k.replace('-', '_'), o.get(k));
        }
        record.put("items", Integer.toString(items));
        record.put("samples", Long.toString(n));
        record.put("trusted_samples", Long.toString(trusted));
        StringBuilder names = new StringBuilder();
        for (Path c : collects) names.append(names.isEmpty() ? "" : ", ").append(c.getFileName());
        record.put("data", "principia collect of the GRM over " + names);
        record.put("pad_token_id", Integer.toString(pad));
        Train.writeModelDir(net, grm, out, record, DType.F16);
    }

    /**
     * The batch of {@code plan}'s items from {@code from}: up to {@code maxSamples} of each item's samples, drawn by
     * {@code rnd}; {@code group} receives each sample's item index (for {@link #pairMask}).
     */
    static List<Sample> batch(List<Item> plan, int from, int itemsPerBatch, int maxSamples, Random rnd, List<Integer> group) {
        List<Sample> batch = new ArrayList<>();
        for (int i = from; i < Math.min(plan.size(), from + itemsPerBatch); i++) {
            List<Sample> s = new ArrayList<>(plan.get(i).samples);
            Collections.shuffle(s, rnd);
            for (Sample x : s.subList(0, Math.min(maxSamples, s.size()))) {
                batch.add(x);
                group.add(i);
            }
        }
        return batch;
    }

    /** One epoch's items: every mixed item, and each unanimous one with probability {@code unanimous}; shuffled. */
    static List<Item> epoch(List<Item> train, double unanimous, Random rnd) {
        List<Item> p = new ArrayList<>();
        for (Item it : train) if (it.mixed() || rnd.nextDouble() < unanimous) p.add(it);
        Collections.shuffle(p, rnd);
        return p;
    }

    /**
     * Mean BCE of the scores {@code s} [B] against labels {@code y} [B], plus {@code pairwise} times the mean over
     * the pairs in {@code mask} ([B*B], see {@link #pairMask}) of {@code log(1 + exp(-(s_i - s_j)))}.
     */
    static Tensor loss(Tensor s, Tensor y, float[] mask, double pairwise) {
        Tensor loss = torch.binary_cross_entropy_with_logits(s, y);
        float pairs = 0;
        for (float m : mask) pairs += m;
        if (pairwise > 0 && pairs > 0) {
            int b = (int) s.size(0);
            Tensor diff = s.unsqueeze(1).sub(s.unsqueeze(0));
            Tensor pl = torch.softplus(diff.neg()).mul(Net.floats(mask, b, b)).sum().div(new Scalar(pairs));
            loss = loss.add(pl.mul(new Scalar(pairwise)));
        }
        return loss;
    }

    /** [B*B] row-major: 1 where sample i is trusted, j is not, and both belong to the same item. */
    static float[] pairMask(List<Sample> batch, List<Integer> group) {
        int b = batch.size();
        float[] m = new float[b * b];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < b; j++) {
                if (group.get(i).equals(group.get(j)) && batch.get(i).trusted && !batch.get(j).trusted) m[i * b + j] = 1;
            }
        }
        return m;
    }

    /**
     * Synthetic groups that teach the check the GRM's own samples are too few to teach: for each of {@code groups}
     * training items ({@link ArithmeticTask#trainingItem}) in one presentation order, two right judgments and two with
     * one {@link Critiques.Slip} each (a column's digit off by one or two, everything after consistent with it: the
     * mistakes the GRM makes). A slipped judgment is untrusted, a right one trusted.
     */
    static List<Item> synthetic(int groups, long seed, MetaInput input, boolean[] digits) {
        Random rnd = new Random(seed);
        List<Item> out = new ArrayList<>();
        for (int g = 0; g < groups; g++) {
            ArithmeticTask.Item item = ArithmeticTask.trainingItem(rnd);
            int n = item.responses().size();
            int[] order = Train.order(n, rnd);
            List<String> presented = Train.presented(item, order);
            Conversation conv = Conversation.of(new Turn(Turn.USER, item.query()));
            List<Sample> samples = new ArrayList<>();
            for (int k = 0; k < 4; k++) {
                Critiques.Slip slip = k < 2 ? null : new Critiques.Slip(rnd.nextInt(4), (rnd.nextBoolean() ? 1 : -1) * (1 + rnd.nextInt(2)));
                Critiques.Judged j = Critiques.judge(item, order, rnd, slip);
                int[] scores = JudgmentParser.defaults().parse(j.text(), n).scores();
                int[] tokens = input.encode(conv, presented, List.of(), j.text());
                ProcessLabels.Labels l = ProcessLabels.labels(input, conv, presented, item, order, j.text(), tokens, !j.slipped(), digits);
                samples.add(new Sample(tokens, !j.slipped(), true, scores, l.perToken(), l.departs(), new Source(conv, presented, j.text())));
            }
            out.add(new Item("synthetic/" + g, n, samples));
        }
        return out;
    }

    /** One sample as {@code principia collect} wrote it; {@code id} is the collect directory's name + "/" + the item's id. */
    record Collected(String id, Conversation conversation, List<String> responses, int[] order, List<String> presented, String text,
                     int[] scores, boolean valid, boolean trusted) {
    }

    /** Reads collect's accepted (trusted) and rejected samples from each directory. */
    static List<Collected> collected(List<Path> collects) throws IOException {
        List<Collected> out = new ArrayList<>();
        for (Path collect : collects) {
            for (String file : new String[] {"accepted.jsonl", "rejected.jsonl"}) {
                try (BufferedReader r = Files.newBufferedReader(collect.resolve(file))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        JsonNode j = JSON.readTree(line);
                        List<Turn> turns = new ArrayList<>();
                        for (JsonNode t : j.get("conversation")) turns.add(new Turn(t.get("role").asText(), t.get("content").asText()));
                        List<String> responses = new ArrayList<>(), presented = new ArrayList<>();
                        for (JsonNode x : j.get("responses")) responses.add(x.asText());
                        int[] order = new int[j.get("order").size()];
                        for (int i = 0; i < order.length; i++) presented.add(responses.get(order[i] = j.get("order").get(i).asInt()));
                        int[] scores = new int[j.get("scores").size()];
                        for (int i = 0; i < scores.length; i++) scores[i] = j.get("scores").get(i).asInt();
                        out.add(new Collected(collect.getFileName() + "/" + j.get("id").asText(), new Conversation(turns), responses, order,
                                presented, j.get("text").asText(), scores, j.get("valid").asBoolean(), file.startsWith("accepted")));
                    }
                }
            }
        }
        return out;
    }

    /** The meta-RM's samples of {@code collected}, grouped by item id. */
    static List<Item> read(MetaInput input, List<Collected> collected, boolean[] digits) {
        Map<String, Item> byId = new LinkedHashMap<>();
        for (Collected c : collected) {
            int[] tokens = input.encode(c.conversation, c.presented, List.of(), c.text);
            List<Turn> turns = c.conversation.turns();
            ArithmeticTask.Item item = turns.size() == 1 ? ProcessLabels.item(turns.get(0).content(), c.responses) : null;
            ProcessLabels.Labels l = item == null ? ProcessLabels.Labels.none(tokens.length)
                    : ProcessLabels.labels(input, c.conversation, c.presented, item, c.order, c.text, tokens, c.trusted, digits);
            Sample s = new Sample(tokens, c.trusted, c.valid, c.scores, l.perToken(), l.departs(), new Source(c.conversation, c.presented, c.text));
            byId.computeIfAbsent(c.id, k -> new Item(k, c.responses.size(), new ArrayList<>())).samples.add(s);
        }
        return new ArrayList<>(byId.values());
    }

    /**
     * Right-padded inputs [B, T], each sequence's last-token flat index [B], labels [B], process labels [B, T] and
     * their weights ({@link ProcessLabels#weights}) [B, T].
     */
    static Tensor[] tensors(List<Sample> part, int pad) {
        return tensors(part, pad, 2, 2);
    }

    static Tensor[] tensors(List<Sample> part, int pad, double check, double carry) {
        int t = 0;
        for (Sample s : part) t = Math.max(t, s.tokens.length);
        int b = part.size();
        long[] in = new long[b * t], last = new long[b];
        float[] y = new float[b], py = new float[b * t];
        for (int k = 0; k < b; k++) {
            int[] s = part.get(k).tokens;
            byte[] p = part.get(k).process;
            for (int j = 0; j < t; j++) {
                in[k * t + j] = j < s.length ? s[j] : pad;
                if (j < s.length && ProcessLabels.right(p[j])) py[k * t + j] = 1;
            }
            last[k] = (long) k * t + s.length - 1;
            y[k] = part.get(k).trusted ? 1f : 0f;
        }
        return new Tensor[] {Net.longs(in, b, t), Net.longs(last, b), Net.floats(y, b), Net.floats(py, b, t), Net.floats(ProcessLabels.weights(part, t, check, carry), b, t)};
    }
}
