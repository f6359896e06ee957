package dev.principia;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * The CPU test suite never loads an {@code org.bytedeco} class: surefire's JVM (default profile) logs every class it
 * loads ({@code -Xlog:class+load}, see pom.xml), and this reads that log after the suite ran. Under {@code -Pgpu}
 * the gpu tests load TensorRT on purpose and no log is written.
 */
class NoBytedecoLoadedIT {
    private static final Pattern LOADED = Pattern.compile("\\[class,load\\] (\\S+) ");

    @Test
    void theCpuSuiteLoadedNoBytedecoClass() throws IOException {
        String file = System.getProperty("principia.class-load-log", "");
        assumeFalse(file.isBlank(), "the gpu profile loads TensorRT on purpose and writes no class-load log");
        Path log = Path.of(file);
        assertTrue(Files.isRegularFile(log), log + " is missing: surefire's argLine lost -Xlog:class+load");
        long principia;
        List<String> bytedeco;
        try (var lines = Files.lines(log)) {
            List<String> names = lines.map(LOADED::matcher).filter(Matcher::find).map(m -> m.group(1)).toList();
            principia = names.stream().filter(n -> n.startsWith("dev.principia.")).count();
            bytedeco = names.stream().filter(n -> n.startsWith("org.bytedeco.") || n.startsWith("dev.principia.backend.tensorrt.javacpp.")).distinct().toList();
        }
        assertTrue(principia > 200, "the log covers the suite: " + principia + " dev.principia classes loaded");
        assertEquals(List.of(), bytedeco, "classes that link TensorRT/CUDA, loaded by the CPU suite");
    }
}
