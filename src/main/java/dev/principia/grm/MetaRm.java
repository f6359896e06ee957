package dev.principia.grm;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import dev.principia.model.ChatTemplate;
import dev.principia.model.Tokenizer;

/**
 * The meta reward model: scores how far one GRM sample can be trusted, from a prompt holding the
 * query, the responses in that sample's order and the sample's principles and critique. Guided
 * voting keeps the top {@code k_meta} samples by this score ({@link MetaFilter}).
 */
public final class MetaRm {
    private final ScalarModel model;
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    private final PromptTemplate template;

    public MetaRm(ScalarModel model, Tokenizer tokenizer, ChatTemplate chatTemplate, PromptTemplate template) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
        this.template = template;
    }

    /**
     * @param orders per sample, the order its responses were shown in
     * @param texts  per sample, its generated judgment
     */
    public CompletableFuture<float[]> score(Conversation conversation, List<String> responses, List<int[]> orders, List<String> texts) {
        List<int[]> sequences = new ArrayList<>(orders.size());
        for (int s = 0; s < orders.size(); s++) {
            String user = template.render(conversation, Permutations.present(responses, orders.get(s)), List.of(), texts.get(s));
            int[] tokens = dev.principia.model.ChatEncoder.of(tokenizer, chatTemplate).encode(List.of(Map.of("role", "user", "content", user)), false, Map.of());
            if (tokens.length > model.maxTokens()) {
                // keep the end, where the sample's scores are: the meta-RM reads the last token's state
                tokens = java.util.Arrays.copyOfRange(tokens, tokens.length - model.maxTokens(), tokens.length);
            }
            sequences.add(tokens);
        }
        return model.score(sequences);
    }

    public PromptTemplate template() {
        return template;
    }
}
