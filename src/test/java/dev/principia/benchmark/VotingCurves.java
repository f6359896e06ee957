package dev.principia.benchmark;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import dev.principia.grm.MetaFilter;

/**
 * Voting@k and MetaRM@k from one set of draws per item, as the paper measures them: an item counts as correct only
 * if its labelled best response gets the strictly highest vote. For each k the draws are subsampled: every k-subset
 * when there are at most {@value #EXACT_SUBSETS} of them, else {@value #RANDOM_SUBSETS} random ones (seeded), and the
 * item's accuracy is the mean over subsets. Voting sums the scores of the subset's valid samples; MetaRM keeps the
 * {@code ceil(k / 2)} valid samples of the subset with the highest meta-RM scores (the server's default
 * {@code meta_keep}) and sums theirs, or, given a minimum meta score (the server's {@code meta_min_score}), the valid
 * samples scored at least that (all of them when none is), or, given a meta temperature (the server's
 * {@code meta_temperature}), every valid sample times its weight ({@link MetaFilter#weigh}). The keep and weight
 * rules are the server's own code, not copies of it.
 */
public final class VotingCurves {
    static final int EXACT_SUBSETS = 2000;
    static final int RANDOM_SUBSETS = 500;

    /** One GRM sample as the server returned it: per-response scores in request order (empty when invalid). */
    public record Draw(boolean valid, int[] scores, float metaScore) {
    }

    /** An item's draws and which response is labelled best. */
    public record ItemDraws(List<Draw> draws, int best, int numResponses) {
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /**
     * One line of the harness's {@code draws.jsonl}: {@code {"best":B,"responses":N,"draws":[{"valid":V,"scores":[...],"meta":M},...]}},
     * so that another keep rule or meta score can be tried on the same draws without drawing them again.
     */
    public static String toJsonLine(ItemDraws item) {
        var root = JSON.createObjectNode().put("best", item.best()).put("responses", item.numResponses());
        var draws = root.putArray("draws");
        for (Draw d : item.draws()) {
            var o = draws.addObject().put("valid", d.valid()).put("meta", d.metaScore());
            var scores = o.putArray("scores");
            for (int s : d.scores()) scores.add(s);
        }
        return root.toString();
    }

    /** The inverse of {@link #toJsonLine}. */
    public static ItemDraws fromJsonLine(String line) throws java.io.IOException {
        var root = JSON.readTree(line);
        List<Draw> draws = new ArrayList<>();
        for (var d : root.path("draws")) {
            int[] scores = new int[d.path("scores").size()];
            for (int i = 0; i < scores.length; i++) scores[i] = d.path("scores").get(i).asInt();
            draws.add(new Draw(d.path("valid").asBoolean(), scores, (float) d.path("meta").asDouble()));
        }
        return new ItemDraws(draws, root.path("best").asInt(), root.path("responses").asInt());
    }

    /** Mean accuracy over items and its standard error, at one k. */
    public record Point(int k, double voting, double votingStderr, double meta, double metaStderr, int items) {
    }

    private VotingCurves() {
    }

    public static List<Point> curve(List<ItemDraws> items, int[] ks, long seed) {
        return curve(items, ks, seed, null);
    }

    /** @param metaMinScore null for MetaRM@k by the server's default {@code meta_keep}, else by this {@code meta_min_score} */
    public static List<Point> curve(List<ItemDraws> items, int[] ks, long seed, Float metaMinScore) {
        return curve(items, ks, seed, metaMinScore, null);
    }

    /**
     * @param metaMinScore    null for MetaRM@k by the server's default {@code meta_keep}, else by this {@code meta_min_score}
     * @param metaTemperature null, else MetaRM@k weights the draws as the server's {@code meta_temperature} does (then
     *                        {@code metaMinScore} must be null)
     */
    public static List<Point> curve(List<ItemDraws> items, int[] ks, long seed, Float metaMinScore, Float metaTemperature) {
        if (metaMinScore != null && metaTemperature != null) throw new IllegalArgumentException("a minimum meta score or a meta temperature, not both");
        List<Point> points = new ArrayList<>();
        for (int k : ks) {
            double[] voting = new double[items.size()], meta = new double[items.size()];
            int n = 0;
            for (ItemDraws item : items) {
                if (item.draws().size() < k) continue;
                double[] acc = itemAccuracy(item, k, new Random(seed * 31 + k * 7919L + n), metaMinScore, metaTemperature);
                voting[n] = acc[0];
                meta[n] = acc[1];
                n++;
            }
            if (n == 0) continue;
            points.add(new Point(k, mean(voting, n), stderr(voting, n), mean(meta, n), stderr(meta, n), n));
        }
        return points;
    }

