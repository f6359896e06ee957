package dev.principia.model;

import java.util.Locale;

/**
 * How the ONNX exporter stores weights (config values {@code auto | fp32 | fp16 | bf16 | int8 | int4};
 * {@code auto} is resolved by {@link #resolve}). What each one writes:
 * <pre>
 *          linear layers           lm_head                  embedding    biases, score   RoPE   activations
 *   FP32   fp32 Gemm               fp32 (tied: shared)      fp32         fp32            fp32   fp32
 *   FP16   fp16 Gemm               fp16 (tied: shared)      fp16         fp16            fp16   fp16
 *   BF16   bf16, Cast, fp32 Gemm   bf16 (tied: shared)      bf16, Cast   bf16, Cast      fp32   fp32
 *   INT8   MatMulNBits 8 bits      MatMulNBits 8 bits       fp16, Cast   act             act    fp32 or fp16
 *   INT4   MatMulNBits 4 bits      MatMulNBits 8 bits       fp16, Cast   act             act    fp32 or fp16
 * </pre>
 * (a tied head of INT8/INT4 is its own quantized copy of the embedding).
 * Norm weights are always fp32. Quantization is block-wise, asymmetric, with per-block scales in the
 * activation type and uint8 zero points. INT4 keeps the head at 8 bits: the head decides the logits
 * (and so the reward) directly, and its 4-bit error costs most top-1 agreement for least memory.
 * The embedding of quantized models is stored as fp16 (lossless for bf16 checkpoints' usual range,
 * half of fp32) and only its gathered rows are cast. On ONNX Runtime's CPU provider BF16 is a storage
 * format: the Casts of constant weights are folded at session load, so it computes (and holds) the
 * linear weights as fp32; only the embedding stays bf16 in memory.
 */
public enum WeightPrecision {
    FP32, FP16, BF16, INT8, INT4;

    /** Parameters above which {@link #auto} picks {@link #INT8}. */
    public static final long AUTO_INT8_ABOVE_PARAMETERS = 1_000_000_000L;

    /** Bits of quantized linear weights: 8, 4, or 0 when not quantized. */
    public int bits() {
        return switch (this) {
            case INT8 -> 8;
            case INT4 -> 4;
            default -> 0;
        };
    }

    public boolean isQuantized() {
        return bits() > 0;
    }

    /** The exporter's activation and KV dtype this precision implies by default: F16 for FP16, else F32. */
    public DType defaultActivationDtype() {
        return this == FP16 ? DType.F16 : DType.F32;
    }

    /** The config spelling, e.g. {@code "int4"}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The CPU rule for {@code auto}: INT8 above {@value #AUTO_INT8_ABOVE_PARAMETERS} parameters (decode is
     * memory-bound, and int8 weights move about a quarter of fp32's bytes; agreement with fp32 is measured in
     * WeightPrecisionAgreementTest), else FP32
     * (small models are fast enough and need no quantization error).
     */
    public static WeightPrecision auto(long numParameters) {
        return numParameters > AUTO_INT8_ABOVE_PARAMETERS ? INT8 : FP32;
    }

    /** Parses {@code fp32 | fp16 | bf16 | int8 | int4} (any case); {@code auto} is rejected here, see {@link #resolve}. */
    public static WeightPrecision parse(String value) {
        for (WeightPrecision p : values()) {
            if (p.configName().equalsIgnoreCase(value.strip())) return p;
        }
        throw new IllegalArgumentException("unknown weight precision '" + value + "'; expected auto, fp32, fp16, bf16, int8 or int4");
    }

    /** Parses {@code value} like {@link #parse}, resolving {@code auto} with {@link #auto(long)}. */
    public static WeightPrecision resolve(String value, long numParameters) {
        return value.strip().equalsIgnoreCase("auto") ? auto(numParameters) : parse(value);
    }

    /**
     * Bytes of weight data the exporter writes for a decoder or classifier of config {@code c} at this
     * precision, with {@link #defaultActivationDtype()} activations and quantization blocks of
     * {@code blockSize}: linear weights (with scales and zero points), biases, embedding, head, norms and
     * RoPE tables. Excludes the graph's few scalar constants and the protobuf framing (well below 1 %
     * for any real model).
     */
    public long weightBytes(ModelConfig c, int blockSize) {
        int act = defaultActivationDtype().byteSize();
        long bytes = 2L * c.maxPositionEmbeddings() * c.headDim() * act; // RoPE cos and signed sin
        for (WeightLayout.Entry e : WeightLayout.of(c)) {
            bytes += switch (e.kind()) {
                case NORM -> e.numElements() * 4;
                case BIAS -> e.numElements() * denseBytes();
                case EMBEDDING -> e.name().equals("lm_head.weight") ? headBytes(e, blockSize) : e.numElements() * embeddingBytes();
                case LINEAR -> e.name().equals("score.weight") ? e.numElements() * denseBytes() : linearBytes(e, bits(), blockSize);
            };
        }
        if (!c.isSequenceClassifier() && c.tieWordEmbeddings() && isQuantized()) {
            bytes += linearBytes(new WeightLayout.Entry("lm_head.weight", new long[]{c.vocabSize(), c.hiddenSize()}, WeightLayout.Kind.LINEAR), 8, blockSize);
        }
        return bytes;
    }

    /** Bytes per element of weights kept dense (biases, score; all linear weights unless quantized). */
    private int denseBytes() {
        return isQuantized() ? defaultActivationDtype().byteSize() : this == FP32 ? 4 : 2;
    }

    private int embeddingBytes() {
        return this == FP32 ? 4 : 2;
    }

    private long headBytes(WeightLayout.Entry e, int blockSize) {
        return isQuantized() ? linearBytes(e, 8, blockSize) : e.numElements() * denseBytes();
    }

    private long linearBytes(WeightLayout.Entry e, int bits, int blockSize) {
        if (bits == 0) return e.numElements() * denseBytes();
        // MatMulNBits: B [rows, kBlocks, blockSize * bits / 8], scales [rows * kBlocks] act, zero points uint8
        long rows = e.shape()[0], kBlocks = (e.shape()[1] + blockSize - 1) / blockSize;
        long zeroPoints = bits == 4 ? rows * ((kBlocks + 1) / 2) : rows * kBlocks;
        return rows * kBlocks * (blockSize * bits / 8) + rows * kBlocks * defaultActivationDtype().byteSize() + zeroPoints;
    }
}
