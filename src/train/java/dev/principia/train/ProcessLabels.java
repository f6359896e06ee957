package dev.principia.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import dev.principia.cli.ArithmeticTask;
import dev.principia.grm.Conversation;
import dev.principia.grm.MetaInput;

/**
 * Process labels for the meta-RM: for every token of a judgment's principles and critique, whether the working
 * so far is still right. The working {@link Critiques} writes for an item is the only right one, and it does not
 * depend on chance (only the scores do), so the first token where a judgment departs from it is where the judge
 * slipped; from there on the judgment is wrong, whatever its last token says.
 *
 * <p>A judgment is trusted or not by its last token alone (that is all the server reads); these labels are a
 * training signal at every token before it, so that the model learns to check each column where it is written and
 * carry "wrong so far" forward, instead of finding the slip from the last token alone. Token positions come from
 * the tokenizer itself: the first token where two renderings of the same input differ. The per-token loss and its
 * weights are here too ({@link #loss}, {@link #weights}).
 */
final class ProcessLabels {
    /** A token that carries no process label: the prompt, the scores, and a trusted judgment after its slip. */
    static final byte NONE = -1;
    /** Right so far: a digit of the working (a value the judge wrote, where a slip would show). */
    static final byte RIGHT_DIGIT = 2;
    /** The first token that departs from the right working: where the slip shows. */
    static final byte SLIP = 3;

    private static final String SCORES = "Scores: \\boxed{";
    private static final Pattern QUERY = Pattern.compile(
            "What is (\\d+) ([+-]|times) (\\d+)\\?|Compute (\\d+) \\+ (\\d+) - (\\d+)\\.");
    private static final Pattern LAST_NUMBER = Pattern.compile("-?\\d+(?!.*\\d)");

    private ProcessLabels() {
    }

    /**
     * The {@link ArithmeticTask} item a query in one of its four forms asks, with {@code responses} in request order
     * (each stating the last integer it contains); null when the query is not in one of those forms or a response
     * states no number.
     */
    static ArithmeticTask.Item item(String query, List<String> responses) {
        Matcher q = QUERY.matcher(query);
        if (!q.matches()) return null;
        ArithmeticTask.Op op;
        long a, b, c = 0, expected;
        String equation;
        if (q.group(1) != null) {
            a = Long.parseLong(q.group(1));
            b = Long.parseLong(q.group(3));
            String sign = q.group(2);
            op = sign.equals("+") ? ArithmeticTask.Op.ADD : sign.equals("-") ? ArithmeticTask.Op.SUB : ArithmeticTask.Op.MUL;
            expected = switch (op) {
                case ADD -> a + b;
                case SUB -> a - b;
                default -> a * b;
            };
            equation = a + " " + sign + " " + b;
        } else {
            op = ArithmeticTask.Op.ADD_SUB;
            a = Long.parseLong(q.group(4));
            b = Long.parseLong(q.group(5));
            c = Long.parseLong(q.group(6));
            expected = a + b - c;
            equation = a + " + " + b + " - " + c;
        }
        if (op == ArithmeticTask.Op.MUL && (a < 10 || a > 99 || b < 2 || b > 19)) return null; // outside what Critiques works
        List<Long> values = new ArrayList<>();
        for (String r : responses) {
            Matcher m = LAST_NUMBER.matcher(r);
            if (!m.find()) return null;
            values.add(Long.parseLong(m.group()));
        }
        return new ArithmeticTask.Item(op, a, b, c, query, equation, expected, List.copyOf(responses), List.copyOf(values),
                values.indexOf(expected));
    }

    /** Per-token labels, and whether the principles and critique depart from the right working anywhere. */
    record Labels(byte[] perToken, boolean departs) {
        /** No labels: a sample that is not one of {@link ArithmeticTask}'s items. */
        static Labels none(int tokens) {
            byte[] l = new byte[tokens];
            Arrays.fill(l, NONE);
            return new Labels(l, false);
        }
    }

    private static String rightWorking(ArithmeticTask.Item item, int[] order) {
        String right = Critiques.judge(item, order, new Random(0));
        return right.substring(0, right.indexOf(SCORES));
    }

