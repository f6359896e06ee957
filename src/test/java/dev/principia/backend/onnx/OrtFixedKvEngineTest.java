package dev.principia.backend.onnx;

import dev.principia.backend.Backend;
import dev.principia.backend.fixedkv.RunPlanner;
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

/**
 * The real engine over the portable graph ({@link OrtFixedKvDevice} in a FixedKvBackend) and over the plain graph
 * ({@link OnnxBackend}) generates the same greedy tokens: 6 requests of 2 sequences sharing a prompt (the engine
 * forks the prompt's KV), prompts of 5..40 tokens prefilled in chunks of 16, 40 new tokens each.
 */
class OrtFixedKvEngineTest {
    @TempDir
    Path dir;

    @Test
    void greedyTokensMatchThePlainGraph() throws Exception {
        ModelConfig config = TestModels.gemma2Quirks();
        TestModels.generate(config, 9, dir);
        Path plain = dir.resolve("plain.onnx"), portable = dir.resolve("portable.onnx");
        var export = new OnnxExporter.Options(false, true);
        OnnxExporter.exportDecoder(dir, plain, export);
        OnnxExporter.exportDecoder(dir, portable, export.withAttention(OnnxExporter.Attention.PORTABLE));
        int maxPositions = config.maxPositionEmbeddings();
        var options = new OnnxBackend.Options(1, 16, maxPositions);
        List<int[]> reference = generate(new OnnxBackend(plain, config, options), maxPositions);
        List<int[]> got = generate(OrtFixedKvDevice.open(portable, config, options, new RunPlanner.Limits(16, 16)), maxPositions);
        assertEquals(12, got.size());
        for (int i = 0; i < reference.size(); i++) {
            assertEquals(40, reference.get(i).length, "sequence " + i + " ran to its limit");
            assertArrayEquals(reference.get(i), got.get(i), "sequence " + i);
        }
    }

    private static List<int[]> generate(Backend backend, int maxPositions) throws Exception {
        List<int[]> tokens = new ArrayList<>();
        try (backend; Engine engine = new Engine("t", backend, new EngineConfig(16, 16, 16 * maxPositions, 64, maxPositions), null)) {
            List<GenerationHandle> handles = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                int[] prompt = new int[5 + 7 * i];
                for (int j = 0; j < prompt.length; j++) prompt[j] = 3 + (i * 131 + j * 17) % 500;
                var specs = List.of(new SequenceSpec(prompt, SamplingParams.greedy(40), null), new SequenceSpec(prompt, SamplingParams.greedy(40), null));
                handles.add(engine.submit(new GenerationRequest("r" + i, specs, 0, Long.MAX_VALUE)));
            }
            for (GenerationHandle h : handles) {
                for (SequenceOutput out : h.result().get(120, TimeUnit.SECONDS).outputs()) tokens.add(out.tokenIds());
            }
        }
        return tokens;
    }
}
