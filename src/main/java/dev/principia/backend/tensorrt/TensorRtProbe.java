package dev.principia.backend.tensorrt;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Decides whether TensorRT can run here, in three steps, each only when the one before passed: the NVIDIA driver is
 * installed ({@code /proc/driver/nvidia/version} or {@code libcuda.so.1} in a library directory), the JNI jars of the
 * {@code gpu} Maven profile are on the class path (looked up as resources, loading nothing), and only then the
 * {@code org.bytedeco} side is loaded reflectively and asked for its {@link GpuFacts}, any {@link LinkageError} or
 * failure becoming the verdict's reason. Without a driver or without the jars no {@code org.bytedeco} class is
 * ever loaded.
 */
public final class TensorRtProbe {
    /** The reflective entry point; the only name of a bytedeco-side class outside its package. */
    public static final String NATIVE_CLASS = "dev.principia.backend.tensorrt.javacpp.TensorRtRuntime";
    /** JNI libraries of the gpu profile's classifier jars (javacpp, cuda, tensorrt {@code linux-x86_64}). */
    public static final List<String> JNI_RESOURCES = List.of("org/bytedeco/javacpp/linux-x86_64/libjnijavacpp.so",
            "org/bytedeco/cuda/linux-x86_64/libjnicudart.so", "org/bytedeco/tensorrt/linux-x86_64/libjninvinfer.so");
    static final Path DRIVER_VERSION = Path.of("/proc/driver/nvidia/version");
    /** Where distributions and the NVIDIA container toolkit put {@code libcuda.so.1}. */
    static final List<Path> DRIVER_DIRS = List.of(Path.of("/usr/lib/x86_64-linux-gnu"), Path.of("/usr/lib64"), Path.of("/usr/lib"),
            Path.of("/usr/local/nvidia/lib64"), Path.of("/usr/local/nvidia/lib"), Path.of("/usr/lib/wsl/lib"));

    /** The outcome: TensorRT usable (with its runtime) or not, and why. */
    public record Verdict(Optional<NativeTensorRt> runtime, String reason) {
        public boolean usable() {
            return runtime.isPresent();
        }

        /** {@code tensorrt} or {@code onnx}: what {@code principia.backend=auto} picks. */
        public String backend() {
            return usable() ? "tensorrt" : "onnx";
        }
    }

    /**
     * @param driverVersionFile {@code /proc/driver/nvidia/version}
     * @param libraryDirs       directories searched for {@code libcuda.so.1}
     * @param classLoader       where the JNI jars and the native class are looked up
     * @param nativeClass       the {@link NativeTensorRt} implementation's name
     */
    public record Inputs(Path driverVersionFile, List<Path> libraryDirs, ClassLoader classLoader, String nativeClass) {
        /** This machine: the standard places plus {@code extraLibraryDirs} (e.g. from {@code LD_LIBRARY_PATH}). */
        public static Inputs standard(List<Path> extraLibraryDirs) {
            List<Path> dirs = new ArrayList<>(extraLibraryDirs);
            dirs.addAll(DRIVER_DIRS);
            return new Inputs(DRIVER_VERSION, List.copyOf(dirs), TensorRtProbe.class.getClassLoader(), NATIVE_CLASS);
        }
    }

    private TensorRtProbe() {
    }

    public static Verdict probe(Inputs in) {
        Path lib = null;
        for (Path d : in.libraryDirs()) {
            if (Files.exists(d.resolve("libcuda.so.1"))) {
                lib = d.resolve("libcuda.so.1");
                break;
            }
        }
        if (lib == null && !Files.isRegularFile(in.driverVersionFile())) {
            return no("no NVIDIA driver: neither " + in.driverVersionFile() + " nor libcuda.so.1 in " + in.libraryDirs());
        }
        List<String> missing = new ArrayList<>();
        for (String r : JNI_RESOURCES) if (in.classLoader().getResource(r) == null) missing.add(r);
        if (!missing.isEmpty()) {
            return no("NVIDIA driver found (" + (lib != null ? lib : in.driverVersionFile()) + ") but the JNI jars are not on the class path "
                    + "(missing " + missing + "): build with -Pgpu");
        }
        try {
            Class<?> c = Class.forName(in.nativeClass(), true, in.classLoader());
            NativeTensorRt runtime = (NativeTensorRt) c.getDeclaredConstructor().newInstance();
            GpuFacts facts = runtime.facts();
            return new Verdict(Optional.of(runtime), facts.describe());
        } catch (java.lang.reflect.InvocationTargetException e) {
            return no("loading TensorRT failed: " + e.getCause());
        } catch (LinkageError | ReflectiveOperationException | RuntimeException e) {
            return no("loading TensorRT failed: " + e);
        }
    }

    private static Verdict no(String reason) {
        return new Verdict(Optional.empty(), reason);
    }
}
