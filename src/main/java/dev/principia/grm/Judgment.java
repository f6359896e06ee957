package dev.principia.grm;

import java.util.Arrays;
import java.util.Objects;

/**
 * The outcome of parsing one GRM sample.
 *
 * <p>Invariants: when {@code valid}, {@code scores} is non-empty and {@code invalidReason} is null;
 * otherwise {@code scores} is empty and {@code invalidReason} is non-blank. The array is copied in and
 * out, so a judgment is immutable.
 *
 * @param scores        one score per response in <em>presented</em> order; empty when invalid
 * @param valid         whether the sample holds a well-formed final score block
 * @param invalidReason user-readable reason, null when valid
 * @param rationale     principles and critique: the text before the line holding the final
 *                      {@code \boxed{}}, stripped; the whole stripped text when there is no box; never null
 */
public record Judgment(int[] scores, boolean valid, String invalidReason, String rationale) {
    private static final int[] NO_SCORES = new int[0];

    public Judgment {
        if (rationale == null) throw new IllegalArgumentException("rationale must not be null (use \"\")");
        if (valid) {
            if (scores == null || scores.length == 0) throw new IllegalArgumentException("a valid judgment needs scores");
            if (invalidReason != null) throw new IllegalArgumentException("a valid judgment has no invalidReason");
            scores = scores.clone();
        } else {
            if (scores != null && scores.length > 0) throw new IllegalArgumentException("an invalid judgment has no scores");
            if (invalidReason == null || invalidReason.isBlank()) {
                throw new IllegalArgumentException("an invalid judgment needs a reason");
            }
            scores = NO_SCORES;
        }
    }

    public static Judgment valid(int[] scores) {
        return new Judgment(scores, true, null, "");
    }

    public static Judgment valid(int[] scores, String rationale) {
        return new Judgment(scores, true, null, rationale);
    }

    public static Judgment invalid(String reason) {
        return new Judgment(null, false, reason, "");
    }

    public static Judgment invalid(String reason, String rationale) {
        return new Judgment(null, false, reason, rationale);
    }

    /** A copy of the scores, presented order; empty when invalid. */
    @Override
    public int[] scores() {
        return scores.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Judgment j && valid == j.valid && Arrays.equals(scores, j.scores)
                && Objects.equals(invalidReason, j.invalidReason) && rationale.equals(j.rationale);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(scores), valid, invalidReason, rationale);
    }

    @Override
    public String toString() {
        return valid ? "Judgment[valid, scores=" + Arrays.toString(scores) + "]"
                : "Judgment[invalid: " + invalidReason + "]";
    }
}
