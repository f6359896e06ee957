package dev.principia.backend.onnx;

import dev.principia.backend.Batch;
import dev.principia.engine.Engine;
import dev.principia.engine.EngineConfig;
import dev.principia.engine.GenerationHandle;
import dev.principia.engine.GenerationRequest;
import dev.principia.engine.SamplingParams;
import dev.principia.engine.SequenceOutput;
import dev.principia.engine.SequenceSpec;
import dev.principia.model.ModelConfig;
import dev.principia.model.TestModels;
import dev.principia.model.onnx.OnnxExporter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The backend on a GroupQueryAttention export against the same backend on the plain export of the same weights:
 * every call's logits (max|gqa - plain| / max|plain| <= 1e-4) through prompts, chunks, batched decodes past the
 * in-place buffers' capacity, forks, frees, reorders, subsets and mixed batches; and the engine's greedy tokens.
 */
class OnnxBackendGqaTest {
    private static final double BOUND = 1e-4;
    @TempDir
    Path dir;
    private final List<List<Integer>> seqs = new ArrayList<>();
    private double worst;

    private OnnxBackend[] create(ModelConfig config, int slots) throws Exception {
        TestModels.generate(config, 9, dir);
        Path plain = dir.resolve("plain.onnx"), gqa = dir.resolve("gqa.onnx");
        OnnxExporter.exportDecoder(dir, plain, new OnnxExporter.Options(false, true));
        OnnxExporter.exportDecoder(dir, gqa, new OnnxExporter.Options(false, true).withAttention(OnnxExporter.Attention.GQA));
        var options = new OnnxBackend.Options(1, slots, config.maxPositionEmbeddings());
        return new OnnxBackend[]{new OnnxBackend(plain, config, options), new OnnxBackend(gqa, config, options)};
    }

    /** Runs {@code entries} on both backends and compares every entry's logits. */
    private void both(OnnxBackend[] b, List<Batch.Entry> entries, String what) {
        float[][] plain = b[0].execute(new Batch(entries)).logits();
        float[][] gqa = b[1].execute(new Batch(entries)).logits();
        for (int i = 0; i < entries.size(); i++) {
            double maxRef = 0, maxDiff = 0;
            for (int j = 0; j < plain[i].length; j++) {
                maxRef = Math.max(maxRef, Math.abs(plain[i][j]));
                maxDiff = Math.max(maxDiff, Math.abs(plain[i][j] - gqa[i][j]));
            }
            worst = Math.max(worst, maxDiff / maxRef);
            assertTrue(maxDiff / maxRef <= BOUND, what + ", entry " + i + ": " + maxDiff / maxRef);
        }
        for (Batch.Entry e : entries) assertEquals(b[0].kvLength(e.slot()), b[1].kvLength(e.slot()));
    }

