package dev.principia.benchmark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import dev.principia.cli.ArithmeticTask;

/**
 * Arithmetic judging items (issue 11's task) from a seed, in RMB's best-of-N JSONL shape, so that the accuracy
 * harness and {@code principia collect} read them like RMB: {@code bon_uid}, {@code conversation_input}, {@code bon_best}
 * (the one right response) and
 * {@code loser_list} (one to three plausible wrong ones), plus {@code task}, {@code expected} and {@code seed}.
 *
 * <p>The items are {@link ArithmeticTask#evalItem}'s: one to four responses, exactly one right.
 *
 * <p>Usage: {@code benchmark/run.sh arith --seed S --count N --out FILE}.
 */
public final class ArithmeticItems {
    /** One query with its right result and the responses to judge: {@code responses[best]} is the right one. */
    public record Item(String query, String equation, long expected, List<String> responses, int best) {
    }

    private ArithmeticItems() {
    }

    public static void main(String[] args) throws IOException {
        long seed = 1;
        int count = 500;
        Path out = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--seed" -> seed = Long.parseLong(args[++i]);
                case "--count" -> count = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i] + " (--seed S --count N --out FILE)");
            }
        }
        if (out == null) throw new IllegalArgumentException("--out FILE is required");
        write(generate(seed, count), seed, out);
        System.out.printf("%d arithmetic items (seed %d) -> %s%n", count, seed, out);
    }

    public static List<Item> generate(long seed, int count) {
        Random rnd = new Random(seed);
        List<Item> items = new ArrayList<>(count);
        for (int i = 0; i < count; i++) items.add(item(rnd));
        return items;
    }

    static Item item(Random rnd) {
        ArithmeticTask.Item t = ArithmeticTask.evalItem(rnd);
        return new Item(t.query(), t.equation(), t.expected(), t.responses(), t.best());
    }

    static void write(List<Item> items, long seed, Path out) throws IOException {
        ObjectMapper json = new ObjectMapper();
        if (out.getParent() != null) Files.createDirectories(out.getParent());
        try (Writer w = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
            for (int i = 0; i < items.size(); i++) {
                Item it = items.get(i);
                ObjectNode n = json.createObjectNode();
                n.put("bon_uid", "arith-" + seed + "-" + i);
                ArrayNode conv = n.putArray("conversation_input");
                conv.addObject().put("role", "user").put("content", it.query());
                n.putObject("bon_best").put("answer", it.responses().get(it.best()));
                ArrayNode losers = n.putArray("loser_list");
                for (int j = 0; j < it.responses().size(); j++) if (j != it.best()) losers.addObject().put("answer", it.responses().get(j));
                n.put("task", "arithmetic").put("expected", it.expected()).put("seed", seed);
                w.write(json.writeValueAsString(n));
                w.write('\n');
            }
        }
    }
}
