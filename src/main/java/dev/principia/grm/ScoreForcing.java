package dev.principia.grm;

import java.util.Arrays;

import dev.principia.engine.SequenceController;

/**
 * Score forcing: when a sample nears its token limit without a finished score block, append the
 * score-line prefix and constrain decoding to the {@code \boxed{d, d, ...}} grammar, so that
 * every sample that runs to its limit still ends in a parseable score line. Also stops a sample
 * as soon as it has written a complete valid score block by itself. One instance per sample.
 */
final class ScoreForcing implements SequenceController {

    /** Per-tokenizer data shared by all samples: the prefix's tokens and the tokens a score block can use. */
    record Vocabulary(int[] prefixTokens, int[] candidateTokens, String[] tokenTexts) {
        static Vocabulary of(int[] prefixTokens, String[] tokenTexts) {
            int[] candidates = new int[tokenTexts.length];
            int n = 0;
            for (int id = 0; id < tokenTexts.length; id++) {
                String t = tokenTexts[id];
                if (t != null && !t.isEmpty() && t.chars().allMatch(c -> (c >= '0' && c <= '9') || c == ',' || c == ' ' || c == '}')) {
                    candidates[n++] = id;
                }
            }
            return new Vocabulary(prefixTokens.clone(), Arrays.copyOf(candidates, n), tokenTexts);
        }
    }

    private final Vocabulary vocabulary;
    private final ScoreGrammar grammar;
    private final JudgmentParser parser;
    private final int numResponses;
    private final int reserveTokens;
    private final StringBuilder text = new StringBuilder();
    private final StringBuilder forcedText = new StringBuilder();
    private boolean forcing;
    private int numPrefixPending;
    /** Set from another thread (anytime scoring) to force the score block at the next step. */
    private volatile boolean forceNow;
    private boolean forcedEarly;

    ScoreForcing(Vocabulary vocabulary, ScoreGrammar grammar, JudgmentParser parser, int numResponses) {
        this.vocabulary = vocabulary;
        this.grammar = grammar;
        this.parser = parser;
        this.numResponses = numResponses;
        this.reserveTokens = reserveTokens(vocabulary, grammar);
    }

    /** Tokens a sample must keep free for the forced block: the prefix plus one token per block character. */
    static int reserveTokens(Vocabulary vocabulary, ScoreGrammar grammar) {
        return vocabulary.prefixTokens().length + grammar.maxForcedChars();
    }

    boolean forced() {
        return forcing;
    }

    /** Whether the block was forced by {@link #forceNow()} before the token limit required it. */
    boolean forcedEarly() {
        return forcedEarly;
    }

    /** Anytime scoring: make the sample write its score block now; it finishes within the reserve. */
    void forceNow() {
        forceNow = true;
    }

    @Override
    public int[] forced(int numGenerated, int maxNewTokens) {
        boolean atLimit = numGenerated + reserveTokens >= maxNewTokens;
        if (!forcing && (atLimit || forceNow)) {
            forcing = true;
            forcedEarly = !atLimit;
            numPrefixPending = vocabulary.prefixTokens().length;
            return vocabulary.prefixTokens();
        }
        return EMPTY;
    }

    @Override
    public void process(float[] logits) {
        if (!forcing) return;
        float[] kept = new float[vocabulary.candidateTokens().length];
        String so = forcedText.toString();
        int[] candidates = vocabulary.candidateTokens();
        for (int i = 0; i < candidates.length; i++) {
            int id = candidates[i];
            kept[i] = id < logits.length && grammar.accepts(so, vocabulary.tokenTexts()[id]) ? logits[id] : Float.NEGATIVE_INFINITY;
        }
        Arrays.fill(logits, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < candidates.length; i++) {
            if (candidates[i] < logits.length) logits[candidates[i]] = kept[i];
        }
    }

    @Override
    public boolean accept(int tokenId) {
        String t = tokenId < vocabulary.tokenTexts().length ? vocabulary.tokenTexts()[tokenId] : "";
        if (!forcing) {
            text.append(t);
            return t.indexOf('}') >= 0 && parser.parse(text.toString(), numResponses).valid();
        }
        if (numPrefixPending > 0) {
            numPrefixPending--;
            text.append(t);
            return false;
        }
        forcedText.append(t);
        return grammar.isComplete(forcedText.toString());
    }
}
