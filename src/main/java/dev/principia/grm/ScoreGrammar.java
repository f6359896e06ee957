package dev.principia.grm;

/**
 * The character-level grammar of a forced score block, for constrained decoding ("score forcing").
 *
 * <p>When a sample nears its token limit without a score block, the engine appends {@link #prefix()} and
 * then only lets through tokens that keep the forced text a prefix of the language
 * <pre>  S ", " S ", " ... ", " S "}"    (exactly numResponses S)</pre>
 * where S is an integer in {@code [min, max]} written canonically: ASCII digits, no sign, no leading zero.
 * Nothing may follow the closing brace. Every complete string parses, after {@link #prefix()}, to a valid
 * {@link Judgment} under a {@link JudgmentParser} with the same range.
 *
 * <p>Prefixes compose: {@code accepts(s, t)} is exactly {@code isValidPrefix(s + t)}, so "," and " " may
 * arrive as separate tokens and a token may span several items. Immutable and thread-safe.
 */
public final class ScoreGrammar {
    /** Text appended before forcing; the forced block continues right after its brace. */
    public static final String PREFIX = "\n\nScores: \\boxed{";
    public static final String SEPARATOR = ", ";
    public static final String CLOSE = "}";
    /** Every character that can occur in a forced block. */
    private static final String ALPHABET = "0123456789, }";

    private static final int INVALID = -1;
    private static final int PARTIAL = 0;
    private static final int COMPLETE = 1;

    private final int numResponses;
    private final int min;
    private final int max;
    private final int maxDigits;

    public ScoreGrammar(int numResponses, int min, int max) {
        if (numResponses < 1) throw new IllegalArgumentException("numResponses must be >= 1, got " + numResponses);
        if (min < 0) throw new IllegalArgumentException("min must be >= 0, got " + min);
        if (max < min) throw new IllegalArgumentException("max " + max + " < min " + min);
        this.numResponses = numResponses;
        this.min = min;
        this.max = max;
        this.maxDigits = Integer.toString(max).length();
    }

    public String prefix() {
        return PREFIX;
    }

    public int numResponses() {
        return numResponses;
    }

    /** Length of the longest complete block after the prefix: every score at max digits, separators, brace. */
    public int maxForcedChars() {
        return numResponses * maxDigits + (numResponses - 1) * SEPARATOR.length() + CLOSE.length();
    }

    /** Whether some continuation of {@code forcedSoFar} is complete; true for "" and for complete blocks. */
    public boolean isValidPrefix(String forcedSoFar) {
        return scan(forcedSoFar) != INVALID;
    }

    /** Whether {@code forcedSoFar} is a whole block, closing brace included; forcing stops here. */
    public boolean isComplete(String forcedSoFar) {
        return scan(forcedSoFar) == COMPLETE;
    }

    /** Whether a token may be emitted next: {@code isValidPrefix(forcedSoFar + tokenText)}; false for an empty token. */
    public boolean accepts(String forcedSoFar, String tokenText) {
        if (tokenText == null || tokenText.isEmpty()) return false;
        return isValidPrefix(forcedSoFar + tokenText);
    }

    /** Characters c with {@code isValidPrefix(forcedSoFar + c)}, in "0123456789, }" order; empty once complete. */
    public String nextChars(String forcedSoFar) {
        StringBuilder allowed = new StringBuilder();
        for (int i = 0; i < ALPHABET.length(); i++) {
            if (isValidPrefix(forcedSoFar + ALPHABET.charAt(i))) allowed.append(ALPHABET.charAt(i));
        }
        return allowed.toString();
    }

    private int scan(String s) {
        if (s == null) throw new IllegalArgumentException("forced text must not be null");
        int pos = 0;
        int len = s.length();
        for (int k = 0; k < numResponses; k++) {
            int start = pos;
            while (pos < len && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') pos++;
            String digits = s.substring(start, pos);
            if (pos == len) return digits.isEmpty() || isScorePrefix(digits) ? PARTIAL : INVALID;
            if (!isScore(digits)) return INVALID;
            String delimiter = k == numResponses - 1 ? CLOSE : SEPARATOR;
            for (int m = 0; m < delimiter.length(); m++, pos++) {
                if (pos == len) return PARTIAL;
                if (s.charAt(pos) != delimiter.charAt(m)) return INVALID;
            }
        }
        return pos == len ? COMPLETE : INVALID;
    }

    private boolean isScore(String digits) {
        return isCanonical(digits) && digits.length() <= maxDigits && inRange(Long.parseLong(digits));
    }

    /** Whether some canonical score in range starts with {@code digits} (itself included). */
    private boolean isScorePrefix(String digits) {
        if (!isCanonical(digits) || digits.length() > maxDigits) return false;
        if (digits.equals("0")) return min == 0;
        long low = Long.parseLong(digits);
        long span = 1;
        for (int extra = 0; extra <= maxDigits - digits.length(); extra++, low *= 10, span *= 10) {
            if (low <= max && low + span - 1 >= min) return true;
        }
        return false;
    }

    private boolean inRange(long value) {
        return value >= min && value <= max;
    }

    private static boolean isCanonical(String digits) {
        return !digits.isEmpty() && (digits.length() == 1 || digits.charAt(0) != '0');
    }
}
