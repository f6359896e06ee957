package dev.principia.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import dev.principia.benchmark.VotingCurves;
import dev.principia.grm.PromptCodec;
import dev.principia.grm.MetaInput;
import dev.principia.grm.PromptTemplate;
import dev.principia.model.ChatTemplate;
import dev.principia.model.ModelConfig;
import dev.principia.model.Tokenizer;

/** What a meta-RM would do for the server on held-out items, and why: the report {@link MetaTrain} prints per epoch. */
final class MetaEval {
    private static final int[] KS = {1, 2, 4, 8, 16};
    /** The keep thresholds ({@code meta_min_score}) a report sweeps at k = 8. */
    private static final float[] THRESHOLDS = {-8, -6, -4, -3, -2, -1, 1, 2};

    private MetaEval() {
    }

    /**
     * Scores every held-out sample and prints what a server would make of them: sample accuracy, the share of
     * (trusted, untrusted) pairs within an item that the meta-RM orders right, and Voting@k against MetaRM@k.
     */
    static Map<String, String> evaluate(Net net, List<MetaTrain.Item> test, int pad, long seed) {
        List<VotingCurves.ItemDraws> draws = new ArrayList<>(), minDraws = new ArrayList<>(), oracle = new ArrayList<>();
        long right = 0, total = 0, pairsRight = 0, pairs = 0, departs = 0, caughtAtSlip = 0, okTokens = 0, okPositive = 0, after = 0, afterNegative = 0;
        try (NoGradGuard g = new NoGradGuard()) {
            for (MetaTrain.Item it : test) {
                float[] v = new float[it.samples().size()], minimum = new float[v.length];
                for (int from = 0; from < v.length; from += 16) {
                    List<MetaTrain.Sample> part = it.samples().subList(from, Math.min(v.length, from + 16));
                    try (PointerScope scope = new PointerScope()) {
                        Tensor[] t = MetaTrain.tensors(part, pad);
                        Tensor states = net.hidden(t[0]);
                        Tensor s = net.classify(states, t[1]).contiguous();
                        float[] chunk = new float[part.size()];
                        s.data_ptr_float().get(chunk);
                        System.arraycopy(chunk, 0, v, from, chunk.length);
                        int len = (int) t[0].size(1);
                        float[] all = new float[part.size() * len];
                        net.scores(states).contiguous().data_ptr_float().get(all);
                        for (int k = 0; k < part.size(); k++) {
                            byte[] p = part.get(k).process();
                            float min = Float.POSITIVE_INFINITY;
                            boolean judgment = false;
                            for (int j = 0; j < p.length; j++) {
                                judgment |= p[j] != ProcessLabels.NONE;
                                if (judgment) min = Math.min(min, all[k * len + j]);
                                if (p[j] == 0) {
                                    after++;
                                    if (all[k * len + j] < 0) afterNegative++;
                                }
                                if (p[j] == ProcessLabels.RIGHT_DIGIT) {
                                    okTokens++;
                                    if (all[k * len + j] > 0) okPositive++;
                                } else if (p[j] == ProcessLabels.SLIP) {
                                    departs++;
                                    if (all[k * len + j] < 0) caughtAtSlip++;
                                }
                            }
                            minimum[from + k] = judgment ? min : chunk[k];
                        }
                    }
                }
                List<VotingCurves.Draw> d = new ArrayList<>(), dm = new ArrayList<>(), dor = new ArrayList<>();
                for (int i = 0; i < v.length; i++) {
                    MetaTrain.Sample s = it.samples().get(i);
                    if ((v[i] > 0) == s.trusted()) right++;
                    total++;
                    for (int j = 0; j < v.length; j++) {
                        if (s.trusted() && !it.samples().get(j).trusted()) {
                            pairs++;
                            if (v[i] > v[j]) pairsRight++;
                        }
                    }
                    d.add(new VotingCurves.Draw(s.valid(), s.valid() ? s.scores() : new int[0], v[i]));
                    dm.add(new VotingCurves.Draw(s.valid(), s.valid() ? s.scores() : new int[0], minimum[i]));
                    dor.add(new VotingCurves.Draw(s.valid(), s.valid() ? s.scores() : new int[0], s.departs() ? -1f : 1f));
                }
                oracle.add(new VotingCurves.ItemDraws(dor, 0, it.responses()));
                draws.add(new VotingCurves.ItemDraws(d, 0, it.responses()));
                minDraws.add(new VotingCurves.ItemDraws(dm, 0, it.responses()));
            }
        }
        Map<String, String> record = new LinkedHashMap<>();
        System.out.printf(Locale.ROOT, "  samples classified right at score > 0: %.4f; within-item (trusted, untrusted) pairs ordered right: %.4f (%d pairs)%n", (double) right / total,
                pairs == 0 ? Double.NaN : (double) pairsRight / pairs, pairs);
        if (departs > 0) {
            System.out.printf(Locale.ROOT, "  process: score < 0 at the slip of %.4f of %d untrusted samples that depart; > 0 at %.4f of right-so-far digits%n",
                    (double) caughtAtSlip / departs, departs, (double) okPositive / Math.max(1, okTokens));
            System.out.printf(Locale.ROOT, "  process: score < 0 at %.4f of the tokens after a slip; the minimum over the judgment's tokens, were it the score, would give",
                    (double) afterNegative / Math.max(1, after));
            for (VotingCurves.Point p : VotingCurves.curve(minDraws, KS, seed)) System.out.printf(Locale.ROOT, " MetaRM@%d %.1f %%", p.k(), 100 * p.meta());
            System.out.println();
            record.put("held_out_min_drop_flagged_at_8", keepThresholds("  process: voting over only the samples whose minimum is", minDraws, seed));
            record.put("held_out_caught_at_slip", String.format(Locale.ROOT, "%.4f", (double) caughtAtSlip / departs));
        }
        record.put("held_out_accuracy_at_0", String.format(Locale.ROOT, "%.4f", (double) right / total));
        record.put("held_out_pair_accuracy", String.format(Locale.ROOT, "%.4f", pairs == 0 ? Double.NaN : (double) pairsRight / pairs));
        VotingCurves.Point ceiling = dropFlagged(oracle, seed);
        System.out.printf(Locale.ROOT, "  a perfect checker (drops every sample whose working departs from the right one), 8 of each item's draws: %.1f %% (voting %.1f %%)%n",
                100 * ceiling.meta(), 100 * ceiling.voting());
        record.put("held_out_drop_flagged_at_8", keepThresholds("  voting over only the samples scored", draws, seed));
        for (VotingCurves.Point p : VotingCurves.curve(draws, KS, seed)) {
            System.out.printf(Locale.ROOT, "  k %2d: Voting@k %.1f %%  MetaRM@k %.1f %%  (%d items)%n", p.k(), 100 * p.voting(), 100 * p.meta(), p.items());
            record.put("held_out_voting_at_" + p.k(), String.format(Locale.ROOT, "%.4f", p.voting()));
            record.put("held_out_meta_at_" + p.k(), String.format(Locale.ROOT, "%.4f", p.meta()));
        }
        return record;
    }

