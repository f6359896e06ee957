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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Arithmetic judging items (issue 11's task) from a seed, in RMB's best-of-N JSONL shape, so that the accuracy
 * harness reads them like RMB: {@code conversation_input}, {@code bon_best} (the one right response) and
 * {@code loser_list} (one to three plausible wrong ones), plus {@code task}, {@code expected} and {@code seed}.
 *
 * <p>Queries: {@code What is A + B?}, {@code What is A - B?} (A, B in [10, 99]), {@code What is A times B?}
 * (A in [10, 99], B in [2, 19]), {@code Compute A + B - C.} (A, B, C in [10, 99]). Wrong results are the slips a
 * person makes: a dropped or doubled carry (±10 or ±100), off by one, off by ten, two digits swapped, the sign
 * flipped. Responses take the forms {@code N}, {@code The answer is N.} or the equation as asked ({@code A + B = N}).
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
        long a = 10 + rnd.nextInt(90), b = 10 + rnd.nextInt(90), c = 10 + rnd.nextInt(90);
        String query, equation;
        long value;
        switch (rnd.nextInt(4)) {
            case 0 -> {
                query = "What is " + a + " + " + b + "?";
                equation = a + " + " + b;
                value = a + b;
            }
            case 1 -> {
                query = "What is " + a + " - " + b + "?";
                equation = a + " - " + b;
                value = a - b;
            }
            case 2 -> {
                b = 2 + rnd.nextInt(18);
                query = "What is " + a + " times " + b + "?";
                equation = a + " times " + b;
                value = a * b;
            }
            default -> {
                query = "Compute " + a + " + " + b + " - " + c + ".";
                equation = a + " + " + b + " - " + c;
                value = a + b - c;
            }
        }
        Set<Long> wrong = new LinkedHashSet<>();
        int want = 1 + rnd.nextInt(3);
        for (int tries = 0; wrong.size() < want && tries < 50; tries++) {
            long w = slip(value, rnd);
            if (w != value) wrong.add(w);
        }
        List<Long> values = new ArrayList<>(wrong);
        int best = rnd.nextInt(values.size() + 1);
        values.add(best, value);
        List<String> responses = new ArrayList<>();
        for (long v : values) responses.add(form(equation, v, rnd));
        return new Item(query, equation, value, List.copyOf(responses), best);
    }

    /** A plausible wrong result: carry slip, off by one or ten, swapped digits, sign error. */
    static long slip(long v, Random rnd) {
        return switch (rnd.nextInt(6)) {
            case 0 -> v + (rnd.nextBoolean() ? 10 : -10);
            case 1 -> v + (rnd.nextBoolean() ? 1 : -1);
            case 2 -> Math.abs(v) >= 100 ? v + (rnd.nextBoolean() ? 100 : -100) : v + 10;
            case 3 -> swapDigits(v, rnd);
            case 4 -> v == 0 ? 1 : -v;
            default -> v + (rnd.nextBoolean() ? 2 : -2);
        };
    }

    static long swapDigits(long v, Random rnd) {
        String s = Long.toString(Math.abs(v));
        if (s.length() < 2) return v + 1;
        int i = rnd.nextInt(s.length() - 1);
        char[] d = s.toCharArray();
        char t = d[i];
        d[i] = d[i + 1];
        d[i + 1] = t;
        long swapped = Long.parseLong(new String(d));
        return v < 0 ? -swapped : swapped;
    }

    static String form(String equation, long v, Random rnd) {
        return switch (rnd.nextInt(3)) {
            case 0 -> Long.toString(v);
            case 1 -> "The answer is " + v + ".";
            default -> equation + " = " + v;
        };
    }

    static void write(List<Item> items, long seed, Path out) throws IOException {
        ObjectMapper json = new ObjectMapper();
        if (out.getParent() != null) Files.createDirectories(out.getParent());
        try (Writer w = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
            for (Item it : items) {
                ObjectNode n = json.createObjectNode();
                ArrayNode conv = n.putArray("conversation_input");
                conv.addObject().put("role", "user").put("content", it.query());
                n.putObject("bon_best").put("answer", it.responses().get(it.best()));
                ArrayNode losers = n.putArray("loser_list");
                for (int i = 0; i < it.responses().size(); i++) if (i != it.best()) losers.addObject().put("answer", it.responses().get(i));
                n.put("task", "arithmetic").put("expected", it.expected()).put("seed", seed);
                w.write(json.writeValueAsString(n));
                w.write('\n');
            }
        }
    }
}
