package dev.principia.grm;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import dev.principia.model.ChatTemplate;
import dev.principia.model.Tokenizer;

/**
 * Scalar reward mode: a Bradley-Terry style reward model (one-logit classification head) scores each
 * response once, as the assistant turn after the conversation, rendered with the model's chat
 * template. The reward is that logit; ranks follow it, ties broken by the seed.
 */
public final class ScalarModeScorer {
    private final SequenceClassifier model;
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;

    public ScalarModeScorer(SequenceClassifier model, Tokenizer tokenizer, ChatTemplate chatTemplate) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
    }

    /** @param seed the request's resolved seed: breaks ties in rank */
    GrmScorer.Handle score(ScoringRequest request, Conversation conversation, long seed) {
        List<int[]> sequences = new ArrayList<>(request.responses().size());
        long tokens = 0;
        for (int i = 0; i < request.responses().size(); i++) {
            List<Map<String, String>> messages = new ArrayList<>();
            for (Turn t : conversation.turns()) messages.add(Map.of("role", t.role(), "content", t.content()));
            messages.add(Map.of("role", "assistant", "content", request.responses().get(i)));
            int[] ids;
            try {
                ids = dev.principia.model.ChatEncoder.of(tokenizer, chatTemplate).encode(messages, false, new HashMap<>());
            } catch (IllegalArgumentException e) {
                throw ScoringException.invalid("conversation", "the reward model's chat template cannot render this request: "
                        + e.getMessage());
            }
            if (ids.length > model.maxTokens()) {
                throw ScoringException.invalid("responses[" + i + "]", "the conversation with this response is " + ids.length
                        + " tokens; the reward model accepts " + model.maxTokens());
            }
            tokens += ids.length;
            sequences.add(ids);
        }
        long promptTokens = tokens;
        long t0 = System.nanoTime();
        CompletableFuture<float[]> logits = model.score(sequences, request.callDeadlineNanos());
        CompletableFuture<ScoringResult> result = logits.thenApply(scores -> {
            double[] rewards = new double[scores.length];
            for (int i = 0; i < scores.length; i++) rewards[i] = scores[i];
            Vote vote = Vote.ranked(rewards, rewards.clone(), 1, SampleSeeds.tieBreak(seed));
            long millis = (System.nanoTime() - t0) / 1_000_000;
            return new ScoringResult(request.id(), vote.rewards(), vote.meanScores(), vote.ranks(), vote.bestIndex(), List.of(),
                    new ScoringResult.Usage(promptTokens, 0, 0, 0, 0, 0, millis, 0, 0, 0), seed, false, false, "");
        });
        return new GrmScorer.Handle(result, () -> logits.cancel(false));
    }
}