    /**
     * Prints MetaRM@8 under the server's {@code meta_min_score} rule at 0 and at each of {@link #THRESHOLDS}, against
     * Voting@8 on the same subsets; returns the figure at 0 for the training record.
     */
    private static String keepThresholds(String what, List<VotingCurves.ItemDraws> items, long seed) {
        VotingCurves.Point atZero = dropFlagged(items, seed);
        System.out.printf(Locale.ROOT, "%s >= 0 (all when none is), 8 of each item's draws: %.1f %% (voting %.1f %%); at other thresholds:",
                what, 100 * atZero.meta(), 100 * atZero.voting());
        for (float x : THRESHOLDS) System.out.printf(Locale.ROOT, " %s %.1f %%", x, 100 * VotingCurves.curve(items, new int[] {8}, seed, x).get(0).meta());
        System.out.println();
        return String.format(Locale.ROOT, "%.4f", atZero.meta());
    }

    /**
     * The GRM's own surprise as a meta score, for comparison: each held-out sample scored three ways from the GRM's
     * log-probabilities of the digits its working wrote (its own prompt, as the server sampled it): their sum, their
     * minimum, and minus the number of digits the GRM would not have written itself. Prints, per statistic, the share
     * of within-item pairs it orders right (ties count half), and MetaRM@k with it; and how many trusted and untrusted
     * samples hold a digit the GRM would not have written. A meta-RM that only reads what the GRM believes
     * can do no better than this; a GRM trained apart (another seed) tells how much an independent checker knows.
     */
    static void grmSurprise(Path grm, List<MetaTrain.Collected> collected, List<MetaTrain.Item> test, long seed, boolean metaContext) throws IOException {
        Set<String> held = new HashSet<>();
        for (MetaTrain.Item it : test) held.add(it.id());
        Map<String, List<MetaTrain.Collected>> raw = new HashMap<>();
        for (MetaTrain.Collected c : collected) if (held.contains(c.id())) raw.computeIfAbsent(c.id(), k -> new ArrayList<>()).add(c);
        ModelConfig config = ModelConfig.read(grm);
        Net net = new Net(config, seed);
        net.initFrom(grm);
        PromptTemplate template = PromptTemplate.loadDefault(), metaTemplate = PromptTemplate.loadResource(PromptTemplate.META_RESOURCE);
        String[] names = {"the sum of log-probabilities of its working's digits", "the lowest log-probability of a digit",
                "minus the number of digits it would not have written itself (argmax)"};
        List<List<VotingCurves.ItemDraws>> draws = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        long[] pairs = new long[3];
        double[] pairsRight = new double[3];
        long[] flagged = new long[2], counted = new long[2]; // [trusted, untrusted]: samples with a digit it would not write
        List<Float> lowest = new ArrayList<>();
        List<Integer> trustedSide = new ArrayList<>();
        int vocab = config.vocabSize();
        try (Tokenizer tokenizer = Tokenizer.load(grm.resolve("tokenizer.json")); NoGradGuard g = new NoGradGuard()) {
            PromptCodec codec = PromptCodec.of(tokenizer, ChatTemplate.read(grm.resolve("tokenizer_config.json")));
            boolean[] digit = ProcessLabels.digits(tokenizer, vocab);
            for (MetaTrain.Item it : test) {
                List<MetaTrain.Collected> samples = raw.get(it.id());
                float[][] v = new float[3][samples.size()];
                for (int i = 0; i < samples.size(); i++) {
                    MetaTrain.Collected c = samples.get(i);
                    MetaTrain.Source src = new MetaTrain.Source(c.conversation(), c.presented(), c.text());
                    SelfLabels.Span span = metaContext ? SelfLabels.inMetaInput(MetaInput.template(codec, metaTemplate), src)
                            : SelfLabels.inGrmTurn(codec, tokenizer, template, src);
                    long[] ids = new long[span.tokens().length];
                    for (int k = 0; k < ids.length; k++) ids[k] = span.tokens()[k];
                    float min = 0;
                    try (PointerScope scope = new PointerScope()) {
                        Tensor lp = torch.log_softmax(net.logits(net.hidden(Net.longs(ids, 1, ids.length))), -1).contiguous();
                        float[] flat = new float[ids.length * vocab];
                        lp.data_ptr_float().get(flat);
                        for (int pos = Math.max(1, span.from()); pos < span.to(); pos++) {
                            if (!digit[(int) ids[pos]]) continue;
                            int row = (pos - 1) * vocab;
                            float written = flat[row + (int) ids[pos]];
                            v[0][i] += written;
                            min = Math.min(min, written);
                            for (int t = 0; t < vocab; t++) {
                                if (flat[row + t] > written) {
                                    v[2][i] -= 1;
                                    break;
                                }
                            }
                        }
                    }
                    v[1][i] = min;
                    int side = c.trusted() ? 0 : 1;
                    lowest.add(min);
                    trustedSide.add(side);
                    counted[side]++;
                    if (v[2][i] < 0) flagged[side]++;
                }
                for (int m = 0; m < 3; m++) {
                    List<VotingCurves.Draw> d = new ArrayList<>();
                    for (int a = 0; a < samples.size(); a++) {
                        MetaTrain.Collected c = samples.get(a);
                        d.add(new VotingCurves.Draw(c.valid(), c.valid() ? c.scores() : new int[0], v[m][a]));
                        for (int b = 0; b < samples.size(); b++) {
                            if (c.trusted() && !samples.get(b).trusted()) {
                                pairs[m]++;
                                pairsRight[m] += v[m][a] > v[m][b] ? 1 : v[m][a] == v[m][b] ? 0.5 : 0;
                            }
                        }
                    }
                    draws.get(m).add(new VotingCurves.ItemDraws(d, 0, it.responses()));
                }
            }
        }
        for (int m = 0; m < 3; m++) {
            System.out.printf(Locale.ROOT, "the GRM's %s as the meta score, on the %d held-out items:%n", names[m], test.size());
            System.out.printf(Locale.ROOT, "  within-item (trusted, untrusted) pairs ordered right, ties counted half: %.4f (%d pairs)%n", pairsRight[m] / Math.max(1, pairs[m]), pairs[m]);
            for (VotingCurves.Point p : VotingCurves.curve(draws.get(m), KS, seed)) {
                System.out.printf(Locale.ROOT, "  k %2d: Voting@k %.1f %%  MetaRM@k %.1f %%  (%d items)%n", p.k(), 100 * p.voting(), 100 * p.meta(), p.items());
            }
        }
        System.out.printf(Locale.ROOT, "  samples with a digit the GRM would not have written: %.1f %% of %d trusted, %.1f %% of %d untrusted%n",
                100.0 * flagged[0] / Math.max(1, counted[0]), counted[0], 100.0 * flagged[1] / Math.max(1, counted[1]), counted[1]);
        VotingCurves.Point dropped = dropFlagged(draws.get(2), seed);
        System.out.printf(Locale.ROOT, "  voting over only the samples without such a digit (all when every one has one), 8 of each item's draws: %.1f %% (voting %.1f %%)%n",
                100 * dropped.meta(), 100 * dropped.voting());
        // a softer check: flag a sample only where the checker gives a digit of its working less than p
        StringBuilder sweep = new StringBuilder();
        for (double p : new double[] {0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005}) {
            float threshold = (float) Math.log(p);
            long[] below = new long[2];
            for (int i = 0; i < lowest.size(); i++) if (lowest.get(i) < threshold) below[trustedSide.get(i)]++;
            VotingCurves.Point at = VotingCurves.curve(draws.get(1), new int[] {8}, seed, threshold).get(0);
            sweep.append(String.format(Locale.ROOT, "%n    p %.3f: flags %.1f %% trusted / %.1f %% untrusted, voting over the unflagged %.1f %%", p,
                    100.0 * below[0] / Math.max(1, counted[0]), 100.0 * below[1] / Math.max(1, counted[1]), 100 * at.meta()));
        }
        System.out.printf(Locale.ROOT, "  flagged where a digit of the working gets less than p (8 of each item's draws):%s%n", sweep);
    }

    /**
     * At k = 8: MetaRM@8 by the server's {@code meta_min_score 0} (vote only the draws scored at least 0, all when
     * none is: a keep rule for a checker that flags) and Voting@8, on the same subsets of each item's draws.
     */
    static VotingCurves.Point dropFlagged(List<VotingCurves.ItemDraws> items, long seed) {
        return VotingCurves.curve(items, new int[] {8}, seed, 0f).get(0);
    }
}
