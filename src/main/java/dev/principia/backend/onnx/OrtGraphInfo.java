package dev.principia.backend.onnx;

import java.nio.file.Path;
import java.util.List;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.principia.model.onnx.OnnxExporter;

/** What the decoder backends read from an opened graph before they trust it: inputs, the cache's element type, the logits' shape. */
final class OrtGraphInfo {
    private OrtGraphInfo() {
    }

    /** @throws IllegalArgumentException naming the first of {@code names} the graph lacks, and the inputs it has */
    static void requireInputs(OrtSession session, Path onnxFile, List<String> names) {
        for (String n : names) {
            if (!session.getInputNames().contains(n)) {
                throw new IllegalArgumentException(onnxFile + ": graph has no input '" + n + "' (inputs: " + session.getInputNames() + ")");
            }
        }
    }

    /** The element type of {@code past_key_values.0.key}, which must be one of {@code allowed}. */
    static OnnxJavaType pastType(OrtSession session, Path onnxFile, List<OnnxJavaType> allowed) {
        OnnxJavaType type;
        try {
            type = ((TensorInfo) session.getInputInfo().get(OnnxExporter.pastKey(0)).getInfo()).type;
        } catch (OrtException | ClassCastException | NullPointerException e) {
            throw new IllegalArgumentException(onnxFile + ": cannot read the type of " + OnnxExporter.pastKey(0), e);
        }
        if (!allowed.contains(type)) {
            throw new IllegalArgumentException(onnxFile + ": past_key_values of type " + type + "; expected " + names(allowed));
        }
        return type;
    }

    /** Whether the graph's {@code logits} is {@code [B, 1, vocab]} (a last-position-only export) rather than {@code [B, S, vocab]}. */
    static boolean lastPositionLogitsOnly(OrtSession session) {
        try {
            var info = (TensorInfo) session.getOutputInfo().get("logits").getInfo();
            return info.getShape().length == 3 && info.getShape()[1] == 1;
        } catch (OrtException | NullPointerException | ClassCastException e) {
            throw new IllegalArgumentException("graph has no float output 'logits'", e);
        }
    }

    /** The name {@code BackendInfo.kvElementType} uses: float32, float16 or bfloat16. */
    static String kvTypeName(OnnxJavaType type) {
        return switch (type) {
            case FLOAT16 -> "float16";
            case BFLOAT16 -> "bfloat16";
            default -> "float32";
        };
    }

    private static String names(List<OnnxJavaType> types) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < types.size(); i++) {
            if (i > 0) s.append(i == types.size() - 1 ? " or " : ", ");
            s.append(kvTypeName(types.get(i)).replace("float32", "float"));
        }
        return s.toString();
    }
}
