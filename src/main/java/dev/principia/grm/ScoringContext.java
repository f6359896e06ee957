package dev.principia.grm;

import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Everything scoring a request needs besides the request: one per loaded GRM, shared by all requests.
 *
 * @param generator          the GRM's generation engine
 * @param codec              prompts in, sample texts out
 * @param promptTemplate     the GRM prompt
 * @param principlesTemplate the GRM prompt when the caller supplies principles
 * @param vocabulary         the tokens score forcing may use ({@link #of} derives it)
 * @param parser             reads each sample's last {@code \boxed{}}
 * @param stopTokenIds       end-of-turn / end-of-sequence ids of the model
 * @param limits             input limits
 * @param metaRm             null when no meta reward model is loaded
 * @param executor           runs waves, parsing, meta filtering and the tally off the engine thread
 * @param timer              fires anytime-scoring deadlines
 */
public record ScoringContext(Generator generator, PromptCodec codec, PromptTemplate promptTemplate, PromptTemplate principlesTemplate,
                             ScoreForcing.Vocabulary vocabulary, JudgmentParser parser, int[] stopTokenIds, ScoringLimits limits,
                             MetaRm metaRm, Executor executor, ScheduledExecutorService timer) {

    /**
     * @param tokenTexts each vocabulary id's text ({@link dev.principia.model.Tokenizer#tokenTexts}), for the score grammar
     * @throws IllegalArgumentException when the vocabulary cannot write a score block
     */
    public static ScoringContext of(Generator generator, PromptCodec codec, PromptTemplate promptTemplate, PromptTemplate principlesTemplate,
                                    String[] tokenTexts, int[] stopTokenIds, ScoringLimits limits, MetaRm metaRm, Executor executor,
                                    ScheduledExecutorService timer) {
        ScoreForcing.Vocabulary vocabulary = ScoreForcing.Vocabulary.of(codec.encode(new ScoreGrammar(1, 1, 10).prefix()), tokenTexts);
        if (vocabulary.candidateTokens().length == 0) {
            throw new IllegalArgumentException("the tokenizer has no tokens made of digits, ',', ' ' or '}': score forcing cannot work");
        }
        return new ScoringContext(generator, codec, promptTemplate, principlesTemplate, vocabulary, JudgmentParser.defaults(),
                stopTokenIds.clone(), limits, metaRm, executor, timer);
    }

    /** A fresh score grammar for {@code numResponses} responses. */
    ScoreGrammar grammar(int numResponses) {
        return new ScoreGrammar(numResponses, parser.minScore(), parser.maxScore());
    }

    /** Fewest new tokens a sample over {@code numResponses} responses needs: room for the forced score block. */
    int minNewTokens(int numResponses) {
        return ScoreForcing.reserveTokens(vocabulary, grammar(numResponses)) + 1;
    }
}
