package dev.principia.grm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import dev.principia.model.HostileText;

/**
 * Property: on any text — score-block fragments, LaTeX, huge and signed numbers, template syntax, special-token
 * texts, control characters, lone surrogates — {@link JudgmentParser} returns a judgment and never throws; a valid
 * one holds exactly n scores, each in range. Seeded: each seed is one counted test of 100 texts.
 */
class JudgmentParserFuzzTest {
    private static final List<String> BOX = List.of("\\boxed{", "\\boxed {", "\\boxed", "{", "}", "}}", "[", "]", "(", ")",
            "0", "1", "5", "7", "10", "11", "-3", "+4", "007", "-0", "99999999999999999999999", "2147483648", ",", "，", "１０",
            " ", "\\,", "\\;", "\\ ", "~", "**", "*", "$", ".", "\\text{", "\\textbf{", "\\mathbf{", "\\frac{7}{10}", "\n",
            "Scores: ", "Scores: \\boxed{", "e", "1e3", "0x1", "½", "٣", "𝟕");

    static IntStream seeds() {
        return IntStream.range(0, 200);
    }

    private static String text(SplittableRandom random) {
        StringBuilder b = new StringBuilder();
        int n = random.nextInt(40);
        for (int i = 0; i < n; i++) {
            b.append(random.nextInt(4) == 0 ? HostileText.next(random, 2) : BOX.get(random.nextInt(BOX.size())));
        }
        return b.toString();
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void neverThrowsAndValidScoresAreInRange(int seed) {
        SplittableRandom random = new SplittableRandom(seed);
        JudgmentParser parser = random.nextBoolean() ? JudgmentParser.defaults() : new JudgmentParser(-5, 5);
        for (int i = 0; i < 100; i++) {
            String text = random.nextInt(50) == 0 ? HostileText.ofLength(random, 32 * 1024) : text(random);
            int n = 1 + random.nextInt(16);
            Judgment j = parser.parse(text, n);
            assertNotNull(j);
            if (j.valid()) {
                assertEquals(n, j.scores().length, text);
                for (int s : j.scores()) assertTrue(s >= parser.minScore() && s <= parser.maxScore(), s + " in " + text);
            } else {
                assertFalse(j.invalidReason().isBlank());
            }
        }
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void aWellFormedFinalBoxIsReadWhateverComesBefore(int seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int n = 1 + random.nextInt(8);
        int[] scores = random.ints(n, 1, 11).toArray();
        StringBuilder box = new StringBuilder("\n\\boxed{");
        for (int i = 0; i < n; i++) box.append(i > 0 ? ", " : "").append(scores[i]);
        String text = text(random).replaceAll("\\\\+boxed", "boxed") + box.append('}');
        Judgment j = JudgmentParser.defaults().parse(text, n);
        assertTrue(j.valid(), text + " -> " + j.invalidReason());
        assertEquals(java.util.Arrays.toString(scores), java.util.Arrays.toString(j.scores()));
    }
}
