package dev.principia.engine;

/**
 * Per-sequence decoding hook, called on the engine thread once per generated position: first
 * {@link #forced}, then (when nothing is forced) {@link #process} and sampling, then
 * {@link #accept}. Score forcing and grammar-constrained decoding are controllers. One instance
 * belongs to one sequence; it is never called concurrently.
 */
public interface SequenceController {

    /**
     * Tokens the engine appends next without sampling (they are fed to the model in the next step),
     * or an empty array to sample normally.
     *
     * @param numGenerated tokens generated so far (forced ones included)
     * @param maxNewTokens the sequence's generation limit
     */
    default int[] forced(int numGenerated, int maxNewTokens) {
        return EMPTY;
    }

    /** Masks ({@code -Infinity}) or reshapes the next token's logits in place. */
    default void process(float[] logits) {
    }

    /** Observes a generated token (sampled or forced); returns true to stop the sequence after it. */
    default boolean accept(int tokenId) {
        return false;
    }

    int[] EMPTY = new int[0];

    SequenceController NONE = new SequenceController() {
    };
}
