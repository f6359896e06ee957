package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.principia.cli.DataCollector;
import io.quarkus.test.junit.QuarkusTest;

/** The SPCT collection job against the test server, on 20 items in RMB's pairwise format. */
@QuarkusTest
class DataCollectorTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** 20 pairwise items shaped like RMB's (pair_uid, conversation_input, chosen, reject, category_path). */
    private Path pairwiseFile() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            ObjectNode item = JSON.createObjectNode();
            item.put("pair_uid", "p" + i);
            item.putArray("conversation_input").addObject().put("role", "user").put("language", "English")
                    .put("content", "Question " + i + ": what is " + i + " + " + i + "?");
            item.putObject("chosen").put("llm_name", "a").put("answer", "It is " + (2 * i) + ".");
            item.putObject("reject").put("llm_name", "b").put("answer", "It is " + (2 * i + 1) + ".");
            item.putArray("category_path").add("Pairwise").add("Helpfulness");
            lines.add(JSON.writeValueAsString(item));
        }
        Path input = dir.resolve("pairwise.jsonl");
        Files.write(input, lines, StandardCharsets.UTF_8);
        return input;
    }

    @Test
    void writesAcceptedRejectedAndLabelsAndResumes() throws Exception {
        Path input = pairwiseFile();
        Path out = dir.resolve("out");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        DataCollector.Options options = new DataCollector.Options("localhost:" + GrpcTestSupport.PORT, input, out, 2, 32, 0.5f, 0, 8, 7, null);
        DataCollector.Summary first = DataCollector.run(options, new PrintStream(console, true, StandardCharsets.UTF_8));
        assertEquals(20, first.items());
        assertEquals(0, first.failed());
        assertEquals(40, first.trajectories());
        assertEquals(40, first.accepted() + first.rejected());
        assertTrue(console.toString(StandardCharsets.UTF_8).contains("20/20 items"), "progress bar reached the end");

        List<JsonNode> accepted = lines(out.resolve("accepted.jsonl"));
        List<JsonNode> rejected = lines(out.resolve("rejected.jsonl"));
        List<JsonNode> labels = lines(out.resolve("meta-labels.jsonl"));
        assertEquals(first.accepted(), accepted.size());
        assertEquals(first.rejected(), rejected.size());
        assertEquals(40, labels.size());
        for (JsonNode a : accepted) {
            assertTrue(a.get("valid").asBoolean());
            JsonNode scores = a.get("scores");
            assertTrue(scores.get(0).asInt() > scores.get(1).asInt(), "accepted: the labelled best scores strictly highest");
            assertEquals(2, a.get("responses").size());
            assertEquals(2, a.get("order").size());
        }
        for (JsonNode r : rejected) assertTrue(r.get("reason").asText().length() > 0);
        long correct = labels.stream().filter(l -> l.get("correct").asBoolean()).count();
        assertEquals(first.accepted(), correct);
        JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals(40, summary.get("trajectories").asLong());

        DataCollector.Summary second = DataCollector.run(options, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertEquals(20, second.skipped(), "every item is already done");
        assertEquals(0, second.trajectories());
        assertEquals(40, lines(out.resolve("meta-labels.jsonl")).size(), "nothing written twice");
    }

    private static List<JsonNode> lines(Path p) throws Exception {
        List<JsonNode> nodes = new ArrayList<>();
        if (!Files.exists(p)) return nodes;
        for (String line : Files.readAllLines(p)) nodes.add(JSON.readTree(line));
        return nodes;
    }
}
