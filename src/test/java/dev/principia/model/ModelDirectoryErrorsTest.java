package dev.principia.model;

import dev.principia.model.onnx.OnnxExporter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Start-up failures of a model directory, through {@link ModelDirectory#open} (what the server runs
 * before serving) and {@link OnnxExporter}: each message names the file and the problem.
 */
class ModelDirectoryErrorsTest {
    /** Qwen3 shape with the real Qwen3 vocabulary (so the shipped tokenizer's ids fit), 1 narrow layer. */
    private static final TinyModel.Spec SPEC = new TinyModel.Spec("qwen3", 151936, 16, 32, 1, 2, 1, 8, 64, 1e6, true, null,
            List.of(151645), 0.02);
    @TempDir
    Path dir;

    private Path model(TinyModel.Output output) throws IOException {
        TinyModel.generate(SPEC.toConfig(), 0.02, 1, dir, output);
        for (String f : new String[]{"tokenizer.json", "tokenizer_config.json"}) Files.copy(TestTokenizers.qwen3().resolve(f), dir.resolve(f));
        return dir;
    }

    private static String failure(Executable open) {
        Throwable e = assertThrows(Exception.class, open);
        assertTrue(e instanceof IOException || e instanceof IllegalArgumentException, e.toString());
        return e.getMessage();
    }

    private static void assertMentions(String message, String... parts) {
        for (String p : parts) assertTrue(message.contains(p), "'" + p + "' missing from: " + message);
    }

    @Test
    void validDirectoryOpensAndCountsParameters() throws IOException {
        ModelDirectory m = ModelDirectory.open(model(TinyModel.Output.F32_SINGLE_FILE), false);
        assertEquals(WeightLayout.numParameters(SPEC.toConfig()), m.numParameters());
        m.tokenizer().close();
    }

    @Test
    void missingFile() throws IOException {
        model(TinyModel.Output.F32_SINGLE_FILE);
        Files.delete(dir.resolve("tokenizer.json"));
        assertMentions(failure(() -> ModelDirectory.open(dir, false)), dir.resolve("tokenizer.json").toString(), "missing");
    }

    @Test
    void missingWeights() throws IOException {
        model(TinyModel.Output.F32_SINGLE_FILE);
        Files.delete(dir.resolve(Safetensors.SINGLE_FILE));
        assertMentions(failure(() -> ModelDirectory.open(dir, false)), dir.toString(), "no weights", Safetensors.SINGLE_FILE);
    }

    @Test
    void missingShard() throws IOException {
        model(new TinyModel.Output(DType.BF16, 1 << 20));
        assertTrue(Files.exists(dir.resolve(Safetensors.INDEX_FILE)));
        Path shard = dir.resolve("model-00002-of-00002.safetensors"); // the 4.9 MB embedding fills shard 1 alone
        assertTrue(Files.exists(shard), "2 shards");
        Files.delete(shard);
        String open = failure(() -> ModelDirectory.open(dir, false));
        assertMentions(open, shard.toString(), "missing");
        assertMentions(failure(() -> OnnxExporter.exportDecoder(dir, dir.resolve("m.onnx"))), shard.toString(), "missing");
    }

    @Test
    void unknownArchitecture() throws IOException {
        model(TinyModel.Output.F32_SINGLE_FILE);
        Path config = dir.resolve(ModelConfig.FILE_NAME);
        Files.writeString(config, Files.readString(config).replace("Qwen3ForCausalLM", "MambaForCausalLM"));
        assertMentions(failure(() -> ModelDirectory.open(dir, false)), config.toString(), "unsupported architecture 'MambaForCausalLM'");
        assertMentions(failure(() -> OnnxExporter.exportDecoder(dir, dir.resolve("m.onnx"))), config.toString(), "MambaForCausalLM");
    }

    @Test
    void shapeDisagreeingWithConfig() throws IOException {
        model(TinyModel.Output.F32_SINGLE_FILE);
        Path config = dir.resolve(ModelConfig.FILE_NAME);
        Files.writeString(config, Files.readString(config).replace("\"intermediate_size\" : 32", "\"intermediate_size\" : 48"));
        String expected = "tensor 'model.layers.0.mlp.gate_proj.weight' has shape [32, 16], but config.json implies [48, 16]";
        assertMentions(failure(() -> ModelDirectory.open(dir, false)), dir.resolve(Safetensors.SINGLE_FILE).toString(), expected);
        assertMentions(failure(() -> OnnxExporter.exportDecoder(dir, dir.resolve("m.onnx"))), dir.resolve(Safetensors.SINGLE_FILE).toString(), expected);
    }

    @Test
    void corruptSafetensorsHeader() throws IOException {
        model(TinyModel.Output.F32_SINGLE_FILE);
        Path weights = dir.resolve(Safetensors.SINGLE_FILE);
        try (RandomAccessFile f = new RandomAccessFile(weights.toFile(), "rw")) {
            f.seek(12);
            f.write("@@@@".getBytes()); // inside the JSON header
        }
        assertMentions(failure(() -> ModelDirectory.open(dir, false)), weights.toString(), "corrupt safetensors header");
        try (RandomAccessFile f = new RandomAccessFile(weights.toFile(), "rw")) {
            f.seek(0);
            f.write(new byte[]{(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0, 0, 0, 0}); // header length
        }
        assertMentions(failure(() -> OnnxExporter.exportDecoder(dir, dir.resolve("m.onnx"))), weights.toString(),
                "corrupt safetensors header", "header length");
    }
}
