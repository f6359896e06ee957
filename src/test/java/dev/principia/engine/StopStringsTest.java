package dev.principia.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class StopStringsTest {
    private static final String[] TEXTS = {"a", "b", "c", "</", "end", ">", "\n", "xx"};

    /** Index of the token after which generation stops, or -1: the slow reference re-scans the whole text. */
    private static int reference(int[] tokens, List<String> stops) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < tokens.length; i++) {
            text.append(TEXTS[tokens[i]]);
            for (String s : stops) if (text.indexOf(s) >= 0) return i;
        }
        return -1;
    }

    private static int fast(int[] tokens, List<String> stops) {
        StopStrings c = new StopStrings(TEXTS, stops, SequenceController.NONE);
        for (int i = 0; i < tokens.length; i++) if (c.accept(tokens[i])) return i;
        return -1;
    }

    @Test
    void stopsWhereAFullRescanWould() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        List<List<String>> stopSets = List.of(List.of("</end>"), List.of("bc", "\n\n"), List.of("xxa", "cab"), List.of("a"));
        for (int trial = 0; trial < 5000; trial++) {
            int[] tokens = new int[1 + r.nextInt(300)];
            for (int i = 0; i < tokens.length; i++) tokens[i] = r.nextInt(TEXTS.length);
            List<String> stops = stopSets.get(trial % stopSets.size());
            assertEquals(reference(tokens, stops), fast(tokens, stops), "trial " + trial);
        }
    }

    @Test
    void spansTokensAndDelegates() {
        SequenceController inner = new SequenceController() {
            @Override
            public boolean accept(int tokenId) {
                return tokenId == 7;
            }
        };
        StopStrings c = new StopStrings(TEXTS, List.of("</end>"), inner);
        assertFalse(c.accept(3));
        assertFalse(c.accept(4));
        assertTrue(c.accept(5), "'</' + 'end' + '>' completes the stop string");
        assertTrue(new StopStrings(TEXTS, List.of("zzz"), inner).accept(7), "the inner controller can still stop");
        assertThrows(IllegalArgumentException.class, () -> new StopStrings(TEXTS, List.of(""), inner));
    }
}
