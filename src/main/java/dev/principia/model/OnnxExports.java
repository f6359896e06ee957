package dev.principia.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HexFormat;
import java.util.function.Consumer;

import dev.principia.model.onnx.OnnxExporter;

/**
 * Finds or makes the ONNX graph of a model directory: {@code onnx/model.onnx} inside it when present
 * (pre-exported), else an export under the cache directory keyed by the directory's path and its
 * {@code config.json}'s modification time, made once.
 */
public final class OnnxExports {
    public static final String ONNX_SUBDIR = "onnx";
    public static final String ONNX_FILE = "model.onnx";
    /**
     * Serving exports compute logits for the last position only: the engine samples from nothing else,
     * and a 512-token prefill chunk over a 152k vocabulary would otherwise produce 300 MB of logits.
     */
    public static final OnnxExporter.Options SERVING = new OnnxExporter.Options(false, true);

    private OnnxExports() {
    }

    public static Path ensure(ModelDirectory model, Path cacheDir, Consumer<String> log) throws IOException {
        Path inside = model.dir().resolve(ONNX_SUBDIR).resolve(ONNX_FILE);
        if (Files.isRegularFile(inside)) return inside;
        Path abs = model.dir().toAbsolutePath().normalize();
        long mtime = Files.getLastModifiedTime(abs.resolve(ModelConfig.FILE_NAME)).toMillis();
        String key = HexFormat.of().toHexDigits(abs.toString().hashCode()) + "-" + Long.toHexString(mtime);
        Path target = cacheDir.resolve("exports").resolve(model.name() + "-" + key).resolve(ONNX_FILE);
        if (Files.isRegularFile(target)) return target;
        log.accept("exporting " + model.dir() + " to ONNX at " + target);
        Files.createDirectories(target.getParent());
        Path tmp = target.resolveSibling(ONNX_FILE + ".partial");
        OnnxExporter.exportDecoder(model.dir(), tmp, SERVING);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        return target;
    }
}
