package dev.principia.backend.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.principia.backend.BackendException;
import dev.principia.backend.ClassifierBackend;
import dev.principia.model.ModelConfig;
import dev.principia.model.onnx.OnnxExporter;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Scores whole token sequences with a {@code *ForSequenceClassification} model exported by
 * {@link OnnxExporter#exportClassifier} (inputs {@code input_ids}, {@code attention_mask} [B, S]; output
 * {@code logits} [B, numLabels] read at each row's last token), on ONNX Runtime's CPU provider. This is
 * the head of a scalar reward model such as the SPCT meta RM: one logit per sequence.
 *
 * <p>Each call pads its sequences on the right (pad id 0, hidden by {@code attention_mask}) to the longest
 * of a group of at most {@code maxBatchSize}, and runs one ONNX Runtime call per group. Results keep the
 * input order. No KV cache is kept: every call is a full prefill.
 *
 * <p>Thread-safe: it holds no mutable state, and ONNX Runtime sessions accept concurrent runs.
 */
public final class OnnxClassifier implements ClassifierBackend {

    /**
     * @param intraOpThreads ONNX Runtime intra-op threads; 0 lets the runtime choose
     * @param maxBatchSize   sequences per ONNX Runtime call
     */
    public record Options(int intraOpThreads, int maxBatchSize) {
        public Options {
            if (intraOpThreads < 0) throw new IllegalArgumentException("intraOpThreads must be >= 0, got " + intraOpThreads);
            if (maxBatchSize <= 0) throw new IllegalArgumentException("maxBatchSize must be > 0, got " + maxBatchSize);
        }
    }

    private final OrtEnvironment env;
    private final OrtSession session;
    private final ModelConfig config;
    private final Options options;

    /** Opens {@code onnxFile}; fails naming the file when it is not a classifier graph for {@code config}. */
    public OnnxClassifier(Path onnxFile, ModelConfig config, Options options) {
        if (!config.isSequenceClassifier()) {
            throw new IllegalArgumentException(config.architecture() + " has no classification head; OnnxClassifier needs a *ForSequenceClassification model");
        }
        this.config = config;
        this.options = options;
        this.env = OrtEnvironment.getEnvironment();
        this.session = OrtSessions.open(onnxFile, options.intraOpThreads(), false);
        var inputs = session.getInputNames();
        if (!inputs.equals(java.util.Set.of("input_ids", "attention_mask")) || !session.getOutputNames().contains("logits")) {
            close();
            throw new IllegalArgumentException(onnxFile + ": not a classifier graph: inputs " + inputs + ", outputs "
                    + session.getOutputNames() + " (expected input_ids, attention_mask -> logits)");
        }
    }

    @Override
    public int maxPositions() {
        return config.maxPositionEmbeddings();
    }

    @Override
    public String name() {
        return "onnxruntime-cpu";
    }

    @Override
    public int numLabels() {
        return config.numLabels();
    }

    /** One logit per sequence, for {@code numLabels == 1} models (scalar reward / meta RM). */
    public float[] score(List<int[]> sequences) {
        if (config.numLabels() != 1) {
            throw new IllegalStateException("score() needs a single-logit head; this model has num_labels " + config.numLabels() + ", use logits()");
        }
        float[][] l = logits(sequences);
        float[] out = new float[l.length];
        for (int i = 0; i < l.length; i++) out[i] = l[i][0];
        return out;
    }

    /**
     * Logits [sequences.size()][numLabels], row i for sequence i. Each sequence holds 1 to
     * {@code max_position_embeddings} token ids in {@code [0, vocab)}; errors name the offending sequence.
     */
    @Override
    public float[][] logits(List<int[]> sequences) {
        for (int i = 0; i < sequences.size(); i++) validate(i, sequences.get(i));
        float[][] out = new float[sequences.size()][];
        for (int from = 0; from < sequences.size(); from += options.maxBatchSize()) {
            List<int[]> group = sequences.subList(from, Math.min(sequences.size(), from + options.maxBatchSize()));
            float[][] r = run(group);
            System.arraycopy(r, 0, out, from, r.length);
        }
        return out;
    }

    private void validate(int i, int[] seq) {
        if (seq == null || seq.length == 0) throw new IllegalArgumentException("sequence " + i + " is empty");
        if (seq.length > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("sequence " + i + " has " + seq.length + " tokens, more than max_position_embeddings "
                    + config.maxPositionEmbeddings());
        }
        for (int t : seq) {
            if (t < 0 || t >= config.vocabSize()) {
                throw new IllegalArgumentException("sequence " + i + ": token id " + t + " outside [0, " + config.vocabSize() + ")");
            }
        }
    }

    /** One call: ids and mask [B, S], right-padded; returns logits [B][numLabels]. */
    private float[][] run(List<int[]> group) {
        int b = group.size(), s = 0;
        for (int[] seq : group) s = Math.max(s, seq.length);
        long[] ids = new long[b * s], mask = new long[b * s];
        for (int i = 0; i < b; i++) {
            int[] seq = group.get(i);
            for (int j = 0; j < seq.length; j++) {
                ids[i * s + j] = seq[j];
                mask[i * s + j] = 1;
            }
        }
        Map<String, OnnxTensor> in = new HashMap<>();
        try {
            in.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[]{b, s}));
            in.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[]{b, s}));
            try (OrtSession.Result r = session.run(in)) {
                FloatBuffer fb = ((OnnxTensor) r.get("logits").orElseThrow()).getFloatBuffer();
                float[][] out = new float[b][config.numLabels()];
                for (float[] row : out) fb.get(row);
                return out;
            }
        } catch (OrtException e) {
            throw new BackendException("ONNX Runtime classifier call failed (batch " + b + ", tokens " + s + "): " + e.getMessage(), e);
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

    @Override
    public void close() {
        OrtSessions.close(session);
    }
}
