package dev.principia.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

import dev.principia.api.v1.Sample;

/** {@code score}'s per-sample verdicts speak of responses in the caller's numbering, not the shuffled one. */
class ScoreCommandVerdictsTest {

    @Test
    void verdictLinesAreMappedBackToTheCallersOrder() {
        // the sample saw the caller's responses in the order 2, 0, 1: its "Response 1" is the caller's response 2
        Sample s = Sample.newBuilder().setValid(true).addOrder(2).addOrder(0).addOrder(1).addScores(2).addScores(10).addScores(3)
                .setMetaScore(1.5f).setVoteWeight(0.135335).setText("""
                        Principles: the sum must be exact (80%).
                        Critique: 47 + 38 = 85.
                        Response 1 says 86: wrong.
                        Response 2 says 75: wrong.
                        Response 3 says 85: right.
                        Response 9 says 1: out of range, not shown.
                        Scores: \\boxed{3, 2, 10}""").build();
        String out = ScoreCommand.verdicts(4, s);
        String nl = System.lineSeparator();
        assertEquals("sample 4: scores [2, 10, 3], meta-RM 1.50, vote weight 0.135" + nl
                + "  response 2 says 86: wrong." + nl
                + "  response 0 says 75: wrong." + nl
                + "  response 1 says 85: right." + nl, out);
    }

    @Test
    void aSampleWithoutVerdictLinesShowsItsTextAbbreviated() {
        Sample s = Sample.newBuilder().setValid(false).setInvalidReason("no score block").addOrder(0).addOrder(1)
                .setText("x".repeat(100)).build();
        String nl = System.lineSeparator();
        assertEquals("sample 0: invalid (no score block)" + nl + "  " + "x".repeat(57) + "..." + nl, ScoreCommand.verdicts(0, s));
    }
}