    /** {voting, meta} accuracy of one item at k, averaged over subsets. */
    static double[] itemAccuracy(ItemDraws item, int k, Random rnd) {
        return itemAccuracy(item, k, rnd, null);
    }

    static double[] itemAccuracy(ItemDraws item, int k, Random rnd, Float metaMinScore) {
        return itemAccuracy(item, k, rnd, metaMinScore, null);
    }

    static double[] itemAccuracy(ItemDraws item, int k, Random rnd, Float metaMinScore, Float metaTemperature) {
        int m = item.draws().size();
        double votes = 0, metas = 0;
        int subsets = 0;
        if (binomial(m, k) <= EXACT_SUBSETS) {
            int[] idx = new int[k];
            for (int i = 0; i < k; i++) idx[i] = i;
            while (true) {
                votes += correct(item, idx, false, null);
                metas += correct(item, idx, true, metaMinScore, metaTemperature);
                subsets++;
                int i = k - 1;
                while (i >= 0 && idx[i] == m - k + i) i--;
                if (i < 0) break;
                idx[i]++;
                for (int j = i + 1; j < k; j++) idx[j] = idx[j - 1] + 1;
            }
        } else {
            int[] all = new int[m];
            for (int i = 0; i < m; i++) all[i] = i;
            for (int s = 0; s < RANDOM_SUBSETS; s++) {
                for (int i = 0; i < k; i++) {
                    int j = i + rnd.nextInt(m - i);
                    int t = all[i];
                    all[i] = all[j];
                    all[j] = t;
                }
                int[] idx = Arrays.copyOf(all, k);
                votes += correct(item, idx, false, null);
                metas += correct(item, idx, true, metaMinScore, metaTemperature);
                subsets++;
            }
        }
        return new double[]{votes / subsets, metas / subsets};
    }

    /** 1 when the best response's vote over draws {@code idx} is strictly the highest, else 0. */
    static int correct(ItemDraws item, int[] idx, boolean metaFilter) {
        return correct(item, idx, metaFilter, null);
    }

    static int correct(ItemDraws item, int[] idx, boolean metaFilter, Float metaMinScore) {
        return correct(item, idx, metaFilter, metaMinScore, null);
    }

    static int correct(ItemDraws item, int[] idx, boolean metaFilter, Float metaMinScore, Float metaTemperature) {
        List<Draw> used = new ArrayList<>();
        for (int i : idx) if (item.draws().get(i).valid()) used.add(item.draws().get(i));
        if (used.isEmpty()) return 0;
        float[] meta = new float[used.size()];
        for (int i = 0; i < meta.length; i++) meta[i] = used.get(i).metaScore();
        // each rule as the weight it gives every valid draw (1 or 0 when it keeps or drops); the server's rules, not copies
        double[] weights = new double[used.size()];
        if (!metaFilter) {
            Arrays.fill(weights, 1);
        } else if (metaTemperature != null) {
            weights = MetaFilter.weigh(meta, metaTemperature);
        } else if (metaMinScore != null) {
            boolean[] kept = MetaFilter.keepAtLeast(meta, metaMinScore);
            for (int i = 0; i < kept.length; i++) weights[i] = kept[i] ? 1 : 0;
        } else {
            Integer[] byMeta = new Integer[used.size()];
            for (int i = 0; i < byMeta.length; i++) byMeta[i] = i;
            Arrays.sort(byMeta, (a, b) -> Float.compare(meta[b], meta[a])); // stable: equal scores keep draw order
            for (int r = 0; r < Math.min(byMeta.length, (idx.length + 1) / 2); r++) weights[byMeta[r]] = 1;
        }
        double[] reward = new double[item.numResponses()];
        for (int d = 0; d < used.size(); d++) for (int r = 0; r < reward.length; r++) reward[r] += weights[d] * used.get(d).scores()[r];
        for (int r = 0; r < reward.length; r++) if (r != item.best() && reward[r] >= reward[item.best()]) return 0;
        return 1;
    }

    static double binomial(int n, int k) {
        double b = 1;
        for (int i = 1; i <= k; i++) b = b * (n - k + i) / i;
        return b;
    }

    private static double mean(double[] x, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += x[i];
        return s / n;
    }

    private static double stderr(double[] x, int n) {
        if (n < 2) return 0;
        double mu = mean(x, n), ss = 0;
        for (int i = 0; i < n; i++) ss += (x[i] - mu) * (x[i] - mu);
        return Math.sqrt(ss / (n - 1) / n);
    }
}
