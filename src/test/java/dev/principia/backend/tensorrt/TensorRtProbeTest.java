package dev.principia.backend.tensorrt;

import dev.principia.backend.ClassifierBackend;
import dev.principia.backend.fixedkv.FixedKvDevice;
import dev.principia.backend.fixedkv.FixedKvLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URL;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class TensorRtProbeTest {
    @TempDir
    Path dir;

    /** Records every class and resource asked of it; can pretend the JNI jars are there. */
    static final class RecordingLoader extends ClassLoader {
        final List<String> classes = new ArrayList<>();
        final boolean jniJars;

        RecordingLoader(boolean jniJars) {
            super(TensorRtProbeTest.class.getClassLoader());
            this.jniJars = jniJars;
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            classes.add(name);
            return super.loadClass(name, resolve);
        }

        @Override
        public URL getResource(String name) {
            if (jniJars && TensorRtProbe.JNI_RESOURCES.contains(name)) {
                try {
                    return new URL("file:/fake/" + name);
                } catch (java.net.MalformedURLException e) {
                    throw new IllegalStateException(e);
                }
            }
            return super.getResource(name);
        }
    }

    TensorRtProbe.Verdict probe(boolean driver, RecordingLoader loader, String nativeClass) throws IOException {
        Path version = dir.resolve("version");
        if (driver) Files.writeString(version, "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.00\n");
        return TensorRtProbe.probe(new TensorRtProbe.Inputs(version, List.of(dir.resolve("lib")), loader, nativeClass));
    }

    @Test
    void noDriverMeansOnnxAndNothingIsLoaded() throws IOException {
        RecordingLoader loader = new RecordingLoader(true);
        TensorRtProbe.Verdict v = probe(false, loader, TensorRtProbe.NATIVE_CLASS);
        assertFalse(v.usable());
        assertEquals("onnx", v.backend());
        assertTrue(v.reason().contains("no NVIDIA driver") && v.reason().contains("libcuda.so.1"), v.reason());
        assertEquals(List.of(), loader.classes);
    }

    @Test
    void thisMachineHasNoDriverSoTheStandardProbeSaysOnnx() {
        assumeFalse(Files.exists(Path.of("/proc/driver/nvidia/version")), "a machine with an NVIDIA driver");
        TensorRtProbe.Verdict v = TensorRtProbe.probe(TensorRtProbe.Inputs.standard(List.of()));
        assertEquals("onnx", v.backend());
        assertTrue(v.reason().startsWith("no NVIDIA driver") || v.reason().contains("-Pgpu"), v.reason());
    }

    @Test
    void aDriverWithoutTheJniJarsAsksForTheGpuProfile() throws IOException {
        RecordingLoader loader = new RecordingLoader(false);
        TensorRtProbe.Verdict v = probe(true, loader, TensorRtProbe.NATIVE_CLASS);
        assertFalse(v.usable());
        assertTrue(v.reason().contains("JNI jars") && v.reason().contains("-Pgpu"), v.reason());
        assertEquals(List.of(), loader.classes);
    }

    /** Stands in for the bytedeco side on a machine whose libraries do not link. */
    public static final class UnlinkableRuntime {
        static {
            if (true) throw new UnsatisfiedLinkError("no jnicudart in java.library.path: libcuda.so.1: cannot open shared object file");
        }
    }

    @Test
    void aLinkageErrorBecomesTheReason() throws IOException {
        TensorRtProbe.Verdict v = probe(true, new RecordingLoader(true), UnlinkableRuntime.class.getName());
        assertFalse(v.usable());
        assertTrue(v.reason().contains("loading TensorRT failed") && v.reason().contains("libcuda.so.1"), v.reason());
    }

    /** Stands in for a working bytedeco side. */
    public static final class WorkingRuntime implements NativeTensorRt {
        @Override
        public GpuFacts facts() {
            return PlanCacheTest.FACTS;
        }

        @Override
        public void buildPlan(Path onnx, ProfileShapes shapes, Path timingCache, WritableByteChannel out, Consumer<String> log) {
            throw new UnsupportedOperationException();
        }

        @Override
        public FixedKvDevice openDecoder(PlanCache.Entry plan, FixedKvLayout layout, ProfileShapes shapes, int vocabSize, Consumer<String> log) {
            throw new UnsupportedOperationException();
        }

        @Override
        public ClassifierBackend openClassifier(PlanCache.Entry plan, ProfileShapes shapes, int numLabels, int maxPositions, Consumer<String> log) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void aWorkingRuntimeIsChosenWithItsFacts() throws IOException {
        TensorRtProbe.Verdict v = probe(true, new RecordingLoader(true), WorkingRuntime.class.getName());
        assertTrue(v.usable());
        assertEquals("tensorrt", v.backend());
        assertTrue(v.reason().contains("TensorRT 11.2.1 on NVIDIA H200 (compute capability 9.0"), v.reason());
    }
}
