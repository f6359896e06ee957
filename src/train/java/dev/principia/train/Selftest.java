package dev.principia.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

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
import dev.principia.model.ReferenceDecoder;
import dev.principia.model.Tokenizer;

/**
 * {@code train.sh selftest} (run by .ci/run): the trainer's parts against slow references, in about a minute.
 * <ul>
 *   <li>every synthetic judgment parses, scores right responses 8-10 and wrong ones 1-3, in presented order;</li>
 *   <li>the BPE tokenizer keeps every digit one token and round-trips the corpus through HF tokenizers;</li>
 *   <li>a few steps on one batch lower the loss; a checkpoint restores the same logits;</li>
 *   <li>the exported model directory, read by the float64 {@link ReferenceDecoder} the ONNX export is tested
 *       against, gives the logits (and the classifier's score) the torch model computed: training and serving
 *       mean the same network;</li>
 *   <li>the meta-RM's loss (BCE plus the within-item pairwise term) matches a float64 reference, and its synthetic
 *       slipped judgments parse and state a wrong result;</li>
 *   <li>the meta-RM's process labels turn from 1 to 0 exactly at a slipped digit;</li>
 *   <li>{@link LocalCheck}: the teacher read from a deeper twin's taps is the base, its labels and weights are what
 *       they say, the distillation loss matches a float64 KL, and the constructed minimum layer gives the score a
 *       float64 soft minimum predicts.</li>
 * </ul>
 */
final class Selftest {
    private static final ObjectMapper JSON_READER = new ObjectMapper();

    private Selftest() {
    }

    static void run(Path work) throws Exception {
        Files2.deleteTree(work);
        Files.createDirectories(work);
        PromptTemplate grm = PromptTemplate.loadDefault(), meta = PromptTemplate.loadResource(PromptTemplate.META_RESOURCE);
        ChatTemplate chat = ChatTemplate.of(Bpe.CHAT_TEMPLATE, null, Bpe.IM_END);
        Random rnd = new Random(3);
        List<String> corpus = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            ArithmeticTask.Item item = ArithmeticTask.trainingItem(rnd);
            int n = item.responses().size();
            int[] order = new int[n];
            for (int j = 0; j < n; j++) order[j] = (j + i) % n;
            String judgment = Critiques.judge(item, order, rnd);
            var parsed = JudgmentParser.defaults().parse(judgment, n);
            check(parsed.valid(), "judgment parses: " + judgment);
            for (int j = 0; j < n; j++) {
                int s = parsed.scores()[j];
                boolean right = item.right(order[j]);
                check(right ? s >= 8 : s <= 3, "score " + s + " of presented response " + (j + 1) + " (right=" + right + "): " + judgment);
                check(judgment.contains("Response " + (j + 1) + " says " + item.values().get(order[j]) + (right ? ": right." : ": wrong.")),
                        "verdict line of response " + (j + 1) + ": " + judgment);
            }
            if (i < 300) {
                Train.Drawn d = Train.draw(new Random(i), grm, meta);
                corpus.add(chat.render(List.of(Map.of("role", "user", "content", d.user())), true, Map.of()) + d.judgment() + Bpe.IM_END);
            }
        }
        Path tok = work.resolve("tokenizer");
        Files.createDirectories(tok);
        Bpe.Vocab vocab = Bpe.train(corpus, 400, 4);
        Bpe.write(vocab, tok, 1024);
        try (Tokenizer t = Tokenizer.load(tok.resolve("tokenizer.json"))) {
            for (int d = 0; d <= 9; d++) check(t.encode(Integer.toString(d)).length == 1, "digit " + d + " is one token");
            check(t.encode("1234567890").length == 10, "digits never merge");
            for (String text : corpus.subList(0, 50)) {
                String body = text.substring(text.lastIndexOf("assistant\n") + "assistant\n".length(), text.length() - Bpe.IM_END.length());
                check(t.decode(t.encode(body)).equals(body), "round trip of " + body);
            }
            check(t.tokenId(Bpe.IM_END) == vocab.specialId(Bpe.IM_END), "<|im_end|> keeps its id");
        }
        System.out.printf("selftest: 2000 judgments, tokenizer of %d tokens: ok%n", vocab.size());

