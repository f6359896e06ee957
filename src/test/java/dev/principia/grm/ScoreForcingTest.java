package dev.principia.grm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.principia.engine.Sampler;
import dev.principia.engine.SequenceController;
import dev.principia.model.TestTokenizers;
import dev.principia.model.Tokenizer;

/** Score forcing over the real Qwen3 vocabulary: whatever the logits say, the block parses. */
class ScoreForcingTest {
    private static Tokenizer tokenizer;
    private static ScoreForcing.Vocabulary vocabulary;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(TestTokenizers.qwen3().resolve("tokenizer.json"));
        String[] texts = tokenizer.tokenTexts(151936);
        vocabulary = ScoreForcing.Vocabulary.of(tokenizer.encode(new ScoreGrammar(1, 1, 10).prefix()), texts);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void forcedBlocksAlwaysParseUnderRandomLogits() {
        SplittableRandom random = new SplittableRandom(3);
        JudgmentParser parser = JudgmentParser.defaults();
        for (int trial = 0; trial < 40; trial++) {
            int n = 1 + random.nextInt(6);
            ScoreGrammar grammar = new ScoreGrammar(n, 1, 10);
            ScoreForcing forcing = new ScoreForcing(vocabulary, grammar, parser, n);
            int maxNew = ScoreForcing.reserveTokens(vocabulary, grammar) + 5 + random.nextInt(10);
            StringBuilder generated = new StringBuilder();
            int numGenerated = 0;
            boolean stopped = false;
            while (!stopped && numGenerated < maxNew) {
                int[] forced = forcing.forced(numGenerated, maxNew);
                if (forced.length > 0) {
                    for (int t : forced) {
                        numGenerated++;
                        assertFalse(forcing.accept(t));
                    }
                    generated.append(tokenizer.decode(forced));
                    continue;
                }
                float[] logits = new float[151936];
                for (int i = 0; i < logits.length; i++) logits[i] = (float) random.nextGaussian();
                forcing.process(logits);
                int token = Sampler.argmax(logits);
                numGenerated++;
                generated.append(tokenizer.decode(new int[] {token}));
                stopped = forcing.accept(token);
            }
            assertTrue(stopped, "the block completed within max_new_tokens: " + generated);
            assertTrue(forcing.forced());
            Judgment j = parser.parse(generated.toString(), n);
            assertTrue(j.valid(), generated + " -> " + j.invalidReason());
            assertEquals(n, j.scores().length);
        }
    }

    @Test
    void forceNowStartsTheBlockBeforeTheLimit() {
        ScoreGrammar grammar = new ScoreGrammar(2, 1, 10);
        ScoreForcing forcing = new ScoreForcing(vocabulary, grammar, JudgmentParser.defaults(), 2);
        assertArrayEquals(SequenceController.EMPTY, forcing.forced(3, 1000));
        forcing.forceNow();
        assertArrayEquals(vocabulary.prefixTokens(), forcing.forced(4, 1000));
        assertTrue(forcing.forcedEarly());
    }

    @Test
    void aSelfWrittenValidBlockStopsTheSample() {
        ScoreForcing forcing = new ScoreForcing(vocabulary, new ScoreGrammar(2, 1, 10), JudgmentParser.defaults(), 2);
        boolean stopped = false;
        for (int t : tokenizer.encode("Principles...\nScores: \\boxed{7, 3}")) stopped = forcing.accept(t);
        assertTrue(stopped);
        assertFalse(forcing.forced());
    }
}
