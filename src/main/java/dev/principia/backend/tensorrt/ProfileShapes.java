package dev.principia.backend.tensorrt;

import dev.principia.backend.fixedkv.RunPlanner;
import dev.principia.model.onnx.OnnxExporter;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * TensorRT optimization profiles for a portable decoder graph or a classifier graph, derived from the engine limits.
 * A profile bounds each dimension separately, but a call is bounded by its token count {@code B * S}: one profile
 * {@code B <= maxRows, S <= maxTokens} would make TensorRT size activations (and the attention scores
 * {@code [B, heads, S, C]}) for {@code maxRows * maxTokens} tokens. So the sequence axis is split into buckets
 * {@code S in [lo, hi]} with {@code lo > hi / BUCKET_RATIO}, each with {@code B <= maxTokens / lo}: every profile's
 * {@code B_max * S_max} stays below {@code BUCKET_RATIO * maxTokens}, and every call {@code (B, S)} with
 * {@code B <= maxRows} and {@code B * S <= maxTokens} fits the bucket holding its S.
 *
 * <p>Decoder: profile 0 is decode ({@code S = 1}, {@code B in [1, min(maxRows, maxTokens)]}), then the prefill buckets
 * ({@code S >= 2}, longest first). Inputs {@code input_ids}, {@code position_ids} {@code [B, S]} and every
 * {@code past_key_values.{i}.key/value} {@code [B, kvHeads, C, headDim]} with C fixed at the cache capacity.
 * {@link #limits()} are the {@link RunPlanner.Limits} the decoder's planner must use: they produce only calls that
 * fit. Classifier: buckets from {@code S = 1} up to the longest sequence, inputs {@code input_ids} and
 * {@code attention_mask} {@code [B, S]}; calls are grouped by {@link #groups}.
 */
public final class ProfileShapes {
    /** Ratio of a bucket's longest to shortest S (at most): bounds each profile at 4x a full step's tokens. */
    public static final int BUCKET_RATIO = 4;

    /** min/opt/max of one axis. */
    public record Range(int min, int opt, int max) {
        public Range {
            if (min < 1 || opt < min || max < opt) throw new IllegalArgumentException("need 1 <= min <= opt <= max: " + min + "/" + opt + "/" + max);
        }

        boolean contains(int v) {
            return v >= min && v <= max;
        }
    }

    /** One optimization profile: the rows axis B and the sequence axis S. */
    public record Profile(Range rows, Range seq) {
        public boolean fits(int numRows, int seqLen) {
            return rows.contains(numRows) && seq.contains(seqLen);
        }
    }

    /** Dimensions of one input tensor in one profile. */
    public record TensorShape(String name, long[] min, long[] opt, long[] max) {
        String describe() {
            return name + Arrays.toString(min) + Arrays.toString(opt) + Arrays.toString(max);
        }
    }

    /** Sequences {@code [from, from + count)} padded to {@code seqLen}, run in profile {@code profile}. */
    public record Group(int from, int count, int seqLen, int profile) {
    }

    private final String kind;
    private final List<Profile> profiles;
    private final RunPlanner.Limits limits;
    private final List<String> tokenInputs;
    private final List<String> kvInputs;
    private final long[] kvTail;

    private ProfileShapes(String kind, List<Profile> profiles, RunPlanner.Limits limits, List<String> tokenInputs, List<String> kvInputs,
                          long[] kvTail) {
        this.kind = kind;
        this.profiles = List.copyOf(profiles);
        this.limits = limits;
        this.tokenInputs = tokenInputs;
        this.kvInputs = kvInputs;
        this.kvTail = kvTail;
    }

    /**
     * Profiles of a portable decoder graph.
     *
     * @param maxNumSeqs          rows of one call and slots of the cache ({@code principia.engine.max-num-seqs})
     * @param maxNumBatchedTokens tokens of one call ({@code principia.engine.max-num-batched-tokens})
     * @param capacity            C: positions each slot holds (the longest sequence)
     */
    public static ProfileShapes decoder(int maxNumSeqs, int maxNumBatchedTokens, int capacity, int numLayers, int numKvHeads, int headDim) {
        if (maxNumSeqs < 1 || maxNumBatchedTokens < 1 || capacity < 1 || numLayers < 1 || numKvHeads < 1 || headDim < 1) {
            throw new IllegalArgumentException("decoder limits and shape must be positive: seqs " + maxNumSeqs + ", tokens " + maxNumBatchedTokens
                    + ", capacity " + capacity + ", layers " + numLayers + ", kv heads " + numKvHeads + ", head dim " + headDim);
        }
        int decodeRows = Math.min(maxNumSeqs, maxNumBatchedTokens);
        List<Profile> profiles = new ArrayList<>();
        profiles.add(new Profile(new Range(1, decodeRows, decodeRows), new Range(1, 1, 1)));
        profiles.addAll(buckets(maxNumSeqs, maxNumBatchedTokens, 2, Math.min(maxNumBatchedTokens, capacity)));
        List<String> kv = new ArrayList<>();
        for (int i = 0; i < numLayers; i++) {
            kv.add(OnnxExporter.pastKey(i));
            kv.add(OnnxExporter.pastValue(i));
        }
        return new ProfileShapes("decoder", profiles, new RunPlanner.Limits(maxNumSeqs, maxNumBatchedTokens), List.of("input_ids", "position_ids"),
                List.copyOf(kv), new long[] {numKvHeads, capacity, headDim});
    }

    /**
     * Profiles of a classifier graph: sequences of up to {@code maxPositions} tokens, at most {@code maxRows} of them
     * and (unless one sequence alone is longer) {@code maxTokens} padded tokens per call.
     */
    public static ProfileShapes classifier(int maxRows, int maxTokens, int maxPositions) {
        if (maxRows < 1 || maxTokens < 1 || maxPositions < 1) {
            throw new IllegalArgumentException("classifier limits must be positive: rows " + maxRows + ", tokens " + maxTokens + ", positions " + maxPositions);
        }
        return new ProfileShapes("classifier", buckets(maxRows, maxTokens, 1, maxPositions), new RunPlanner.Limits(maxRows, maxTokens),
                List.of("input_ids", "attention_mask"), List.of(), new long[0]);
    }

    /** Buckets of S from {@code sMax} down to {@code sMin}, each with {@code B <= max(1, min(maxRows, maxTokens / lo))}. */
    private static List<Profile> buckets(int maxRows, int maxTokens, int sMin, int sMax) {
        List<Profile> out = new ArrayList<>();
        for (int hi = sMax; hi >= sMin; ) {
            int lo = Math.max(sMin, hi / BUCKET_RATIO + 1);
            int rowsMax = Math.max(1, Math.min(maxRows, maxTokens / lo));
            int rowsOpt = Math.max(1, Math.min(rowsMax, maxTokens / hi));
            out.add(new Profile(new Range(1, rowsOpt, rowsMax), new Range(lo, hi, hi)));
            hi = lo - 1;
        }
        return out;
    }

    public List<Profile> profiles() {
        return profiles;
    }

    /** The planner limits calls must keep to (decoder: the engine's rows and tokens per step). */
    public RunPlanner.Limits limits() {
        return limits;
    }

    /** Largest B of any profile: rows of the logits buffer. */
    public int maxRows() {
        return profiles.stream().mapToInt(p -> p.rows().max()).max().orElseThrow();
    }

    /** The first profile a call of {@code rows x seqLen} fits; {@link IllegalArgumentException} when none does. */
    public int profileFor(int rows, int seqLen) {
        int p = fitting(rows, seqLen);
        if (p >= 0) return p;
        throw new IllegalArgumentException("no " + kind + " optimization profile holds a call of " + rows + " rows x " + seqLen + " tokens: " + describe());
    }

    /** The input tensors of profile {@code index} with their min/opt/max dimensions. */
    public List<TensorShape> tensors(int index) {
        Profile p = profiles.get(index);
        List<TensorShape> out = new ArrayList<>();
        for (String name : tokenInputs) {
            out.add(new TensorShape(name, new long[] {p.rows().min(), p.seq().min()}, new long[] {p.rows().opt(), p.seq().opt()},
                    new long[] {p.rows().max(), p.seq().max()}));
        }
        for (String name : kvInputs) {
            out.add(new TensorShape(name, kv(p.rows().min()), kv(p.rows().opt()), kv(p.rows().max())));
        }
        return out;
    }

    /** {@code [rows, kvHeads, C, headDim]}. */
    public long[] kvDims(int rows) {
        if (kvTail.length == 0) throw new IllegalStateException("a classifier has no KV inputs");
        return kv(rows);
    }

    private long[] kv(int rows) {
        return new long[] {rows, kvTail[0], kvTail[1], kvTail[2]};
    }

    /**
     * Classifier calls for sequences of {@code lengths}, in order: each group is padded to its longest sequence and
     * grows while the group still fits a profile.
     */
    public List<Group> groups(int[] lengths) {
        List<Group> out = new ArrayList<>();
        int from = 0;
        while (from < lengths.length) {
            int longest = lengths[from];
            int profile = profileFor(1, longest);
            int count = 1;
            while (from + count < lengths.length) {
                int next = Math.max(longest, lengths[from + count]);
                int p = fitting(count + 1, next);
                if (p < 0 || (long) (count + 1) * next > Math.max(limits.maxTokens(), next)) break;
                longest = next;
                profile = p;
                count++;
            }
            out.add(new Group(from, count, longest, profile));
            from += count;
        }
        return out;
    }

    /**
     * The {@code [count, seqLen]} row-major {@code input_ids} (right-padded with 0) of group {@code g}, or its
     * {@code attention_mask} (1 on tokens, 0 on padding).
     */
    public static long[] padded(List<int[]> sequences, Group g, boolean mask) {
        long[] out = new long[g.count() * g.seqLen()];
        for (int r = 0; r < g.count(); r++) {
            int[] seq = sequences.get(g.from() + r);
            for (int j = 0; j < seq.length; j++) out[r * g.seqLen() + j] = mask ? 1 : seq[j];
        }
        return out;
    }

    private int fitting(int rows, int seqLen) {
        for (int i = 0; i < profiles.size(); i++) if (profiles.get(i).fits(rows, seqLen)) return i;
        return -1;
    }

    /** Canonical text of every profile's input shapes: part of the plan-cache key. */
    public String describe() {
        StringBuilder b = new StringBuilder(kind).append(" limits ").append(limits.maxRows()).append('x').append(limits.maxTokens());
        for (int i = 0; i < profiles.size(); i++) {
            b.append(" | profile ").append(i).append(':');
            for (TensorShape t : tensors(i)) b.append(' ').append(t.describe());
        }
        return b.toString();
    }

    @Override
    public String toString() {
        return kind + " profiles " + profiles;
    }
}
