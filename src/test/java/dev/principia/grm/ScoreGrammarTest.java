package dev.principia.grm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ScoreGrammarTest {

    /** The language, enumerated: every complete block for n scores in [min, max]. */
    private static List<String> createLanguage(int n, int min, int max) {
        List<String> blocks = new ArrayList<>();
        blocks.add("");
        for (int k = 0; k < n; k++) {
            List<String> next = new ArrayList<>();
            for (String b : blocks) {
                for (int v = min; v <= max; v++) next.add(b + (k > 0 ? ", " : "") + v);
            }
            blocks = next;
        }
        blocks.replaceAll(b -> b + "}");
        return blocks;
    }

    private static Set<String> createPrefixes(List<String> language) {
        Set<String> prefixes = new HashSet<>();
        for (String s : language) {
            for (int i = 0; i <= s.length(); i++) prefixes.add(s.substring(0, i));
        }
        return prefixes;
    }

    /** Every string over {@code alphabet} up to {@code maxLength}, compared with the enumerated reference. */
    private static void assertMatchesReference(int n, int min, int max, String alphabet, int maxLength) {
        ScoreGrammar grammar = new ScoreGrammar(n, min, max);
        List<String> language = createLanguage(n, min, max);
        Set<String> complete = new HashSet<>(language);
        Set<String> prefixes = createPrefixes(language);
        List<String> frontier = List.of("");
        for (int length = 0; length <= maxLength; length++) {
            List<String> next = new ArrayList<>();
            for (String s : frontier) {
                assertEquals(prefixes.contains(s), grammar.isValidPrefix(s), () -> "isValidPrefix(\"" + s + "\")");
                assertEquals(complete.contains(s), grammar.isComplete(s), () -> "isComplete(\"" + s + "\")");
                if (length < maxLength) for (char c : alphabet.toCharArray()) next.add(s + c);
            }
            frontier = next;
        }
    }

    @Test
    void everyCompleteBlockIsAcceptedCharByCharAndComplete() {
        for (int n = 1; n <= 3; n++) {
            ScoreGrammar grammar = new ScoreGrammar(n, 1, 10);
            for (String block : createLanguage(n, 1, 10)) {
                for (int i = 0; i < block.length(); i++) {
                    assertTrue(grammar.accepts(block.substring(0, i), block.substring(i, i + 1)), block + " at " + i);
                    assertFalse(grammar.isComplete(block.substring(0, i)), block + " complete at " + i);
                }
                assertTrue(grammar.isComplete(block), block);
                assertTrue(grammar.isValidPrefix(block), block);
                assertTrue(block.length() <= grammar.maxForcedChars(), block);
                assertEquals("", grammar.nextChars(block));
            }
        }
    }

    @Test
    void exhaustiveAgainstEnumeratedReference() {
        assertMatchesReference(1, 1, 10, "0123456789, }x", 4);
        assertMatchesReference(2, 1, 10, "0129, }", 7);
        assertMatchesReference(3, 1, 10, "09, }", 8);
        assertMatchesReference(2, 3, 12, "01349, }", 6);
        assertMatchesReference(1, 0, 100, "0159, }", 5);
        assertMatchesReference(2, 5, 5, "0456, }", 6);
    }

    @Test
    void rejectsTypicalMistakes() {
        ScoreGrammar g = new ScoreGrammar(2, 1, 10);
        assertFalse(g.isValidPrefix("0"));
        assertFalse(g.isValidPrefix("11"));
        assertFalse(g.isValidPrefix("1,2"));
        assertFalse(g.isValidPrefix("01"));
        assertFalse(g.isValidPrefix(" 1"));
        assertFalse(g.isValidPrefix("1}"));
        assertFalse(g.isValidPrefix("1, 2, "));
        assertFalse(g.isValidPrefix("1, 2}x"));
        assertFalse(g.isValidPrefix("1,  2"));
        assertFalse(g.isValidPrefix("-1"));
        assertTrue(g.isValidPrefix(""));
        assertTrue(g.isValidPrefix("1"));
        assertTrue(g.isValidPrefix("10"));
        assertTrue(g.isValidPrefix("1,"));
        assertTrue(g.isValidPrefix("1, "));
        assertFalse(g.isComplete("1, 2"));
        assertTrue(g.isComplete("10, 2}"));
    }

    @Test
    void tokensComposeAcrossSeparators() {
        ScoreGrammar g = new ScoreGrammar(3, 1, 10);
        assertTrue(g.accepts("7", ","));
        assertTrue(g.accepts("7,", " "));
        assertTrue(g.accepts("7", ", "));
        assertTrue(g.accepts("", "7, 3, 1"));
        assertTrue(g.accepts("7, 3, ", "10}"));
        assertFalse(g.accepts("7", ""));
        assertFalse(g.accepts("7", "."));
        assertFalse(g.accepts("7, 3, 10}", "\n"));
        assertFalse(g.accepts("7", ",3"));
    }

    @Test
    void nextCharsListsTheAllowedContinuations() {
        ScoreGrammar g = new ScoreGrammar(2, 1, 10);
        assertEquals("123456789", g.nextChars(""));
        assertEquals("0,", g.nextChars("1"));
        assertEquals(",", g.nextChars("10"));
        assertEquals(" ", g.nextChars("7,"));
        assertEquals("0}", g.nextChars("7, 1"));
    }

    @Test
    void prefixAndMaxForcedChars() {
        assertEquals("\n\nScores: \\boxed{", new ScoreGrammar(1, 1, 10).prefix());
        assertEquals("10}".length(), new ScoreGrammar(1, 1, 10).maxForcedChars());
        assertEquals("10, 10, 10, 10}".length(), new ScoreGrammar(4, 1, 10).maxForcedChars());
        assertEquals("9, 9}".length(), new ScoreGrammar(2, 1, 9).maxForcedChars());
    }

    @Test
    void everyCompleteBlockParsesToTheSameScores() {
        JudgmentParser parser = JudgmentParser.defaults();
        for (int n = 1; n <= 3; n++) {
            ScoreGrammar grammar = new ScoreGrammar(n, 1, 10);
            for (String block : createLanguage(n, 1, 10)) {
                Judgment j = parser.parse("gibberish \\boxed{5" + grammar.prefix() + block, n);
                assertTrue(j.valid(), block);
                String[] parts = block.substring(0, block.length() - 1).split(", ");
                int[] expected = new int[n];
                for (int i = 0; i < n; i++) expected[i] = Integer.parseInt(parts[i]);
                assertArrayEquals(expected, j.scores(), block);
            }
        }
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> new ScoreGrammar(0, 1, 10));
        assertThrows(IllegalArgumentException.class, () -> new ScoreGrammar(1, -1, 10));
        assertThrows(IllegalArgumentException.class, () -> new ScoreGrammar(1, 5, 4));
        assertThrows(IllegalArgumentException.class, () -> new ScoreGrammar(1, 1, 10).isValidPrefix(null));
    }
}