        int vocabSize = (vocab.size() + 63) / 64 * 64, pad = vocab.specialId(Bpe.EOT), eos = vocab.specialId(Bpe.IM_END);
        ObjectMapper json = new ObjectMapper();
        ModelConfig config = ModelConfig.parse(json.readTree(Train.llamaConfig(vocabSize, 64, 128, 2, 4, 2, eos, pad, false)));
        Net net = new Net(config, 5);
        long[] ids;
        List<int[]> seqs = new ArrayList<>();
        try (Tokenizer t = Tokenizer.load(tok.resolve("tokenizer.json"))) {
            for (String text : corpus.subList(0, 4)) seqs.add(t.encode(text.replace(Bpe.IM_END, "").replace(Bpe.IM_START, "")));
        }
        int len = 48;
        ids = new long[4 * len];
        for (int b = 0; b < 4; b++) for (int j = 0; j < len; j++) ids[b * len + j] = seqs.get(b)[j];
        double first = 0, last = 0;
        for (int step = 1; step <= 8; step++) {
            try (PointerScope scope = new PointerScope()) {
                Tensor x = Net.longs(ids, 4, len);
                Tensor in = x.narrow(1, 0, len - 1), target = x.narrow(1, 1, len - 1).contiguous();
                Tensor l = torch.cross_entropy(net.logits(net.hidden(in)).reshape(-1, vocabSize), target.view(-1));
                double loss = l.item_float();
                if (step == 1) first = loss;
                last = loss;
                l.backward();
                net.step(step, 3e-3, 0.1, 1.0);
            }
        }
        check(last < first - 0.5, "8 steps on one batch lower the loss: " + first + " -> " + last);
        System.out.printf("selftest: loss %.3f -> %.3f in 8 steps: ok%n", first, last);

        net.saveCheckpoint(work.resolve("checkpoint"), 8, "selftest");
        Net restored = new Net(config, 99);
        check(restored.loadCheckpoint(work.resolve("checkpoint")) == 8, "checkpoint step");
        int[] probe = seqs.get(0);
        float[][] a = logits(net, probe, vocabSize), b = logits(restored, probe, vocabSize);
        for (int i = 0; i < a.length; i++) check(java.util.Arrays.equals(a[i], b[i]), "restored logits equal at " + i);

        Map<String, String> record = new LinkedHashMap<>();
        record.put("seed", "5");
        record.put("pad_token_id", Integer.toString(pad));
        record.put("steps", "8");
        Path model = work.resolve("model");
        Train.writeModelDir(net, tok, model, record, DType.F32);
        double[][] ref = new ReferenceDecoder(model).forward(probe);
        double worst = 0;
        for (int i = 0; i < ref.length; i++) worst = Math.max(worst, ReferenceDecoder.relativeError(java.util.Arrays.copyOf(a[i], config.vocabSize()), ref[i]));
        check(worst < 1e-4, "torch logits vs the float64 reference of the exported directory: " + worst);
        System.out.printf("selftest: exported GRM vs float64 reference, worst relative error %.2e: ok%n", worst);

        // grm --init: continuing an exported model takes its tokenizer, shape, weights and step (export-only stops there)
        Path continued = work.resolve("continued");
        Train.grm(Map.of("init", model.toString(), "work", work.resolve("continue-work").toString(), "out", continued.toString(),
                "steps", "20", "export-only", "true"));
        check(JSON_READER.readTree(continued.resolve("training.json").toFile()).path("steps").asText().equals("8"), "--init continues at the model's step");
        check(Files.readString(continued.resolve("tokenizer.json")).equals(Files.readString(model.resolve("tokenizer.json"))), "--init keeps the tokenizer");
        double[][] again = new ReferenceDecoder(continued).forward(probe);
        double drift = 0;
        for (int i = 0; i < ref.length; i++) {
            float[] f = new float[again[i].length];
            for (int j = 0; j < f.length; j++) f[j] = (float) again[i][j];
            drift = Math.max(drift, ReferenceDecoder.relativeError(f, ref[i]));
        }
        check(drift < 1e-2, "--init starts from the model's weights (fp16 export): " + drift);
        System.out.printf("selftest: grm --init continues the exported model at step 8 (logits within %.1e): ok%n", drift);
        try {
            Train.grm(Map.of("init", model.toString(), "work", work.resolve("continue-work").toString(), "out", continued.toString(),
                    "steps", "20", "export-only", "true", "hidden", "96"));
            check(false, "--init with a --hidden that disagrees was accepted");
        } catch (IllegalArgumentException expected) {
            check(expected.getMessage().contains("--hidden 96 disagrees with --init's hidden_size 64"), expected.getMessage());
        }

        ModelConfig cls = ModelConfig.parse(json.readTree(Train.llamaConfig(vocabSize, 64, 128, 2, 4, 2, eos, pad, true)));
        Net classifier = new Net(cls, 6);
        classifier.initFrom(model);
        float score = lastScore(classifier, probe);
        Path metaDir = work.resolve("meta");
        Train.writeModelDir(classifier, tok, metaDir, record, DType.F32);
        double refScore = new ReferenceDecoder(metaDir).classify(probe)[0];
        check(Math.abs(score - refScore) <= 1e-4 * Math.max(1, Math.abs(refScore)), "classifier score " + score + " vs reference " + refScore);
        System.out.printf("selftest: exported meta-RM score %.5f vs reference %.5f: ok%n", score, refScore);

