package dev.principia.benchmark;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VotingCurvesTest {

    static VotingCurves.Draw draw(float meta, int... scores) {
        return new VotingCurves.Draw(true, scores, meta);
    }

    @Test
    void exactSubsetsGiveTheCombinatorialMean() {
        // 4 draws: two favour response 0 (the best), two favour response 1 by less. Voting@1 = 2/4; Voting@2 = pairs where
        // the best wins strictly: {a,b}, {a,c}, {a,d}, {b,c}, {b,d} (ties lose): count them by hand
        var a = draw(0.9f, 9, 1);
        var b = draw(0.8f, 8, 2);
        var c = draw(0.1f, 3, 6);
        var d = draw(0.2f, 4, 5);
        var item = new VotingCurves.ItemDraws(List.of(a, b, c, d), 0, 2);
        assertEquals(0.5, VotingCurves.itemAccuracy(item, 1, new Random(1))[0], 1e-12);
        // {a,b} 17-3 win, {a,c} 12-7 win, {a,d} 13-6 win, {b,c} 11-8 win, {b,d} 12-7 win, {c,d} 7-11 lose
        assertEquals(5.0 / 6, VotingCurves.itemAccuracy(item, 2, new Random(1))[0], 1e-12);
        // meta keeps ceil(2/2) = 1 sample, the higher meta score: wins unless {c,d} (d kept: 4 vs 5)
        assertEquals(5.0 / 6, VotingCurves.itemAccuracy(item, 2, new Random(1))[1], 1e-12);
        // k = 4: voting 24-14 win; meta keeps a, b: win
        double[] all = VotingCurves.itemAccuracy(item, 4, new Random(1));
        assertEquals(1.0, all[0], 1e-12);
        assertEquals(1.0, all[1], 1e-12);
    }

    @Test
    void tiesAndInvalidSamplesAreNotCorrect() {
        var tie = new VotingCurves.ItemDraws(List.of(draw(0, 5, 5)), 0, 2);
        assertEquals(0, VotingCurves.correct(tie, new int[]{0}, false));
        var invalid = new VotingCurves.ItemDraws(List.of(new VotingCurves.Draw(false, new int[0], 0)), 0, 2);
        assertEquals(0, VotingCurves.correct(invalid, new int[]{0}, false));
        assertEquals(0, VotingCurves.correct(invalid, new int[]{0}, true));
    }

    /** Random subsets (C(32, 16) is too many to enumerate) agree with the exact mean where both apply. */
    @Test
    void randomSubsetsEstimateTheExactMean() {
        Random rnd = new Random(3);
        List<VotingCurves.Draw> draws = new ArrayList<>();
        for (int i = 0; i < 32; i++) draws.add(draw(rnd.nextFloat(), 1 + rnd.nextInt(10), 1 + rnd.nextInt(10), 1 + rnd.nextInt(10)));
        var item = new VotingCurves.ItemDraws(draws, 1, 3);
        assertTrue(VotingCurves.binomial(32, 2) <= VotingCurves.EXACT_SUBSETS);
        assertTrue(VotingCurves.binomial(32, 4) > VotingCurves.EXACT_SUBSETS);
        double exact4 = exactMean(item, 4);
        double sampled4 = VotingCurves.itemAccuracy(item, 4, new Random(9))[0];
        assertEquals(exact4, sampled4, 0.07, "500 random 4-subsets vs all 35960");
        var points = VotingCurves.curve(List.of(item, item), new int[]{1, 2, 4, 64}, 5);
        assertEquals(3, points.size(), "k above the draws is left out");
        assertEquals(2, points.get(0).items());
    }

    private static double exactMean(VotingCurves.ItemDraws item, int k) {
        int m = item.draws().size(), n = 0, ok = 0;
        for (int a = 0; a < m; a++) for (int b = a + 1; b < m; b++) for (int c = b + 1; c < m; c++) for (int d = c + 1; d < m; d++) {
            ok += VotingCurves.correct(item, new int[]{a, b, c, d}, false);
            n++;
        }
        return (double) ok / n;
    }

    @Test
    void drawsRoundTripThroughTheirJsonLine() throws Exception {
        var item = new VotingCurves.ItemDraws(List.of(draw(0.75f, 9, 1, 3), new VotingCurves.Draw(false, new int[0], -1.5f)), 2, 3);
        var back = VotingCurves.fromJsonLine(VotingCurves.toJsonLine(item));
        assertEquals(item.best(), back.best());
        assertEquals(item.numResponses(), back.numResponses());
        assertEquals(item.draws().size(), back.draws().size());
        for (int i = 0; i < item.draws().size(); i++) {
            assertEquals(item.draws().get(i).valid(), back.draws().get(i).valid());
            assertEquals(item.draws().get(i).metaScore(), back.draws().get(i).metaScore());
            org.junit.jupiter.api.Assertions.assertArrayEquals(item.draws().get(i).scores(), back.draws().get(i).scores());
        }
    }

    @Test
    void metaMinScoreVotesEveryDrawAtOrAboveItAndAllWhenNoneIs() {
        // best is response 0; two trusted draws favour it, three distrusted ones outvote them
        VotingCurves.ItemDraws item = new VotingCurves.ItemDraws(java.util.List.of(
                new VotingCurves.Draw(true, new int[] {8, 2}, 1f), new VotingCurves.Draw(true, new int[] {7, 3}, 0f),
                new VotingCurves.Draw(true, new int[] {2, 9}, -1f), new VotingCurves.Draw(true, new int[] {3, 9}, -2f),
                new VotingCurves.Draw(true, new int[] {2, 8}, -3f), new VotingCurves.Draw(false, new int[0], 5f)), 0, 2);
        int[] all = {0, 1, 2, 3, 4, 5};
        assertEquals(0, VotingCurves.correct(item, all, false), "voting: 22 against 31");
        assertEquals(1, VotingCurves.correct(item, all, true, 0f), "keeps the two scored >= 0; the invalid draw never counts");
        assertEquals(0, VotingCurves.correct(item, all, true, -2f), "four kept: 20 against 23");
        assertEquals(0, VotingCurves.correct(item, all, true, 9f), "none trusted: all valid draws, as voting");
        assertEquals(1, VotingCurves.correct(item, all, true, null), "top half (3 of 6 by index count): 17 against 14");
        java.util.List<VotingCurves.Point> byScore = VotingCurves.curve(java.util.List.of(item), new int[] {6}, 1, 0f);
        assertEquals(1.0, byScore.get(0).meta(), 1e-12);
        assertEquals(0.0, byScore.get(0).voting(), 1e-12);
    }

    @Test
    void metaTemperatureWeightsEveryDrawByItsDistanceBelowTheMostTrusted() {
        // best is response 0: the draw the meta-RM trusts most favours it, two it trusts 4 logits less and two it
        // flags favour response 1
        VotingCurves.ItemDraws item = new VotingCurves.ItemDraws(java.util.List.of(
                new VotingCurves.Draw(true, new int[] {9, 1}, 30f), new VotingCurves.Draw(true, new int[] {3, 7}, 26f),
                new VotingCurves.Draw(true, new int[] {3, 7}, 26f), new VotingCurves.Draw(true, new int[] {1, 9}, -32f),
                new VotingCurves.Draw(true, new int[] {1, 9}, -31f), new VotingCurves.Draw(false, new int[0], 99f)), 0, 2);
        int[] all = {0, 1, 2, 3, 4, 5};
        assertEquals(0, VotingCurves.correct(item, all, false), "voting: 17 against 33");
        assertEquals(0, VotingCurves.correct(item, all, true, 0f), "dropping the flagged: 15 against 15, a tie");
        assertEquals(1, VotingCurves.correct(item, all, true, null, 2f), "T = 2: 9.8 against 2.9; the invalid draw never counts");
        assertEquals(1, VotingCurves.correct(item, all, true, null, 20f), "T = 20: 14.0 against 13.3");
        assertEquals(0, VotingCurves.correct(item, all, true, null, 100f), "T = 100 is nearly plain voting: 15.8 against 24.2");
        java.util.List<VotingCurves.Point> weighted = VotingCurves.curve(java.util.List.of(item), new int[] {6}, 1, null, 2f);
        assertEquals(1.0, weighted.get(0).meta(), 1e-12);
        assertEquals(0.0, weighted.get(0).voting(), 1e-12);
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> VotingCurves.curve(java.util.List.of(item), new int[] {6}, 1, 0f, 2f));
    }
}
