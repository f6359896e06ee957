package dev.principia.backend.fixedkv;

/**
 * What runs the portable graph over a {@link FixedKvLayout} cache: ONNX Runtime on CPU, TensorRT on a GPU. It holds
 * the buffers (zeroed when allocated: masked positions are multiplied by probability 0, so they must be finite) and
 * the compiled graph; {@link FixedKvBackend} holds everything else (lengths, validation, planning). Called from one
 * thread at a time.
 */
public interface FixedKvDevice extends AutoCloseable {

    /** Backend name for {@code BackendInfo}, e.g. {@code tensorrt} or {@code onnxruntime-cpu-portable}. */
    String name();

    /** Number of logits per position. */
    int vocabSize();

    /** Element type of the cache: {@code float32}, {@code float16} or {@code bfloat16}. */
    String kvElementType();

    /**
     * Executes one call: {@code input_ids}/{@code position_ids} from the run, {@code past} and {@code present} of every
     * layer bound to the same rows {@code [firstSlot, firstSlot + rows)} of its buffers. Returns the logits of each
     * row's last position, {@code [rows][vocab]}.
     *
     * @throws dev.principia.backend.BackendException when the call fails
     */
    float[][] execute(Run run);

    /** Applies {@code copies} to every layer's key and value buffer. */
    void copy(java.util.List<FixedKvLayout.Copy> copies);

    @Override
    void close();
}