    /**
     * Labels for {@code tokens}, the meta-RM input that {@code input} makes of
     * {@code judgment} on {@code item} with its responses presented in {@code order}: 1 while the principles and
     * critique follow the right working ({@link #RIGHT_DIGIT} where that token is a digit, {@code digit} saying
     * which token ids are), {@link #SLIP} at the first token that departs from it and 0 after it, {@link #NONE}
     * elsewhere (and from the departure on when the judgment is trusted anyway: a slip that changed no verdict).
     */
    static Labels labels(MetaInput input, Conversation conversation, List<String> presented,
                         ArithmeticTask.Item item, int[] order, String judgment, int[] tokens, boolean trusted, boolean[] digit) {
        String rightWorking = rightWorking(item, order);
        int scores = judgment.indexOf(SCORES);
        String working = scores < 0 ? judgment : judgment.substring(0, scores);
        int start = commonPrefix(tokens, encode(input, conversation, presented, "#"));
        int end = scores < 0 ? tokens.length - 1 : commonPrefix(tokens, encode(input, conversation, presented, working + "#"));
        int slip = -1;
        if (!working.equals(rightWorking)) {
            String fixed = rightWorking + (scores < 0 ? "" : judgment.substring(scores));
            slip = commonPrefix(tokens, encode(input, conversation, presented, fixed));
        }
        byte[] labels = new byte[tokens.length];
        Arrays.fill(labels, NONE);
        for (int t = start; t < Math.min(end, tokens.length - 1); t++) {
            if (slip < 0 || t < slip) labels[t] = tokens[t] < digit.length && digit[tokens[t]] ? RIGHT_DIGIT : 1;
            else if (!trusted) labels[t] = t == slip ? SLIP : 0;
        }
        return new Labels(labels, slip >= 0);
    }

    static int[] encode(MetaInput input, Conversation conversation, List<String> presented, String judgment) {
        return input.encode(conversation, presented, List.of(), judgment);
    }

    /** Which token ids of {@code codec}'s tokenizer are a single decimal digit. */
    static boolean[] digits(dev.principia.model.Tokenizer tokenizer, int vocab) {
        boolean[] d = new boolean[vocab];
        for (int i = 0; i <= 9; i++) {
            int[] ids = tokenizer.encode(Integer.toString(i));
            if (ids.length == 1 && ids[0] < vocab) d[ids[0]] = true;
        }
        return d;
    }

    /** Whether a process label says "right so far". */
    static boolean right(byte label) {
        return label == 1 || label == RIGHT_DIGIT;
    }

    static int commonPrefix(int[] a, int[] b) {
        int n = Math.min(a.length, b.length), i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }

    /** BCE of the per-token scores {@code s} [B, T] against {@code y} [B, T], averaged with the weights {@code w} [B, T]. */
    static Tensor loss(Tensor s, Tensor y, Tensor w) {
        Tensor bce = torch.softplus(s).sub(y.mul(s)).mul(w);
        return bce.sum().div(w.sum().clamp_min(new Scalar(1e-12)));
    }

    /**
     * Per-token weights of the process loss, in four groups that each get a fixed share of it whatever their sizes
     * (there are some hundred right tokens per slip): {@code check} split evenly between the right digits and
     * the slips (checking where a value is written), and {@code carry} split evenly between the other right-so-far
     * tokens and the tokens after a slip (carrying "wrong so far" forward to the last token, which the server reads).
     * A group absent from the batch leaves its share to its partner.
     */
    static float[] weights(List<MetaTrain.Sample> part, int t, double check, double carry) {
        int rightPlain = 0, digits = 0, slips = 0, after = 0;
        for (MetaTrain.Sample s : part) {
            for (byte b : s.process()) {
                switch (b) {
                    case RIGHT_DIGIT -> digits++;
                    case SLIP -> slips++;
                    case 1 -> rightPlain++;
                    case 0 -> after++;
                    default -> { }
                }
            }
        }
        float wDigit = share(check, digits, slips), wSlip = share(check, slips, digits);
        float wPlain = share(carry, rightPlain, after), wAfter = share(carry, after, rightPlain);
        float[] w = new float[part.size() * t];
        for (int k = 0; k < part.size(); k++) {
            byte[] p = part.get(k).process();
            for (int j = 0; j < p.length; j++) {
                w[k * t + j] = switch (p[j]) {
                    case NONE -> 0;
                    case RIGHT_DIGIT -> wDigit;
                    case SLIP -> wSlip;
                    case 0 -> wAfter;
                    default -> wPlain;
                };
            }
        }
        return w;
    }

    /** Each of a group's {@code n} tokens' weight: half of {@code total}, or all of it when the partner group is empty. */
    private static float share(double total, int n, int partner) {
        return n == 0 ? 0 : (float) (total * (partner == 0 ? 1 : 0.5) / n);
    }
}
