package dev.principia.benchmark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;

/**
 * The packaged server ({@code target/quarkus-app/quarkus-run.jar}) as a child process on free local ports
 * (gRPC from 9100, HTTP from 8180: clear of the fixed @QuarkusTest ports), the embedded default model, its
 * cache under {@code target/principia-cache}. Its log, pid file and any {@code hs_err} file go to
 * {@code target/bench-server/<name>/}. {@link #close()} stops it when still alive (SIGTERM, SIGKILL after 60 s); a JVM shutdown hook
 * does the same, and {@code run.sh} kills the pid file's process on exit.
 */
final class PackagedServer implements AutoCloseable {

    private static final Path JAR = Path.of("target/quarkus-app/quarkus-run.jar");
    private static final Path PID_FILE = Path.of("target/bench-server.pid");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    final int grpcPort;
    final int httpPort;
    final Path dir;
    final Path log;
    private final Process process;
    private final Thread hook;

    private PackagedServer(int grpcPort, int httpPort, Path dir, Process process) {
        this.grpcPort = grpcPort;
        this.httpPort = httpPort;
        this.dir = dir;
        this.log = dir.resolve("server.log");
        this.process = process;
        this.hook = new Thread(process::destroyForcibly, "kill-packaged-server");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Starts the jar with {@code extraProps} ({@code -Dkey=value}) and waits until /q/health/ready is UP (≤ 10 min). */
    static PackagedServer start(String name, List<String> extraProps) throws IOException, InterruptedException {
        return start(name, List.of("-Xmx2g"), extraProps, Duration.ofMinutes(10));
    }

    /**
     * Starts the jar with JVM options {@code jvmOptions} (e.g. {@code -Xmx2g}) and {@code extraProps}, and waits until
     * /q/health/ready is UP for at most {@code readyWithin}; fails early when the log says the GRM failed to load.
     */
    static PackagedServer start(String name, List<String> jvmOptions, List<String> extraProps, Duration readyWithin)
            throws IOException, InterruptedException {
        if (!Files.isRegularFile(JAR)) throw new IllegalStateException(JAR + " missing: run ./mvnw -B -o package -DskipTests");
        int offset = 0;
        while (!free(9100 + offset) || !free(8180 + offset)) {
            if (++offset >= 100) throw new IllegalStateException("no free port pair in 9100-9199 / 8180-8279");
        }
        int grpc = 9100 + offset;
        int http = 8180 + offset;
        Path dir = Path.of("target/bench-server", name).toAbsolutePath();
        Files.createDirectories(dir);
        try (var old = Files.list(dir)) { // an earlier run's hs_err file would read as this run's crash
            for (Path f : old.toList()) if (f.getFileName().toString().startsWith("hs_err")) Files.delete(f);
        }
        List<String> cmd = new ArrayList<>(List.of("java"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-XX:ErrorFile=" + dir.resolve("hs_err_pid%p.log"),
                "-Dquarkus.grpc.server.port=" + grpc, "-Dquarkus.grpc.server.host=127.0.0.1",
                "-Dquarkus.http.port=" + http, "-Dquarkus.http.host=127.0.0.1",
                "-Dprincipia.model.cache-dir=" + Path.of("target/principia-cache").toAbsolutePath()));
        cmd.addAll(extraProps);
        cmd.addAll(List.of("-jar", JAR.toAbsolutePath().toString()));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("server.log").toFile()).start();
        Files.writeString(PID_FILE, Long.toString(p.pid()));
        PackagedServer server = new PackagedServer(grpc, http, dir, p);
        long until = System.nanoTime() + readyWithin.toNanos();
        while (true) {
            if (!p.isAlive()) throw new IllegalStateException("server exited with " + p.exitValue() + "; see " + server.log);
            if (System.nanoTime() > until) {
                server.close();
                throw new IllegalStateException("server not ready after " + readyWithin + "; see " + server.log);
            }
            if (Files.readString(server.log, StandardCharsets.UTF_8).contains("GRM failed to load")) {
                server.close();
                throw new IllegalStateException("the GRM failed to load; see " + server.log);
            }
            try {
                if (HTTP.send(HttpRequest.newBuilder(server.url("/q/health/ready")).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) return server;
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(500);
        }
    }

    private static boolean free(int port) {
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    ManagedChannel channel() {
        return NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().maxInboundMessageSize(64 << 20).build();
    }

    long pid() {
        return process.pid();
    }

    Process process() {
        return process;
    }

    private URI url(String path) {
        return URI.create("http://127.0.0.1:" + httpPort + path);
    }

    /** The Prometheus text of /q/metrics. */
    String metrics() throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(url("/q/metrics")).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    /** Sum of the samples of {@code name} whose labels contain every one of {@code labels} (e.g. {@code area="heap"}); NaN when none. */
    static double metric(String text, String name, String... labels) {
        double sum = 0;
        boolean found = false;
        for (String line : text.split("\n")) {
            if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) continue;
            boolean all = true;
            for (String l : labels) all &= line.contains(l);
            if (!all) continue;
            sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            found = true;
        }
        return found ? sum : Double.NaN;
    }

    /** Runs {@code jcmd <pid> GC.run} (bounded to 60 s), then returns heap used in bytes from /q/metrics. */
    double heapAfterGc() throws IOException, InterruptedException {
        Process jcmd = new ProcessBuilder("jcmd", Long.toString(pid()), "GC.run").redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!jcmd.waitFor(60, TimeUnit.SECONDS)) jcmd.destroyForcibly();
        return metric(metrics(), "jvm_memory_used_bytes", "area=\"heap\"");
    }

    /** VmRSS of the server process in bytes, from /proc; NaN when gone. */
    double rssBytes() {
        return procStatusBytes("VmRSS:");
    }

    /** VmHWM (peak resident set) of the server process in bytes, from /proc; NaN when gone. */
    double peakRssBytes() {
        return procStatusBytes("VmHWM:");
    }

    private double procStatusBytes(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid() + "/status"))) {
                if (line.startsWith(field)) return Long.parseLong(line.replaceAll("\\D", "")) * 1024.0;
            }
        } catch (IOException gone) {
            return Double.NaN;
        }
        return Double.NaN;
    }

    /**
     * RssAnon (resident anonymous memory: heap, native allocations, direct buffers) of the server process in bytes,
     * from /proc; NaN when gone. Unlike VmRSS and VmHWM it excludes memory-mapped files (checkpoint shards, ONNX
     * external data), whose pages are reclaimable and may be counted more than once.
     */
    double anonRssBytes() {
        return procStatusBytes("RssAnon:");
    }

    /** The 1-minute load average of this machine, from /proc/loadavg. */
    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sends SIGTERM (a graceful stop). */
    void sigterm() {
        process.destroy();
    }

    /** Whether the server log mentions a native crash, or an hs_err file was written. */
    boolean crashed() throws IOException {
        try (var files = Files.list(dir)) {
            if (files.anyMatch(f -> f.getFileName().toString().startsWith("hs_err"))) return true;
        }
        return Files.readString(log, StandardCharsets.UTF_8).contains("SIGSEGV");
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(60, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        if (!process.isAlive()) {
            try {
                Files.deleteIfExists(PID_FILE);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs anyway
        }
    }
}
