package dev.principia.grm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class JudgmentParserTest {
    private final JudgmentParser parser = JudgmentParser.defaults();

    private static String createSample(String scoreLine) {
        return "Principles:\n1. Correctness (60%)\n2. Clarity (40%)\n\nCritique:\nResponse 1 is right; response 2 is not.\n\n"
                + scoreLine;
    }

    private void assertScores(String text, int... expected) {
        Judgment j = parser.parse(text, expected.length);
        assertTrue(j.valid(), () -> "expected valid, got " + j);
        assertArrayEquals(expected, j.scores());
        assertNull(j.invalidReason());
    }

    private void assertInvalid(String text, int numResponses, String reason) {
        Judgment j = parser.parse(text, numResponses);
        assertFalse(j.valid());
        assertEquals(reason, j.invalidReason());
        assertEquals(0, j.scores().length);
    }

    @Test
    void plainScoreLine() {
        assertScores(createSample("Scores: \\boxed{7, 3}"), 7, 3);
    }

    @Test
    void singleResponse() {
        assertScores(createSample("Scores: \\boxed{10}"), 10);
    }

    @Test
    void boldLabelAndBoldBox() {
        assertScores(createSample("**Scores:** \\boxed{7, 3}"), 7, 3);
        assertScores(createSample("Scores: **\\boxed{7, 3}**"), 7, 3);
        assertScores(createSample("Scores: \\boxed{**7**, **3**}"), 7, 3);
        assertScores(createSample("Scores: \\boxed{**7, 3**}"), 7, 3);
    }

    @Test
    void mathDelimitersAroundOrInside() {
        assertScores(createSample("Scores: $\\boxed{7, 3}$"), 7, 3);
        assertScores(createSample("Scores: $$\\boxed{7, 3}$$"), 7, 3);
        assertScores(createSample("Scores: \\(\\boxed{7, 3}\\)"), 7, 3);
        assertScores(createSample("Scores: \\boxed{$7$, $3$}"), 7, 3);
    }

    @Test
    void markdownHeadingsBefore() {
        assertScores("## Principles\n- Accuracy\n\n## Critique\nFine.\n\n### Final Scores\n\\boxed{4, 9}", 4, 9);
    }

    @Test
    void subScoresInCritiqueBeforeFinalLine() {
        String text = "Response 1: 6/10, mostly right.\nResponse 2: \\boxed{5} for clarity, \\boxed{2} for accuracy.\n"
                + "Overall \\boxed{5, 2, 9} earlier draft.\n\nScores: \\boxed{6, 3}";
        assertScores(text, 6, 3);
    }

    @Test
    void lastOfSeveralBoxesWins() {
        assertScores("Scores: \\boxed{1, 1}\nOn reflection:\nScores: \\boxed{8, 2}", 8, 2);
        assertInvalid("Scores: \\boxed{8, 2}\nScores: \\boxed{8}", 2, "expected 2 scores, found 1");
    }

    @Test
    void textAfterLastBoxIsIgnored() {
        assertScores(createSample("Scores: \\boxed{7, 3}.\n\nI hope this evaluation helps!"), 7, 3);
    }

    @Test
    void toleratedDriftInsideTheBox() {
        assertScores("\\boxed{ 7 ,3 }", 7, 3);
        assertScores("\\boxed{7,3}", 7, 3);
        assertScores("\\boxed{7, 3.}", 7, 3);
        assertScores("\\boxed{7\uFF0C3}", 7, 3);
        assertScores("\\boxed{\uFF17, \uFF13}", 7, 3);
        assertScores("\\boxed{7,\\ 3}", 7, 3);
        assertScores("\\boxed{7,\\,3}", 7, 3);
        assertScores("\\boxed{[7, 3]}", 7, 3);
        assertScores("\\boxed {7, 3}", 7, 3);
        assertScores("\\boxed{+7, 03}", 7, 3);
    }

    @Test
    void formattingWrappersAreUnwrapped() {
        assertScores("\\boxed{\\text{7}, 3}", 7, 3);
        assertScores("\\boxed{\\textbf{7}, \\mathbf{3}}", 7, 3);
        assertScores("\\boxed{\\text{7, 3}}", 7, 3);
    }

    @Test
    void otherLatexIsNotAnInteger() {
        assertInvalid("\\boxed{\\frac{7}{10}, 3}", 2, "score '\\frac{7}{10}' is not an integer");
    }

    @Test
    void wrongCount() {
        assertInvalid(createSample("Scores: \\boxed{7, 3, 5}"), 2, "expected 2 scores, found 3");
        assertInvalid(createSample("Scores: \\boxed{7, 3}"), 1, "expected 1 score, found 2");
    }

    @Test
    void outOfRange() {
        assertInvalid("\\boxed{11, 3}", 2, "score 11 out of range 1..10");
        assertInvalid("\\boxed{7, 0}", 2, "score 0 out of range 1..10");
        assertInvalid("\\boxed{7, 99999999999999999999}", 2, "score 99999999999999999999 out of range 1..10");
    }

    @Test
    void negative() {
        assertInvalid("\\boxed{-3, 7}", 2, "score -3 out of range 1..10");
    }

    @Test
    void decimals() {
        assertInvalid("\\boxed{7.5, 3}", 2, "score '7.5' is not an integer");
        assertInvalid("\\boxed{7/10, 3/10}", 2, "score '7/10' is not an integer");
        assertInvalid("\\boxed{7 3}", 2, "score '7 3' is not an integer");
    }

    @Test
    void empty() {
        assertInvalid("Scores: \\boxed{}", 2, "empty \\boxed{}");
        assertInvalid("Scores: \\boxed{ ** }", 2, "empty \\boxed{}");
        assertInvalid("Scores: \\boxed{7, , 3}", 3, "score 2 of 3 is empty");
        assertInvalid("Scores: \\boxed{7, 3,}", 2, "score 3 of 3 is empty");
    }

    @Test
    void missingOrUnterminated() {
        assertInvalid("I think response 1 is better. Scores: 7, 3", 2, "no \\boxed{} score block");
        assertInvalid("", 1, "no \\boxed{} score block");
        assertInvalid("Scores: \\boxed{7, 3", 2, "unterminated \\boxed{");
        assertInvalid("Scores: \\boxed{\\text{7}, 3", 2, "unterminated \\boxed{");
    }

    @Test
    void checksSyntaxBeforeCountBeforeRange() {
        assertInvalid("\\boxed{11, x, 3}", 2, "score 'x' is not an integer");
        assertInvalid("\\boxed{11, 3, 3}", 2, "expected 2 scores, found 3");
    }

    @Test
    void rationaleIsTextBeforeTheScoreLine() {
        Judgment j = parser.parse("## Principles\nA (100%)\n\n## Critique\nGood.\n\n**Scores:** \\boxed{7}\nBye.", 1);
        assertEquals("## Principles\nA (100%)\n\n## Critique\nGood.", j.rationale());
        assertEquals("no box here", parser.parse("  no box here \n", 1).rationale());
    }

    @Test
    void customRange() {
        JudgmentParser wide = new JudgmentParser(0, 100);
        assertArrayEquals(new int[] {0, 100}, wide.parse("\\boxed{0, 100}", 2).scores());
        assertEquals("score 101 out of range 0..100", wide.parse("\\boxed{101}", 1).invalidReason());
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> parser.parse(null, 1));
        assertThrows(IllegalArgumentException.class, () -> parser.parse("\\boxed{1}", 0));
        assertThrows(IllegalArgumentException.class, () -> new JudgmentParser(5, 4));
    }

    @Test
    void judgmentInvariants() {
        assertThrows(IllegalArgumentException.class, () -> Judgment.valid(new int[0]));
        assertThrows(IllegalArgumentException.class, () -> Judgment.invalid(" "));
        assertThrows(IllegalArgumentException.class, () -> new Judgment(new int[] {1}, false, "bad", ""));
        assertThrows(IllegalArgumentException.class, () -> new Judgment(new int[] {1}, true, "bad", ""));
        int[] scores = {7, 3};
        Judgment j = Judgment.valid(scores);
        scores[0] = 1;
        j.scores()[1] = 1;
        assertArrayEquals(new int[] {7, 3}, j.scores());
        assertEquals(Judgment.valid(new int[] {7, 3}), j);
        assertEquals(0, Judgment.invalid("x").scores().length);
    }
}
