package dev.principia.backend.tensorrt;

/**
 * What a TensorRT plan depends on besides the graph: a plan runs only on the TensorRT version and the GPU (compute
 * capability) it was built for.
 *
 * @param tensorRtVersion    e.g. {@code 11.2.1}
 * @param gpuName            e.g. {@code NVIDIA H200}
 * @param computeCapability  e.g. {@code 9.0}
 * @param gpuMemoryBytes     device memory of the GPU
 * @param cudaRuntimeVersion e.g. {@code 13.3}
 * @param cudaDriverVersion  the highest CUDA version the driver supports, e.g. {@code 13.3}
 */
public record GpuFacts(String tensorRtVersion, String gpuName, String computeCapability, long gpuMemoryBytes, String cudaRuntimeVersion,
                       String cudaDriverVersion) {
    public GpuFacts {
        if (tensorRtVersion == null || tensorRtVersion.isBlank() || gpuName == null || gpuName.isBlank()
                || computeCapability == null || computeCapability.isBlank()) {
            throw new IllegalArgumentException("TensorRT version, GPU name and compute capability must be known: " + tensorRtVersion + "/"
                    + gpuName + "/" + computeCapability);
        }
    }

    /** {@code 110201} (TensorRT's {@code getInferLibVersion}: major * 10000 + minor * 100 + patch) as {@code 11.2.1}. */
    public static String tensorRtVersion(int encoded) {
        return encoded / 10000 + "." + encoded / 100 % 100 + "." + encoded % 100;
    }

    /** {@code 13030} (CUDA's encoding: major * 1000 + minor * 10) as {@code 13.3}. */
    public static String cudaVersion(int encoded) {
        return encoded / 1000 + "." + encoded % 1000 / 10;
    }

    public String describe() {
        return String.format(java.util.Locale.ROOT, "TensorRT %s on %s (compute capability %s, %.1f GB; CUDA runtime %s, driver supports %s)",
                tensorRtVersion, gpuName, computeCapability, gpuMemoryBytes / 1e9, cudaRuntimeVersion, cudaDriverVersion);
    }
}
