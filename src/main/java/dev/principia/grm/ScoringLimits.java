package dev.principia.grm;

/**
 * Input limits a scoring request is checked against.
 *
 * @param maxResponses          responses per request
 * @param maxStringChars        characters in any one turn, response or principle
 * @param maxConversationTurns  turns per conversation
 * @param maxPrinciples         caller-supplied principles per request
 * @param maxPromptTokens       tokens of a rendered GRM prompt
 */
public record ScoringLimits(int maxResponses, int maxStringChars, int maxConversationTurns, int maxPrinciples,
                            int maxPromptTokens) {
    public ScoringLimits {
        if (maxResponses < 1 || maxStringChars < 1 || maxConversationTurns < 1 || maxPrinciples < 0 || maxPromptTokens < 1) {
            throw new IllegalArgumentException("scoring limits must be positive");
        }
    }
}
