package dev.principia.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import dev.principia.cli.ArithmeticTask;
import dev.principia.cli.ArithmeticTask.Item;

/**
 * The synthetic judgments the GRM is trained to write for an {@link ArithmeticTask} item, in the method's shape:
 * weighted principles, a critique that works the arithmetic out digit by digit and checks each response, then
 * {@code Scores: \boxed{s1, ..., sn}}. Scores follow the principles: a right result earns 8 of the 10 points, a
 * plainly stated answer the rest; a wrong one 1 to 3 (near misses and clear statements earn a point). A fifth of
 * the scores move by one within their band, so that samples differ as a judge's would.
 */
final class Critiques {
    private Critiques() {
    }

    /** The judgment of {@code item} with its responses presented in {@code order} (presented i = item's order[i]). */
    static String judge(Item item, int[] order, Random rnd) {
        return judge(item, order, rnd, null).text();
    }

    /**
     * A judge's slip: the {@code step}-th single-digit result the critique writes (0-based, in writing order: a
     * column's sum, difference or product) is off by {@code delta}, and everything after follows from it, as the
     * GRM's own mistakes do (the result, the verdicts against it and the scores). Kept within the column's range.
     */
    static final class Slip {
        final int step, delta;
        int seen;
        boolean applied;

        Slip(int step, int delta) {
            this.step = step;
            this.delta = delta;
        }

        long apply(long v, long max) {
            if (seen++ != step) return v;
            long w = v + delta;
            if (w < 0 || w > max) w = v - delta;
            if (w < 0 || w > max) return v;
            applied = true;
            return w;
        }
    }

    /** A judgment and whether a slip made it wrong. */
    record Judged(String text, boolean slipped) {
    }

    /** As {@link #judge(Item, int[], Random)}, with {@code slip} (null for none) applied to the working. */
    static Judged judge(Item item, int[] order, Random rnd, Slip slip) {
        StringBuilder out = new StringBuilder();
        String what = switch (item.op()) {
            case ADD -> "sum";
            case SUB -> "difference";
            case MUL -> "product";
            case ADD_SUB -> "result";
        };
        out.append("Principles: the ").append(what).append(" must be exact (80%); the answer should be stated plainly (20%).\n");
        out.append("Critique: ");
        long result = switch (item.op()) {
            case ADD -> add(out, item.a(), item.b(), slip);
            case SUB -> sub(out, item.a(), item.b(), slip);
            case MUL -> mul(out, item.a(), item.b(), slip);
            case ADD_SUB -> {
                out.append("First ");
                long s = add(out, item.a(), item.b(), slip);
                out.append(" Then ");
                yield sub(out, s, item.c(), slip);
            }
        };
        boolean slipped = slip != null && slip.applied;
        if ((result != item.expected()) != slipped) throw new IllegalStateException("worked " + result + " for " + item + ", slipped " + slipped);
        out.append(" So ").append(item.equation()).append(" = ").append(result).append(".\n");
        List<Integer> scores = new ArrayList<>();
        for (int i = 0; i < order.length; i++) {
            int r = order[i];
            long v = item.values().get(r);
            boolean right = v == result;
            out.append("Response ").append(i + 1).append(" says ").append(v).append(right ? ": right.\n" : ": wrong.\n");
            boolean plain = !item.responses().get(r).equals(Long.toString(v));
            int s;
            if (right) {
                s = plain ? 10 : 9;
                if (rnd.nextInt(5) == 0) s--;
            } else {
                s = 1 + (plain ? 1 : 0) + (Math.abs(v - result) <= 2 ? 1 : 0);
                if (rnd.nextInt(5) == 0) s = s == 1 ? 2 : s - 1;
            }
            scores.add(s);
        }
        out.append("Scores: \\boxed{");
        for (int i = 0; i < scores.size(); i++) out.append(i == 0 ? "" : ", ").append(scores.get(i));
        return new Judged(out.append('}').toString(), slipped);
    }

    private static final String[] PLACES = {"Ones", "Tens", "Hundreds"};

