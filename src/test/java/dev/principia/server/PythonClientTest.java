package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import dev.principia.ExternalTools;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The Python side as users run it: stubs generated from {@code proto/} by protoc, README's Python
 * client and the veRL reward function {@code src/main/python/principia_reward.py}, against the running
 * server. Needs protoc, grpc_python_plugin and a python3 with grpcio (Debian: protobuf-compiler-grpc,
 * python3-grpcio).
 */
@QuarkusTest
class PythonClientTest {
    private static final Path STUBS = Path.of("target/python-stubs");
    private static final String TARGET = "localhost:" + GrpcTestSupport.PORT;
    private static List<String> python;

    /** Finds the tools (each test skips, or fails under CI, when one is missing) and generates the stubs once. */
    private static synchronized void generateStubs() throws IOException {
        if (python != null) return;
        List<String> py = ExternalTools.require("python3 with grpcio", List.of(List.of("/usr/bin/python3"), List.of("python3")),
                List.of("-c", "import grpc, google.protobuf"));
        List<String> protoc = ExternalTools.require("protoc", List.of(List.of("protoc")), List.of("--version"));
        Path plugin = ExternalTools.requireExecutable("grpc_python_plugin", List.of("grpc_python_plugin"));
        Files.createDirectories(STUBS);
        List<String> cmd = new ArrayList<>(protoc);
        cmd.addAll(List.of("-I", "proto", "--python_out=" + STUBS, "--grpc_python_out=" + STUBS,
                "--plugin=protoc-gen-grpc_python=" + plugin, "proto/principia/v1/reward.proto"));
        ExternalTools.Result r = ExternalTools.run(cmd, Map.of(), null, 120);
        assertEquals(0, r.exitCode(), r.output());
        python = py;
    }

    private static ExternalTools.Result python(String script) throws IOException {
        generateStubs();
        List<String> cmd = new ArrayList<>(python);
        cmd.addAll(List.of("-c", script));
        return ExternalTools.run(cmd, Map.of("PYTHONPATH", STUBS.toAbsolutePath() + ":" + Path.of("src/main/python").toAbsolutePath()),
                null, 600);
    }

    @Test
    void readmePythonClientPrintsOneRewardPerResponse() throws IOException {
        Matcher m = Pattern.compile("<!-- python-client -->\\s*```python\\n(.*?)```", Pattern.DOTALL).matcher(Files.readString(Path.of("README.md")));
        assertTrue(m.find(), "README has a Python client block after <!-- python-client -->");
        String client = m.group(1);
        assertTrue(client.strip().lines().count() <= 12, "the README client stays about ten lines");
        ExternalTools.Result r = python(client.replace("localhost:9000", TARGET));
        assertEquals(0, r.exitCode(), r.output());
        List<String> lines = r.output().strip().lines().toList();
        assertEquals(2, lines.size(), r.output());
        for (int i = 0; i < 2; i++) {
            String[] cols = lines.get(i).split(" ");
            assertEquals(String.valueOf(i), cols[0], r.output());
            double reward = Double.parseDouble(cols[1]);
            assertTrue(reward >= 1 && reward <= 10 * 2, "reward = vote sum over k = 2 samples: " + r.output());
        }
    }

    @Test
    void verlRewardFunctionsScoreThroughTheServer() throws IOException {
        String script = """
                import json, principia_reward as p
                q = {"question": "Name a prime number greater than 10."}
                one = p.compute_score("primes", "13 is prime.", "13", q, target="%1$s", samples=2)
                batch = p.compute_score_batch(["primes"] * 3, ["11", "It is 4.", "13"], ["", "", ""],
                                              [q, {"question": "What is 2+2?"}, q], target="%1$s", samples=2)
                try:
                    p.compute_score("primes", "13", "13", {}, target="%1$s")
                    missing = ""
                except ValueError as e:
                    missing = str(e)
                print(json.dumps({"one": one, "batch": batch, "missing": missing}))
                """.formatted(TARGET);
        ExternalTools.Result r = python(script);
        assertEquals(0, r.exitCode(), r.output());
        String[] lines = r.output().strip().split("\n");
        JsonNode out = HttpTestSupport.JSON.readTree(lines[lines.length - 1]);
        double one = out.path("one").asDouble(-1);
        assertTrue(one >= 0 && one <= 1, r.output());
        assertEquals(3, out.path("batch").size(), r.output());
        for (JsonNode v : out.path("batch")) assertTrue(v.asDouble(-1) >= 0 && v.asDouble(-1) <= 1, r.output());
        assertTrue(out.path("missing").asText().contains("extra_info needs the question"), r.output());
    }
}
