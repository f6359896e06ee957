package dev.principia.grm;

import java.math.BigInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the final score block of a GRM sample.
 *
 * <p>Contract: only the <em>last</em> {@code \boxed{...}} of the text counts; earlier boxes (sub-scores in
 * the critique) and text after the last box are ignored. Its body must hold exactly {@code numResponses}
 * integers in {@code [minScore, maxScore]}, in presented order, separated by commas. Otherwise the
 * judgment is invalid and its reason names the first problem found, checking in this order: missing or
 * unterminated box, empty box, an empty or non-integer item, the count, the range.
 *
 * <p>Tolerated drift inside the box: whitespace (also LaTeX spaces {@code \, \; \: \! \ ~}); full-width
 * commas and digits; {@code **bold**}, {@code *italic*} and {@code $...$} around the whole body or an
 * item; one pair of surrounding {@code [...]} or {@code (...)}; a trailing period; {@code \boxed {} with
 * space before the brace. Formatting wrappers around text ({@code \text{7}}, {@code \textbf},
 * {@code \mathbf}, {@code \mathrm}, {@code \textit}, {@code \mathit}, {@code \emph}, {@code \boldsymbol})
 * are unwrapped, so {@code \boxed{\text{7}, 3}} reads as 7, 3. Any other LaTeX (e.g. {@code \frac{7}{10}})
 * stays in its item and makes it "not an integer". Braces nest: the box ends at its matching brace.
 * Anything outside the box (bold, {@code $...$}, a period) never matters.
 *
 * <p>Stateless and thread-safe.
 */
public final class JudgmentParser {
    public static final int DEFAULT_MIN_SCORE = 1;
    public static final int DEFAULT_MAX_SCORE = 10;

    private static final Pattern BOX_OPEN = Pattern.compile("\\\\boxed\\s*\\{");
    private static final Pattern WRAPPER = Pattern.compile(
            "\\\\(?:text|textbf|mathbf|mathrm|textit|mathit|emph|boldsymbol)\\s*\\{([^{}]*)}");
    private static final Pattern LATEX_SPACE = Pattern.compile("\\\\[,;:! ]|~");
    private static final Pattern INTEGER = Pattern.compile("[+-]?[0-9]+");
    private static final Pattern ITEM_SEPARATOR = Pattern.compile("[,\uFF0C]");
    private static final String EDGE_MARKS = "*$";

    private final int minScore;
    private final int maxScore;

    public JudgmentParser(int minScore, int maxScore) {
        if (minScore > maxScore) {
            throw new IllegalArgumentException("minScore " + minScore + " > maxScore " + maxScore);
        }
        this.minScore = minScore;
        this.maxScore = maxScore;
    }

    /** A parser for the paper's 1..10 scale. */
    public static JudgmentParser defaults() {
        return new JudgmentParser(DEFAULT_MIN_SCORE, DEFAULT_MAX_SCORE);
    }

    public int minScore() {
        return minScore;
    }

    public int maxScore() {
        return maxScore;
    }

    /**
     * @param text         the generated text of one sample, without the prompt
     * @param numResponses number of responses shown, at least 1
     * @return a valid judgment with scores in presented order, or an invalid one with its reason
     */
    public Judgment parse(String text, int numResponses) {
        if (text == null) throw new IllegalArgumentException("text must not be null");
        if (numResponses < 1) throw new IllegalArgumentException("numResponses must be >= 1, got " + numResponses);
        Matcher m = BOX_OPEN.matcher(text);
        int boxStart = -1;
        int bodyStart = -1;
        while (m.find()) {
            boxStart = m.start();
            bodyStart = m.end();
        }
        if (boxStart < 0) return Judgment.invalid("no \\boxed{} score block", text.strip());
        String rationale = text.substring(0, lineStart(text, boxStart)).strip();
        int bodyEnd = matchingBrace(text, bodyStart);
        if (bodyEnd < 0) return Judgment.invalid("unterminated \\boxed{", rationale);
        String reason = null;
        int[] scores = new int[numResponses];
        String[] items = splitBody(text.substring(bodyStart, bodyEnd));
        if (items == null) return Judgment.invalid("empty \\boxed{}", rationale);
        for (int i = 0; i < items.length && reason == null; i++) {
            if (items[i].isEmpty()) {
                reason = "score " + (i + 1) + " of " + items.length + " is empty";
            } else if (!INTEGER.matcher(items[i]).matches()) {
                reason = "score '" + items[i] + "' is not an integer";
            }
        }
        if (reason == null && items.length != numResponses) {
            reason = "expected " + numResponses + (numResponses == 1 ? " score" : " scores")
                    + ", found " + items.length;
        }
        for (int i = 0; i < items.length && reason == null; i++) {
            BigInteger value = new BigInteger(items[i].startsWith("+") ? items[i].substring(1) : items[i]);
            if (value.compareTo(BigInteger.valueOf(minScore)) < 0 || value.compareTo(BigInteger.valueOf(maxScore)) > 0) {
                reason = "score " + value + " out of range " + minScore + ".." + maxScore;
            } else {
                scores[i] = value.intValueExact();
            }
        }
        return reason == null ? Judgment.valid(scores, rationale) : Judgment.invalid(reason, rationale);
    }

    /** Items of a box body, each normalised and stripped; null when the body holds nothing. */
    private static String[] splitBody(String body) {
        String s = body;
        for (String previous = null; !s.equals(previous); ) {
            previous = s;
            s = WRAPPER.matcher(s).replaceAll(r -> Matcher.quoteReplacement(r.group(1)));
        }
        s = toAsciiDigits(LATEX_SPACE.matcher(s).replaceAll(" "));
        s = stripMarks(s);
        if (s.endsWith(".")) s = stripMarks(s.substring(0, s.length() - 1));
        if (s.length() >= 2 && (s.startsWith("[") && s.endsWith("]") || s.startsWith("(") && s.endsWith(")"))) {
            s = stripMarks(s.substring(1, s.length() - 1));
        }
        if (s.isEmpty()) return null;
        String[] items = ITEM_SEPARATOR.split(s, -1);
        for (int i = 0; i < items.length; i++) items[i] = stripMarks(items[i]);
        return items;
    }

    /** Strips whitespace and the bold/italic/math marks {@code * $} from both ends. */
    private static String stripMarks(String s) {
        int from = 0;
        int to = s.length();
        while (from < to && (Character.isWhitespace(s.charAt(from)) || EDGE_MARKS.indexOf(s.charAt(from)) >= 0)) from++;
        while (to > from && (Character.isWhitespace(s.charAt(to - 1)) || EDGE_MARKS.indexOf(s.charAt(to - 1)) >= 0)) to--;
        return s.substring(from, to);
    }

    /** Maps full-width digits U+FF10..U+FF19 to ASCII; other characters unchanged. */
    private static String toAsciiDigits(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(c >= '\uFF10' && c <= '\uFF19' ? (char) ('0' + (c - '\uFF10')) : c);
        }
        return b.toString();
    }

    /** Index of the brace closing the one opened just before {@code from}, or -1. */
    private static int matchingBrace(String text, int from) {
        int depth = 1;
        for (int i = from; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '{') depth++;
            else if (c == '}' && --depth == 0) return i;
        }
        return -1;
    }

    private static int lineStart(String text, int index) {
        return text.lastIndexOf('\n', index - 1) + 1;
    }
}