    /** x + y, x, y >= 0, digit by digit. */
    static long add(StringBuilder out, long x, long y, Slip slip) {
        out.append(x).append(" + ").append(y).append(":");
        String sx = Long.toString(x), sy = Long.toString(y);
        int n = Math.max(sx.length(), sy.length());
        long carry = 0, result = 0, place = 1;
        for (int i = 0; i < n; i++) {
            long dx = digit(sx, i), dy = digit(sy, i);
            long s = slip == null ? dx + dy + carry : slip.apply(dx + dy + carry, 19);
            out.append(' ').append(PLACES[i]).append(": ").append(dx).append(" + ").append(dy);
            if (carry > 0) out.append(" + ").append(carry);
            out.append(" = ").append(s);
            if (i < n - 1) {
                if (s >= 10) out.append(", write ").append(s % 10).append(" carry 1");
                out.append('.');
                result += (s % 10) * place;
                carry = s / 10;
            } else {
                out.append('.');
                result += s * place;
            }
            place *= 10;
        }
        out.append(" Result: ").append(result).append('.');
        return result;
    }

    /** x - y, x, y >= 0, digit by digit; the larger minus the smaller, negated when y > x. */
    static long sub(StringBuilder out, long x, long y, Slip slip) {
        out.append(x).append(" - ").append(y).append(":");
        boolean negate = y > x;
        long big = negate ? y : x, small = negate ? x : y;
        if (negate) out.append(" ").append(y).append(" is larger, so take ").append(big).append(" - ").append(small).append(" and negate.");
        String sb = Long.toString(big), ss = Long.toString(small);
        long borrow = 0, result = 0, place = 1;
        for (int i = 0; i < sb.length(); i++) {
            long db = digit(sb, i), ds = digit(ss, i);
            out.append(' ').append(PLACES[i]).append(": ").append(db);
            if (borrow > 0) out.append(" - 1");
            out.append(" - ").append(ds);
            long d = db - borrow - ds;
            if (d < 0) {
                d += 10;
                if (slip != null) d = slip.apply(d, 9);
                out.append(" is negative, borrow: ").append(d);
                borrow = 1;
            } else {
                if (slip != null) d = slip.apply(d, 9);
                out.append(" = ").append(d);
                borrow = 0;
            }
            out.append('.');
            result += d * place;
            place *= 10;
        }
        if (negate) result = -result;
        out.append(" Result: ").append(result).append('.');
        return result;
    }

    /** x times m, 10 <= x <= 99, 2 <= m <= 19. */
    static long mul(StringBuilder out, long x, long m, Slip slip) {
        if (m < 10) return mulDigit(out, x, m, slip);
        long ones = m - 10;
        out.append(x).append(" times ").append(m).append(" = ").append(x).append(" times 10 + ").append(x).append(" times ").append(ones)
                .append('.');
        if (ones == 0) {
            out.append(" Result: ").append(x * 10).append('.');
            return x * 10;
        }
        out.append(' ');
        long p = mulDigit(out, x, ones, slip);
        out.append(' ');
        return add(out, x * 10, p, slip);
    }

    private static long mulDigit(StringBuilder out, long x, long m, Slip slip) {
        out.append(x).append(" times ").append(m).append(":");
        String sx = Long.toString(x);
        long carry = 0, result = 0, place = 1;
        for (int i = 0; i < sx.length(); i++) {
            long d = digit(sx, i);
            long p = slip == null ? d * m + carry : slip.apply(d * m + carry, 90);
            out.append(' ').append(PLACES[i]).append(": ").append(d).append(" times ").append(m);
            if (carry > 0) out.append(" + ").append(carry);
            out.append(" = ").append(p);
            if (i < sx.length() - 1) {
                if (p >= 10) out.append(", write ").append(p % 10).append(" carry ").append(p / 10);
                result += (p % 10) * place;
                carry = p / 10;
            } else {
                result += p * place;
            }
            out.append('.');
            place *= 10;
        }
        out.append(" Result: ").append(result).append('.');
        return result;
    }

    private static long digit(String s, int fromRight) {
        int i = s.length() - 1 - fromRight;
        return i < 0 ? 0 : s.charAt(i) - '0';
    }
}