    private void prefill(OnnxBackend[] b, int slot, int n, int seed, int vocab) {
        while (seqs.size() <= slot) seqs.add(new ArrayList<>());
        seqs.get(slot).clear();
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = (seed * 97 + i * 13 + 1) % vocab;
            seqs.get(slot).add(t[i]);
        }
        both(b, List.of(new Batch.Entry(slot, t, 0)), "prefill of slot " + slot);
    }

    private void decode(OnnxBackend[] b, int[] slotIds, int step, int vocab, String what) {
        var entries = new ArrayList<Batch.Entry>();
        for (int s : slotIds) {
            int t = (s * 53 + step * 29 + 11) % vocab;
            entries.add(new Batch.Entry(s, new int[]{t}, seqs.get(s).size()));
            seqs.get(s).add(t);
        }
        both(b, entries, what + " (step " + step + ")");
    }

    @Test
    void gemma2CallsMatchThePlainGraphThroughEveryKindOfChange() throws Exception {
        assertCallsMatch(TestModels.gemma2Quirks());
    }

    @Test
    void qwen3CallsMatchThePlainGraphThroughEveryKindOfChange() throws Exception {
        assertCallsMatch(TestModels.qwen3().toConfig());
    }

    private void assertCallsMatch(ModelConfig config) throws Exception {
        int vocab = config.vocabSize();
        OnnxBackend[] b = create(config, 8);
        try (OnnxBackend plain = b[0]; OnnxBackend gqa = b[1]) {
            assertEquals("plain", plain.attention());
            assertEquals("gqa", gqa.attention());
            int[] slotIds = {0, 1, 2, 3};
            int[] lengths = {3, 9, 1, 14};
            for (int s : slotIds) prefill(b, s, lengths[s], s, vocab);
            both(b, List.of(new Batch.Entry(1, new int[]{4, 5, 6}, seqs.get(1).size())), "chunk on a past");
            seqs.get(1).addAll(List.of(4, 5, 6));
            int step = 0;
            for (; step < 40; step++) decode(b, slotIds, step, vocab, "consecutive decodes"); // past the first capacity (14 + 16)
            long packs = gqa.gqaStaging().numDecodePacks();
            assertTrue(packs >= 2 && packs <= 5, "40 consecutive decodes packed " + packs + " times: once, then on each capacity growth");

            int len1 = seqs.get(1).size();
            prefill(b, 1, len1, 40, vocab);
            decode(b, slotIds, step++, vocab, "after a refill to the same length");
            int len0 = seqs.get(0).size();
            for (OnnxBackend x : b) x.copyKv(1, 0, len0);
            seqs.set(0, new ArrayList<>(seqs.get(1).subList(0, len0)));
            decode(b, slotIds, step++, vocab, "after a fork");
            for (OnnxBackend x : b) x.freeKv(3);
            prefill(b, 3, 5, 41, vocab);
            decode(b, slotIds, step++, vocab, "after a free");
            decode(b, new int[]{2, 0, 3, 1}, step++, vocab, "reordered");
            decode(b, new int[]{2, 1}, step++, vocab, "subset");
            decode(b, slotIds, step++, vocab, "whole group again");
            var entries = new ArrayList<Batch.Entry>();
            entries.add(new Batch.Entry(0, new int[]{5, 6}, seqs.get(0).size()));
            seqs.get(0).addAll(List.of(5, 6));
            for (int s : new int[]{1, 2, 3}) {
                entries.add(new Batch.Entry(s, new int[]{9}, seqs.get(s).size()));
                seqs.get(s).add(9);
            }
            both(b, entries, "mixed batch");
            decode(b, slotIds, step, vocab, "after the mixed batch");
        }
        System.out.printf("gqa backend %s: worst %.2e%n", config.modelType(), worst);
    }

    @Test
    void engineGreedyTokensMatchThePlainGraph() throws Exception {
        ModelConfig config = TestModels.llamaQuirks();
        OnnxBackend[] b = create(config, 16);
        int n = 6, maxNew = 16;
        List<int[]> tokens = new ArrayList<>();
        for (OnnxBackend backend : b) {
            try (backend; Engine engine = new Engine("t", backend, new EngineConfig(16, 16, 4096, 64, config.maxPositionEmbeddings()), null)) {
                List<GenerationHandle> handles = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    int[] prompt = new int[5 + 7 * i];
                    for (int j = 0; j < prompt.length; j++) prompt[j] = 3 + (i * 131 + j * 17) % 500;
                    var specs = List.of(new SequenceSpec(prompt, SamplingParams.greedy(maxNew - i), null),
                            new SequenceSpec(prompt, SamplingParams.greedy(maxNew), null));
                    handles.add(engine.submit(new GenerationRequest("r" + i, specs, 0, Long.MAX_VALUE)));
                }
                for (GenerationHandle h : handles) {
                    for (SequenceOutput out : h.result().get(60, TimeUnit.SECONDS).outputs()) tokens.add(out.tokenIds());
                }
            }
        }
        int half = tokens.size() / 2;
        for (int i = 0; i < half; i++) assertArrayEquals(tokens.get(i), tokens.get(half + i), "sequence " + i);
    }
}
