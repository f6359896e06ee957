package dev.principia.model;

import dev.principia.model.onnx.OnnxExporter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Tiny model specs for tests: vocab 512, GQA (4 query heads over 2 KV heads), 2 layers. */
public final class TestModels {
    private TestModels() {
    }

    /** Llama, untied lm_head, headDim = hidden / heads. */
    public static TinyModel.Spec llama() {
        return new TinyModel.Spec("llama", 512, 64, 128, 2, 4, 2, 16, 128, 10000.0, false, 1, List.of(2), 0.1);
    }

    /** Qwen2 (q/k/v biases), untied. */
    public static TinyModel.Spec qwen2() {
        return new TinyModel.Spec("qwen2", 512, 64, 128, 2, 4, 2, 16, 128, 1_000_000.0, false, null, List.of(2, 3), 0.1);
    }

    /** Qwen3 (q_norm/k_norm), tied, headDim 32 != hidden / heads. */
    public static TinyModel.Spec qwen3() {
        return new TinyModel.Spec("qwen3", 512, 64, 128, 2, 4, 2, 32, 128, 1_000_000.0, true, null, List.of(2), 0.1);
    }

    /** Generates {@code spec} into {@code dir} and exports {@code dir/model.onnx}; returns the .onnx path. */
    public static Path exported(TinyModel.Spec spec, long seed, Path dir) throws IOException {
        TinyModel.generate(spec, seed, dir);
        Path onnx = dir.resolve("model.onnx");
        OnnxExporter.exportDecoder(dir, onnx);
        return onnx;
    }
}
