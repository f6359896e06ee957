package dev.principia.cli;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * The task the embedded default GRM was trained on (issue 11): judging answers to integer arithmetic. One
 * definition serves the trainer, {@code demo}, the accuracy harness's item generator and the tests, so that
 * all of them draw from the same distribution.
 *
 * <p>Queries: {@code What is A + B?}, {@code What is A - B?} (A, B in [10, 99]), {@code What is A times B?}
 * (A in [10, 99], B in [2, 19]), {@code Compute A + B - C.} (A, B, C in [10, 99]). Wrong results are the slips a
 * person makes: a dropped or doubled carry (±10 or ±100), off by one or two, off by ten, two digits swapped, the
 * sign flipped. Responses take the forms {@code N}, {@code The answer is N.} or the equation as asked
 * ({@code A + B = N}). Stateless; every draw comes from the caller's {@link Random}.
 */
public final class ArithmeticTask {
    /** The four query forms. */
    public enum Op { ADD, SUB, MUL, ADD_SUB }

    /**
     * One query and the responses to judge.
     *
     * @param values the number each response states, in order
     * @param best   the index of the first right response, or -1 when none is right
     */
    public record Item(Op op, long a, long b, long c, String query, String equation, long expected, List<String> responses,
                       List<Long> values, int best) {
        public boolean right(int response) {
            return values.get(response) == expected;
        }
    }

    private ArithmeticTask() {
    }

    /** An evaluation item: one to four responses, exactly one of them right (at {@link Item#best}). */
    public static Item evalItem(Random rnd) {
        Query q = query(rnd);
        Set<Long> wrong = new LinkedHashSet<>();
        int want = 1 + rnd.nextInt(3);
        for (int tries = 0; wrong.size() < want && tries < 50; tries++) {
            long w = slip(q.value, rnd);
            if (w != q.value) wrong.add(w);
        }
        List<Long> values = new ArrayList<>(wrong);
        int best = rnd.nextInt(values.size() + 1);
        values.add(best, q.value);
        return item(q, values, rnd);
    }

    /** A training item: one to four responses, each right with probability 0.4, so none, one or several may be. */
    public static Item trainingItem(Random rnd) {
        Query q = query(rnd);
        int n = 1 + rnd.nextInt(4);
        List<Long> values = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long v = q.value;
            if (rnd.nextDouble() >= 0.4) {
                for (int tries = 0; tries < 20 && (v == q.value || values.contains(v)); tries++) v = slip(q.value, rnd);
                if (v == q.value) v = q.value + 1 + i;
            }
            values.add(v);
        }
        return item(q, values, rnd);
    }

    private record Query(Op op, long a, long b, long c, String query, String equation, long value) {
    }

    private static Query query(Random rnd) {
        long a = 10 + rnd.nextInt(90), b = 10 + rnd.nextInt(90), c = 10 + rnd.nextInt(90);
        return switch (rnd.nextInt(4)) {
            case 0 -> new Query(Op.ADD, a, b, 0, "What is " + a + " + " + b + "?", a + " + " + b, a + b);
            case 1 -> new Query(Op.SUB, a, b, 0, "What is " + a + " - " + b + "?", a + " - " + b, a - b);
            case 2 -> {
                long m = 2 + rnd.nextInt(18);
                yield new Query(Op.MUL, a, m, 0, "What is " + a + " times " + m + "?", a + " times " + m, a * m);
            }
            default -> new Query(Op.ADD_SUB, a, b, c, "Compute " + a + " + " + b + " - " + c + ".", a + " + " + b + " - " + c,
                    a + b - c);
        };
    }

    private static Item item(Query q, List<Long> values, Random rnd) {
        List<String> responses = new ArrayList<>();
        for (long v : values) responses.add(form(q.equation, v, rnd));
        int best = values.indexOf(q.value);
        return new Item(q.op, q.a, q.b, q.c, q.query, q.equation, q.value, List.copyOf(responses), List.copyOf(values), best);
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
}
