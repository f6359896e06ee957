package dev.principia;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

/**
 * Command-line tools some tests drive (kubectl, protoc, python3 with grpcio). A missing tool skips the
 * test locally, with the reason; under CI ({@code CI=true}, set by {@code .ci/run}, which installs them)
 * it fails instead, so a check cannot silently stop running there.
 */
public final class ExternalTools {
    private ExternalTools() {
    }

    /** Output and exit status of a finished command. */
    public record Result(int exitCode, String output) {
    }

    /** The first candidate command for which {@code probe} (arguments appended to it) exits 0. */
    public static List<String> require(String what, List<List<String>> candidates, List<String> probe) {
        for (List<String> c : candidates) {
            List<String> cmd = new ArrayList<>(c);
            cmd.addAll(probe);
            try {
                if (run(cmd, Map.of(), null, 60).exitCode() == 0) return c;
            } catch (IOException e) {
                // not installed: try the next candidate
            }
        }
        return missing(what, candidates);
    }

    /** The path of the first of {@code names} that is an executable file on the PATH (or an absolute path). */
    public static Path requireExecutable(String what, List<String> names) {
        for (String name : names) {
            if (name.startsWith("/")) {
                if (Files.isExecutable(Path.of(name))) return Path.of(name);
                continue;
            }
            for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
                if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) return Path.of(dir, name);
            }
        }
        missing(what, names);
        return null;
    }

    private static <T> T missing(String what, Object tried) {
        String reason = what + " not found (tried " + tried + "); .ci/run installs it";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) fail(reason + ", but CI=true: this check must run in CI");
        Assumptions.abort(reason);
        return null;
    }

    /** Runs {@code command}, stdout and stderr merged; fails the test when it does not end in {@code timeoutSeconds}. */
    public static Result run(List<String> command, Map<String, String> env, Path dir, long timeoutSeconds) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(env);
        if (dir != null) pb.directory(dir.toFile());
        Path out = Files.createTempFile("tool", ".out");
        pb.redirectOutput(out.toFile());
        Process p = pb.start();
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail(command + " did not finish in " + timeoutSeconds + " s; output: " + Files.readString(out, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted", e);
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
