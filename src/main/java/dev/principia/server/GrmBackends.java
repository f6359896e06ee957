package dev.principia.server;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Consumer;

import dev.principia.backend.Backend;
import dev.principia.backend.fixedkv.RunPlanner;
import dev.principia.backend.onnx.OnnxBackend;
import dev.principia.backend.onnx.OrtFixedKvDevice;
import dev.principia.model.DType;
import dev.principia.model.ModelConfig;
import dev.principia.model.ModelDirectory;
import dev.principia.model.Safetensors;
import dev.principia.model.onnx.OnnxExporter;

/**
 * {@link GrmLoader}'s choice of the GRM's attention graph ({@code principia.backend.attention}) and the backend that
 * runs it: {@link OnnxBackend} for the plain and GroupQueryAttention graphs, a fixed-capacity in-place KV backend
 * ({@link OrtFixedKvDevice}) for the portable graph.
 */
final class GrmBackends {
    /** The opened backend and the attention name GetServerInfo reports: plain, gqa or portable. */
    record Opened(Backend backend, String attention) {
    }

    private GrmBackends() {
    }

    /**
     * {@code principia.backend.attention} resolved: auto = GroupQueryAttention where it applies (fp32 activations,
     * head_dim a multiple of 16, not a pre-exported graph), else plain; gqa where it does not apply is refused. portable
     * (never chosen by auto: slower than gqa on CPU) is exported from the weights even beside a pre-exported graph, and
     * refused for quantized weights (it has standard operators only) or a directory without weights.
     */
    static OnnxExporter.Attention attention(String configured, OnnxExporter.Options options, ModelConfig c, boolean preExported,
                                            boolean hasWeights, Consumer<String> log) {
        String a = configured.strip().toLowerCase(Locale.ROOT);
        String why = preExported ? "the model directory holds a pre-exported graph"
                : options.dtype() != DType.F32 ? "GroupQueryAttention is exported for fp32 activations only"
                : c.headDim() % 16 != 0 ? "GroupQueryAttention's rotary needs head_dim a multiple of 16, the model has " + c.headDim() : null;
        switch (a) {
            case "plain":
                return OnnxExporter.Attention.PLAIN;
            case "gqa":
                if (why != null) throw new IllegalArgumentException("principia.backend.attention=gqa: " + why + "; use auto or plain");
                return OnnxExporter.Attention.GQA;
            case "portable":
                if (options.weights().isQuantized()) {
                    throw new IllegalArgumentException("principia.backend.attention=portable: " + options.weights().configName()
                            + " weights need ONNX Runtime's com.microsoft MatMulNBits; set principia.backend.weights to fp32, fp16 or bf16");
                }
                if (!hasWeights) {
                    throw new IllegalArgumentException("principia.backend.attention=portable: the model directory holds a pre-exported graph but no "
                            + "safetensors weights to export the portable graph from; use auto or plain");
                }
                return OnnxExporter.Attention.PORTABLE;
            case "auto":
                if (why != null) log.accept("attention: auto chose plain: " + why);
                return why == null ? OnnxExporter.Attention.GQA : OnnxExporter.Attention.PLAIN;
            default:
                throw new IllegalArgumentException("principia.backend.attention=" + configured + " is not one of auto, plain, gqa, portable");
        }
    }

    /** Whether the model directory holds safetensors weights (it may hold only a pre-exported graph). */
    static boolean hasWeights(ModelDirectory model) {
        return Files.isRegularFile(model.dir().resolve(Safetensors.SINGLE_FILE)) || Files.isRegularFile(model.dir().resolve(Safetensors.INDEX_FILE));
    }

    /**
     * Opens {@code onnx}, exported with {@code attention}. The portable backend's slots each own {@code maxPositions}
     * positions, so {@code options.kvCacheBytes()} may hold fewer than {@code maxSlots} (logged); one call holds at most
     * {@code maxSlots} rows and {@code maxBatchedTokens} tokens.
     */
    static Opened open(Path onnx, ModelConfig c, OnnxExporter.Attention attention, OnnxBackend.Options options, int maxBatchedTokens,
                       Consumer<String> log) {
        if (attention != OnnxExporter.Attention.PORTABLE) {
            OnnxBackend backend = new OnnxBackend(onnx, c, options);
            return new Opened(backend, backend.attention());
        }
        Backend backend = OrtFixedKvDevice.open(onnx, c, options, new RunPlanner.Limits(options.maxSlots(), maxBatchedTokens));
        if (backend.info().maxSlots() < options.maxSlots()) {
            log.accept(String.format(Locale.ROOT, "portable KV cache: %d slots of %d positions each fit in %d bytes; at most %d sequences run at once",
                    backend.info().maxSlots(), options.maxPositions(), options.kvCacheBytes(), backend.info().maxSlots()));
        }
        return new Opened(backend, "portable");
    }
}
