package dev.principia.grm;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;


/**
 * The meta reward model: scores how far one GRM sample can be trusted, from an input holding the
 * query, the responses in that sample's order and the sample's principles and critique ({@link MetaInput}).
 * Guided voting keeps the top {@code k_meta} samples by this score ({@link MetaFilter}).
 */
public final class MetaRm {
    private final SequenceClassifier model;
    private final MetaInput input;

    /** @param input the form the meta-RM reads, over its own tokenizer and chat template */
    public MetaRm(SequenceClassifier model, MetaInput input) {
        this.model = model;
        this.input = input;
    }

    /**
     * @param principles the caller's principles the samples were prompted with, empty when none
     * @param orders per sample, the order its responses were shown in
     * @param texts  per sample, its generated judgment
     * @param deadlineNanos {@link System#nanoTime()} by which the scores are due; {@link Long#MAX_VALUE} = none
     */
    public CompletableFuture<float[]> score(Conversation conversation, List<String> responses, List<String> principles, List<int[]> orders,
                                            List<String> texts, long deadlineNanos) {
        List<int[]> sequences = new ArrayList<>(orders.size());
        for (int s = 0; s < orders.size(); s++) {
            int[] tokens;
            try {
                tokens = input.encode(conversation, Permutations.present(responses, orders.get(s)), principles, texts.get(s));
            } catch (IllegalArgumentException e) {
                throw ScoringException.invalid("conversation", "the meta-RM's chat template cannot render this request: " + e.getMessage());
            }
            if (tokens.length > model.maxTokens()) {
                // keep the end, where the sample's scores are: the meta-RM reads the last token's state
                tokens = java.util.Arrays.copyOfRange(tokens, tokens.length - model.maxTokens(), tokens.length);
            }
            sequences.add(tokens);
        }
        return model.score(sequences, deadlineNanos);
    }
}