        // --extra-layers: a deeper classifier from the same model, its new layers' outputs zeroed, starts as the shallow one
        ModelConfig deeper = ModelConfig.parse(json.readTree(Train.llamaConfig(vocabSize, 64, 128, 3, 4, 2, eos, pad, true)));
        Net deep = new Net(deeper, 7);
        deep.initFrom(metaDir);
        deep.zeroOutputs(2);
        float deepScore = lastScore(deep, probe);
        Path deepDir = work.resolve("meta-deeper");
        Map<String, String> conversational = new LinkedHashMap<>(record);
        conversational.put("meta_input", "conversation"); // what --meta-input conversation records
        conversational.put("vote_temperature", "2"); // and --vote-temperature 2
        Train.writeModelDir(deep, tok, deepDir, conversational, DType.F32);
        check(MetaInput.Form.declaredBy(deepDir) == MetaInput.Form.CONVERSATION && MetaInput.Form.declaredBy(metaDir) == MetaInput.Form.TEMPLATE,
                "the exported directory declares the form it was trained to read");
        check(dev.principia.grm.MetaTemperature.declaredBy(deepDir) == 2f && dev.principia.grm.MetaTemperature.declaredBy(metaDir) == 0f,
                "the exported directory declares the default vote it was given, and none when given none");
        double deepRef = new ReferenceDecoder(deepDir).classify(probe)[0];
        check(Math.abs(deepScore - score) <= 1e-5 * Math.max(1, Math.abs(score)), "extra layers start as the base: " + deepScore + " vs " + score);
        check(Math.abs(deepScore - deepRef) <= 1e-4 * Math.max(1, Math.abs(deepRef)), "3-layer classifier " + deepScore + " vs reference " + deepRef);
        System.out.printf("selftest: a classifier with an extra layer starts as its base (%.5f vs %.5f): ok%n", deepScore, score);
        frozenBase(deep, probe);
        localCheck(metaDir, deeper, net, probe, vocabSize);
        minLayer(metaDir, ModelConfig.parse(json.readTree(Train.llamaConfig(vocabSize, 64, 128, 4, 4, 2, eos, pad, true))), probe);
        opWeights(grm, meta);
        metaContext(tok, chat, grm, meta);
        metaLoss();
        slips();
        processLabels(tok, chat);
        System.out.println("selftest passed");
    }

    /** --freeze-base: a step moves the layers above the base and the head, and leaves the base's weights bit for bit. */
    private static void frozenBase(Net deep, int[] probe) {
        deep.freezeBelow(2);
        Map<String, float[]> before = new LinkedHashMap<>();
        for (String name : deep.params.keySet()) before.put(name, deep.values(name));
        for (int step = 1; step <= 2; step++) {
            try (PointerScope scope = new PointerScope()) {
                long[] row = new long[probe.length];
                for (int i = 0; i < row.length; i++) row[i] = probe[i];
                Tensor s = deep.classify(deep.hidden(Net.longs(row, 1, row.length)), Net.longs(new long[] {row.length - 1}, 1));
                s.sub(new org.bytedeco.pytorch.Scalar(5.0)).pow(new org.bytedeco.pytorch.Scalar(2)).sum().backward();
                deep.step(step, 1e-2, 0.1, 1.0);
            }
        }
        int moved = 0, kept = 0;
        for (String name : deep.params.keySet()) {
            boolean base = name.equals("model.embed_tokens.weight") || name.startsWith("model.layers.0.") || name.startsWith("model.layers.1.");
            boolean same = java.util.Arrays.equals(before.get(name), deep.values(name));
            check(base == same, name + (base ? " is frozen and must not move" : " is trained and must move"));
            if (same) kept++;
            else moved++;
        }
        System.out.printf("selftest: --freeze-base keeps %d base tensors bit for bit and trains the other %d: ok%n", kept, moved);
    }

    /**
     * --distill / --local: the teacher read from the taps of a deeper frozen twin is the base itself (argmax equal to the
     * causal model's at every token), the local labels say exactly where a token is that argmax, matches and
     * mismatches share the weight equally, and with the new layer's output still zero the distillation loss is the
     * KL from the base's distribution to the uniform one, computed here in float64.
     */
    private static void localCheck(Path metaDir, ModelConfig deeper, Net base, int[] probe, int vocab) throws Exception {
        Net deep = new Net(deeper, 8);
        deep.initFrom(metaDir);
        deep.zeroOutputs(2);
        deep.freezeBelow(2);
        LocalCheck check = new LocalCheck(deep, 2, allTrue(deeper.vocabSize()), 1, 0);
        float[][] ref = logits(base, probe, vocab);
        int t = probe.length;
        byte[] process = new byte[t];
        java.util.Arrays.fill(process, (byte) 1);
        process[0] = ProcessLabels.NONE;
        List<MetaTrain.Sample> batch = List.of(new MetaTrain.Sample(probe, true, true, new int[0], process, false, null));
        long[] row = new long[t];
        for (int i = 0; i < t; i++) row[i] = probe[i];
        try (PointerScope scope = new PointerScope()) {
            Tensor[] taps = check.taps();
            deep.hidden(Net.longs(row, 1, t), taps);
            long[] argmax = new long[t];
            torch.argmax(check.baseLogits(deep, taps), new org.bytedeco.pytorch.LongOptional(-1), false).contiguous().data_ptr_long().get(argmax);
            int matches = 0;
            double kl = 0;
            for (int p = 0; p < t; p++) {
                int best = 0;
                for (int v = 1; v < vocab; v++) if (ref[p][v] > ref[p][best]) best = v;
                check(argmax[p] == best, "the teacher read from the taps is the base: argmax at " + p + " is " + argmax[p] + ", the base's " + best);
                if (p + 1 < t && probe[p + 1] == best) matches++;
                if (p + 1 < t) {
                    double max = Double.NEGATIVE_INFINITY, z = 0, e = 0;
                    for (int v = 0; v < vocab; v++) max = Math.max(max, ref[p][v]);
                    for (int v = 0; v < vocab; v++) z += Math.exp(ref[p][v] - max);
                    for (int v = 0; v < vocab; v++) {
                        double lp = ref[p][v] - max - Math.log(z);
                        e += Math.exp(lp) * (lp + Math.log(vocab));
                    }
                    kl += e / (t - 1);
                }
            }
            LocalCheck.Targets targets = LocalCheck.targets(argmax, batch, t, allTrue(deeper.vocabSize()));
            double wMatch = 0, wMismatch = 0;
            for (int p = 1; p < t; p++) {
                check(targets.y()[p] == (probe[p] == argmax[p - 1] ? 1 : 0), "local label at " + p);
                if (targets.y()[p] == 1) wMatch += targets.w()[p];
                else wMismatch += targets.w()[p];
            }
            check(matches > 0 && matches < t - 1, "the probe has both matches and mismatches: " + matches + " of " + (t - 1));
            // the first token is unchecked (nothing before it): an "other" token, a quarter of the weight on its own
            check(targets.y()[0] == 1 && Math.abs(targets.w()[0] - 0.25) < 1e-6, "the first token is unchecked, weight " + targets.w()[0]);
            check(Math.abs(wMatch - 0.25) < 1e-5 && Math.abs(wMismatch - 0.5) < 1e-5, "mismatches half the weight, matches a quarter: " + wMismatch + ", " + wMatch);
            float loss = check.loss(deep, taps, Net.longs(row, 1, t), batch, t).item_float();
            check(Math.abs(loss - kl) <= 1e-3 * Math.max(1, kl), "distillation at a zero layer is KL(base || uniform): " + loss + " vs " + kl);
            System.out.printf("selftest: --distill/--local: teacher = base at %d tokens, %d of %d digits match, KL %.4f vs %.4f: ok%n", t, matches, t - 1, loss, kl);
        }
    }

    /**
     * --min-layer: the constructed layer makes the classifier's last-token score what a float64 reference computes
     * from the check layer's output: a soft minimum of the local check over every token (softmax of -sharpness times
     * the check, the slow rotary pair's cosine included), added along the head's direction.
     */
    private static void minLayer(Path metaDir, ModelConfig four, int[] probe) throws java.io.IOException {
        Net net = new Net(four, 9); // layers 2 and 3 random: a check layer that is not the identity
        net.initFrom(metaDir);
        LocalCheck check = new LocalCheck(net, 2, allTrue(four.vocabSize()), 0, 1);
        byte[] process = new byte[probe.length];
        List<MetaTrain.Sample> one = List.of(new MetaTrain.Sample(probe, true, true, new int[0], process, false, null));
        double sharpness = 4, gain = 3;
        check.minLayer(net, one, 0, sharpness, gain);
        int t = probe.length, hidden = four.hiddenSize(), heads = four.numAttentionHeads(), headDim = four.headDim();
        long[] row = new long[t];
        for (int i = 0; i < t; i++) row[i] = probe[i];
        float[] x = new float[t * hidden], norm = net.values("model.layers.3.input_layernorm.weight"), w = net.values("score.weight");
        float[] gFinal = net.values("model.norm.weight"), q = net.values("model.layers.3.self_attn.q_proj.weight"), o = net.values("model.layers.3.self_attn.o_proj.weight");
        float score;
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            Tensor[] taps = check.taps();
            Tensor ids = Net.longs(row, 1, t);
            net.hidden(ids, taps).contiguous();
            taps[2].contiguous().data_ptr_float().get(x);
            score = net.classify(net.hidden(ids), Net.longs(new long[] {t - 1}, 1)).item_float();
        }
        double[] local = new double[t];
        double[][] h = new double[t][hidden];
        for (int p = 0; p < t; p++) {
            double ms = 0;
            for (int j = 0; j < hidden; j++) ms += (double) x[p * hidden + j] * x[p * hidden + j];
            double r = Math.sqrt(ms / hidden + four.rmsNormEps());
            for (int j = 0; j < hidden; j++) {
                h[p][j] = norm[j] * x[p * hidden + j] / r;
                local[p] += w[j] * h[p][j];
            }
        }
        int slow = headDim / 2 - 1;
        double q15 = 0, theta = 1.0 / Math.pow(four.ropeTheta(), 2.0 * slow / headDim);
        for (int j = 0; j < hidden; j++) q15 += q[slow * hidden + j] * h[t - 1][j];
        double max = Double.NEGATIVE_INFINITY, z = 0, soft = 0;
        double[] logit = new double[t];
        for (int s = 0; s < t; s++) {
            logit[s] = q15 * (-sharpness * Math.sqrt(headDim) * local[s]) * Math.cos((t - 1 - s) * theta) / Math.sqrt(headDim);
            max = Math.max(max, logit[s]);
        }
        for (int s = 0; s < t; s++) z += Math.exp(logit[s] - max);
        for (int s = 0; s < t; s++) soft += Math.exp(logit[s] - max) / z * local[s];
        double[] out = new double[hidden];
        double ms = 0, ref = 0;
        for (int j = 0; j < hidden; j++) {
            out[j] = x[(t - 1) * hidden + j] + o[j * heads * headDim] * soft;
            ms += out[j] * out[j];
        }
        double r = Math.sqrt(ms / hidden + four.rmsNormEps());
        for (int j = 0; j < hidden; j++) ref += w[j] * gFinal[j] * out[j] / r;
        double min = Double.POSITIVE_INFINITY;
        for (double l : local) min = Math.min(min, l);
        check(soft < min + 1.0, "the soft minimum " + soft + " is near the least local check " + min);
        check(Math.abs(score - ref) <= 1e-3 * Math.max(1, Math.abs(ref)), "min layer score " + score + " vs float64 reference " + ref);
        System.out.printf("selftest: --min-layer: last-token score %.5f vs reference %.5f (soft minimum %.3f, least check %.3f): ok%n", score, ref, soft, min);
    }

    private static boolean[] allTrue(int n) {
        boolean[] b = new boolean[n];
        java.util.Arrays.fill(b, true);
        return b;
    }

    /** --op-weights: a stream of only the weighted operations, in the task's proportions among them; bad specs refused. */
    private static void opWeights(PromptTemplate grm, PromptTemplate meta) {
        double[] w = Train.opWeights("0,0,3,1");
        Random rnd = new Random(17);
        int mul = 0, addSub = 0;
        for (int i = 0; i < 400; i++) {
            String query = Train.draw(rnd, grm, meta, w).source().conversation().query();
            if (query.contains(" times ")) mul++;
            else if (query.startsWith("Compute ")) addSub++;
            else check(false, "--op-weights 0,0,3,1 drew " + query);
        }
        check(mul > 250 && mul < 350, "about three quarters multiplication: " + mul + " of 400");
        for (String bad : new String[] {"1,1,1", "0,0,0,0", "1,-1,1,1", "1,NaN,1,1"}) {
            boolean refused;
            try {
                Train.opWeights(bad);
                refused = false;
            } catch (IllegalArgumentException e) {
                refused = true;
            }
            check(refused, "--op-weights " + bad + " is refused");
        }
        System.out.printf("selftest: --op-weights 0,0,3,1 drew %d multiplications and %d of A + B - C in 400: ok%n", mul, addSub);
    }

    /** --meta-context: the example is the meta-RM's own input, cut where the judgment starts and after its critique. */
    private static void metaContext(Path tok, ChatTemplate chat, PromptTemplate grm, PromptTemplate meta) throws Exception {
        try (Tokenizer t = Tokenizer.load(tok.resolve("tokenizer.json"))) {
            PromptCodec codec = PromptCodec.of(t, chat);
            for (int i = 0; i < 20; i++) {
                Train.Drawn d = Train.draw(new Random(100 + i), grm, meta);
                Train.Example ex = Train.metaContextExample(codec, meta, d);
                int[] whole = codec.encodeUserTurn(d.meta(), false);
                int[] joined = java.util.Arrays.copyOf(ex.prompt(), ex.prompt().length + ex.target().length);
                System.arraycopy(ex.target(), 0, joined, ex.prompt().length, ex.target().length);
                check(java.util.Arrays.equals(joined, java.util.Arrays.copyOf(whole, joined.length)), "prompt + target is a prefix of the meta-RM's input");
                String judgment = d.judgment(), target = t.decode(ex.target());
                String working = judgment.substring(0, judgment.indexOf("Scores:"));
                check(working.startsWith(target) && working.substring(target.length()).isBlank(), "the target is the principles and critique: " + target);
                check(t.decode(ex.prompt()).endsWith("[The Begin of Evaluation]\n"), "the prompt ends where the judgment starts");
            }
        }
        System.out.println("selftest: --meta-context examples are the meta-RM's input, the loss on the principles and critique: ok");
    }

    /** A classifier's score at the last token of {@code tokens}. */
    private static float lastScore(Net classifier, int[] tokens) {
        try (NoGradGuard g = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            long[] row = new long[tokens.length];
            for (int i = 0; i < row.length; i++) row[i] = tokens[i];
            return classifier.classify(classifier.hidden(Net.longs(row, 1, row.length)), Net.longs(new long[] {row.length - 1}, 1)).item_float();
        }
    }

    /** Slipped judgments (the meta-RM's synthetic negatives) parse, and are wrong exactly when the slip landed. */
    private static void slips() {
        Random rnd = new Random(9);
        int slipped = 0;
        for (int i = 0; i < 2000; i++) {
            ArithmeticTask.Item item = ArithmeticTask.trainingItem(rnd);
            int n = item.responses().size();
            int[] order = new int[n];
            for (int j = 0; j < n; j++) order[j] = (j + i) % n;
            Critiques.Judged j = Critiques.judge(item, order, rnd, new Critiques.Slip(rnd.nextInt(4), rnd.nextBoolean() ? 1 : -2));
            check(JudgmentParser.defaults().parse(j.text(), n).valid(), "slipped judgment parses: " + j.text());
            boolean statesExpected = j.text().contains(" = " + item.expected() + ".\nResponse");
            check(statesExpected != j.slipped(), "slipped " + j.slipped() + " but the stated result is " + (statesExpected ? "" : "not ")
                    + "the expected " + item.expected() + ": " + j.text());
            if (j.slipped()) slipped++;
        }
        check(slipped > 1000, "slips landed in " + slipped + " of 2000 judgments");
        System.out.printf("selftest: %d of 2000 slipped judgments parse and state a wrong result: ok%n", slipped);
    }

    /**
     * {@link ProcessLabels} reads every query form back into the item it came from; a right judgment is labelled 1
     * (digits {@code RIGHT_DIGIT}) from its first token to its scores; a slipped one as the right one up to the token
     * of the slipped digit (the first token where it departs from the right judgment), {@code SLIP} there, 0 after it
     * to its scores.
     */
    private static void processLabels(Path tok, ChatTemplate chat) throws Exception {
        for (MetaInput.Form form : MetaInput.Form.values()) processLabels(tok, chat, form);
    }

    private static void processLabels(Path tok, ChatTemplate chat, MetaInput.Form form) throws Exception {
        PromptTemplate meta = PromptTemplate.loadResource(PromptTemplate.META_RESOURCE), grm = PromptTemplate.loadDefault();
        Random rnd = new Random(13);
        int slipped = 0;
        try (Tokenizer t = Tokenizer.load(tok.resolve("tokenizer.json"))) {
            PromptCodec codec = PromptCodec.of(t, chat);
            MetaInput input = MetaInput.of(form, codec, meta, grm, PromptTemplate.loadResource(PromptTemplate.PRINCIPLES_RESOURCE));
            boolean[] digits = ProcessLabels.digits(t, 1024);
            for (int i = 0; i < 400; i++) {
                ArithmeticTask.Item item = ArithmeticTask.trainingItem(rnd);
                check(item.equals(ProcessLabels.item(item.query(), item.responses())), "item read back from " + item.query() + " " + item.responses());
                int[] order = Train.order(item.responses().size(), rnd);
                List<String> presented = Train.presented(item, order);
                Conversation conv = Conversation.of(new Turn(Turn.USER, item.query()));
                String right = Critiques.judge(item, order, rnd);
                int[] rightTokens = input.encode(conv, presented, List.of(), right);
                if (form == MetaInput.Form.CONVERSATION) {
                    // the meta-RM reads every token of the judgment where the GRM wrote it: its prompt, then the working
                    int[] written = SelfLabels.inGrmTurn(codec, t, grm, new MetaTrain.Source(conv, presented, right)).tokens();
                    check(ProcessLabels.commonPrefix(rightTokens, written) == written.length, "the conversation form extends the GRM's context: " + right);
                }
                ProcessLabels.Labels rl = ProcessLabels.labels(input, conv, presented, item, order, right, rightTokens, true, digits);
                byte[] r = rl.perToken();
                int first = indexOf(r, (byte) 1), scores = Math.max(lastIndexOf(r, (byte) 1), lastIndexOf(r, ProcessLabels.RIGHT_DIGIT)) + 1;
                check(indexOf(r, (byte) 0) < 0 && indexOf(r, ProcessLabels.SLIP) < 0 && !rl.departs(),
                        "a right judgment never departs: " + right);
                for (int k = first; k < scores; k++) {
                    boolean digit = t.decode(new int[] {rightTokens[k]}).matches("\\d");
                    check(r[k] == (digit ? ProcessLabels.RIGHT_DIGIT : 1), "right label at " + k + " of " + right);
                }
                check(t.decode(java.util.Arrays.copyOfRange(rightTokens, first, rightTokens.length)).strip().startsWith("Principles:"),
                        "labels start at the judgment: " + right);
                check(t.decode(java.util.Arrays.copyOfRange(rightTokens, scores, rightTokens.length)).strip().startsWith("Scores:"),
                        "labels end at the scores: " + right);
                int[] rightSpan = SelfLabels.span(input, new MetaTrain.Source(conv, presented, right), rightTokens);
                check(java.util.Arrays.equals(r, SelfLabels.labels(rightTokens, rightSpan[0], rightSpan[1], digits, -1)),
                        "a checker's labels of an unflagged judgment are the right working's: " + right);
                int grmDigits = 0;
                for (int id : t.encode(SelfLabels.working(right))) if (digits[id]) grmDigits++;
                check(grmDigits == SelfLabels.digitsIn(rightTokens, rightSpan[0], rightSpan[1], digits),
                        "the working alone and inside the meta-RM input hold the same digits: " + right);
                Critiques.Judged j = Critiques.judge(item, order, rnd, new Critiques.Slip(rnd.nextInt(4), rnd.nextBoolean() ? 1 : -1));
                if (!j.slipped()) continue;
                slipped++;
                int[] tokens = input.encode(conv, presented, List.of(), j.text());
                ProcessLabels.Labels sl = ProcessLabels.labels(input, conv, presented, item, order, j.text(), tokens, false, digits);
                byte[] l = sl.perToken();
                int zero = indexOf(l, ProcessLabels.SLIP);
                check(sl.departs() && zero > first && zero == ProcessLabels.commonPrefix(tokens, rightTokens)
                        && t.decode(new int[] {tokens[zero]}).matches("\\d"), "the first 0 is the slipped digit: " + j.text());
                int end = lastIndexOf(l, (byte) 0) + 1;
                check(t.decode(java.util.Arrays.copyOfRange(tokens, end, tokens.length)).strip().startsWith("Scores:"), "labels end at the scores: " + j.text());
                for (int k = 0; k < l.length; k++) {
                    byte want = k < first || k >= end ? ProcessLabels.NONE : k < zero ? r[k] : k == zero ? ProcessLabels.SLIP : 0;
                    check(l[k] == want, "label at " + k + " of " + j.text());
                }
                int[] span = SelfLabels.span(input, new MetaTrain.Source(conv, presented, j.text()), tokens);
                check(java.util.Arrays.equals(l, SelfLabels.labels(tokens, span[0], span[1], digits, SelfLabels.digitsIn(tokens, span[0], zero, digits))),
                        "a checker flagging the slipped digit labels the judgment as the right working does: " + j.text());
            }
        }
        check(slipped > 150, "slips landed in " + slipped + " of 400 judgments");
        System.out.printf("selftest: process labels of 400 right and %d slipped judgments, and a checker's (SelfLabels) on the same, %s form: ok%n",
                slipped, form.configName());
    }

    private static int indexOf(byte[] a, byte v) {
        for (int i = 0; i < a.length; i++) if (a[i] == v) return i;
        return -1;
    }

    private static int lastIndexOf(byte[] a, byte v) {
        for (int i = a.length - 1; i >= 0; i--) if (a[i] == v) return i;
        return -1;
    }

    /** The meta-RM's loss (BCE plus the within-item pairwise term) against a float64 reference written out by hand. */
    private static void metaLoss() {
        Random rnd = new Random(5);
        List<MetaTrain.Sample> batch = new ArrayList<>();
        List<Integer> group = new ArrayList<>();
        float[] s = new float[10], y = new float[10];
        for (int i = 0; i < 10; i++) {
            boolean trusted = rnd.nextBoolean();
            batch.add(new MetaTrain.Sample(new int[] {1}, trusted, true, new int[] {9}, new byte[] {ProcessLabels.NONE}, false, null));
            group.add(i / 4);
            s[i] = (float) rnd.nextGaussian() * 2;
            y[i] = trusted ? 1 : 0;
        }
        float[] mask = MetaTrain.pairMask(batch, group);
        double bce = 0, pair = 0;
        int pairs = 0;
        for (int i = 0; i < 10; i++) {
            bce += -(y[i] * Math.log(1 / (1 + Math.exp(-s[i]))) + (1 - y[i]) * Math.log(1 - 1 / (1 + Math.exp(-s[i]))));
            for (int j = 0; j < 10; j++) {
                boolean counted = group.get(i).equals(group.get(j)) && y[i] == 1 && y[j] == 0;
                check(mask[i * 10 + j] == (counted ? 1 : 0), "pair mask at " + i + "," + j);
                if (counted) {
                    pair += Math.log1p(Math.exp(-(s[i] - s[j])));
                    pairs++;
                }
            }
        }
        double want = bce / 10 + 0.7 * pair / pairs;
        double got;
        try (PointerScope scope = new PointerScope()) {
            got = MetaTrain.loss(Net.floats(s, 10), Net.floats(y, 10), mask, 0.7).item_double();
        }
        check(pairs > 0 && Math.abs(got - want) < 1e-5 * Math.max(1, want), "meta-RM loss " + got + " vs reference " + want + " (" + pairs + " pairs)");
        System.out.printf("selftest: meta-RM loss (BCE + within-item pairs, %d pairs) %.6f vs reference %.6f: ok%n", pairs, got, want);
        float[] ps = new float[24], py = new float[24], pm = new float[24];
        double sum = 0, weights = 0;
        int counted = 0;
        for (int i = 0; i < 24; i++) {
            ps[i] = (float) rnd.nextGaussian() * 3;
            py[i] = rnd.nextBoolean() ? 1 : 0;
            pm[i] = rnd.nextInt(3) == 0 ? 0 : rnd.nextFloat();
            if (pm[i] > 0) {
                double p = 1 / (1 + Math.exp(-ps[i]));
                sum += -pm[i] * (py[i] * Math.log(p) + (1 - py[i]) * Math.log(1 - p));
                weights += pm[i];
                counted++;
            }
        }
        sum /= weights;
        double processGot;
        try (PointerScope scope = new PointerScope()) {
            processGot = ProcessLabels.loss(Net.floats(ps, 4, 6), Net.floats(py, 4, 6), Net.floats(pm, 4, 6)).item_double();
        }
        check(Math.abs(processGot - sum) < 1e-5, "process loss " + processGot + " vs reference " + sum);
        System.out.printf("selftest: weighted process loss over %d of 24 tokens %.6f vs reference %.6f: ok%n", counted, processGot, sum);
        byte n = ProcessLabels.NONE, d = ProcessLabels.RIGHT_DIGIT, x = ProcessLabels.SLIP;
        List<MetaTrain.Sample> labelled = List.of(
                new MetaTrain.Sample(new int[6], true, true, new int[] {9}, new byte[] {n, 1, d, d, 1, n}, false, null),
                new MetaTrain.Sample(new int[6], false, true, new int[] {1}, new byte[] {n, 1, d, x, 0, 0}, true, null));
        float[] w = ProcessLabels.weights(labelled, 6, 2, 4);
        double[] share = new double[5];
        for (int k = 0; k < 2; k++) {
            for (int j = 0; j < 6; j++) {
                byte l = labelled.get(k).process()[j];
                if (l == n) check(w[k * 6 + j] == 0, "unlabelled tokens weigh nothing");
                else share[l] += w[k * 6 + j];
            }
        }
        check(Math.abs(share[d] - 1) < 1e-6 && Math.abs(share[x] - 1) < 1e-6 && Math.abs(share[1] - 2) < 1e-6 && Math.abs(share[0] - 2) < 1e-6,
                "process weight shares " + java.util.Arrays.toString(share));
        check(Math.abs(ProcessLabels.weights(labelled.subList(0, 1), 6, 2, 4)[2] - 1) < 1e-6, "right digits take the check share alone");
    }

    private static float[][] logits(Net net, int[] tokens, int vocab) {
        try (NoGradGuard g = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            long[] row = new long[tokens.length];
            for (int i = 0; i < row.length; i++) row[i] = tokens[i];
            Tensor l = net.logits(net.hidden(Net.longs(row, 1, row.length))).contiguous();
            float[] flat = new float[tokens.length * vocab];
            l.data_ptr_float().get(flat);
            float[][] out = new float[tokens.length][];
            for (int i = 0; i < tokens.length; i++) out[i] = java.util.Arrays.copyOfRange(flat, i * vocab, (i + 1) * vocab);
            return out;
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError("selftest failed: " + what);
    }
}
