package dev.principia.grm;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;


/**
 * The meta reward model: scores how far one GRM sample can be trusted, from a prompt holding the
 * query, the responses in that sample's order and the sample's principles and critique. Guided
 * voting keeps the top {@code k_meta} samples by this score ({@link MetaFilter}).
 */
public final class MetaRm {
    private final SequenceClassifier model;
    private final PromptCodec codec;
    private final PromptTemplate template;

    /** @param codec the meta-RM's own tokenizer and chat template */
    public MetaRm(SequenceClassifier model, PromptCodec codec, PromptTemplate template) {
        this.model = model;
        this.codec = codec;
        this.template = template;
    }

    /**
     * @param orders per sample, the order its responses were shown in
     * @param texts  per sample, its generated judgment
     * @param deadlineNanos {@link System#nanoTime()} by which the scores are due; {@link Long#MAX_VALUE} = none
     */
    public CompletableFuture<float[]> score(Conversation conversation, List<String> responses, List<int[]> orders, List<String> texts,
                                            long deadlineNanos) {
        List<int[]> sequences = new ArrayList<>(orders.size());
        for (int s = 0; s < orders.size(); s++) {
            String user = template.render(conversation, Permutations.present(responses, orders.get(s)), List.of(), texts.get(s));
            int[] tokens;
            try {
                tokens = codec.encodeUserTurn(user, false);
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

    public PromptTemplate template() {
        return template;
    }
}
