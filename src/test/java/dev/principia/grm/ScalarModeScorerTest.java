package dev.principia.grm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.principia.budget.BudgetPolicy;
import dev.principia.budget.LoadPolicy;
import dev.principia.budget.RequestedBudget;
import dev.principia.model.ChatTemplate;
import dev.principia.model.TestTokenizers;
import dev.principia.model.Tokenizer;

/** Scalar mode's failures are the caller's when the caller caused them, with a message that says what to do. */
class ScalarModeScorerTest {
    private static final SequenceClassifier LENGTH = new SequenceClassifier() {
        @Override
        public CompletableFuture<float[]> score(List<int[]> sequences, long deadlineNanos) {
            float[] out = new float[sequences.size()];
            for (int i = 0; i < out.length; i++) out[i] = sequences.get(i).length;
            return CompletableFuture.completedFuture(out);
        }

        @Override
        public int maxTokens() {
            return 4096;
        }
    };

    private static GrmScorer scorer(ScalarModeScorer scalar) {
        ScriptedGenerator generator = new ScriptedGenerator(p -> "");
        ScoringContext ctx = ScoringContext.of(generator, new CharCodec(), PromptTemplate.loadDefault(),
                PromptTemplate.loadResource(PromptTemplate.PRINCIPLES_RESOURCE), CharCodec.tokenTexts(), new int[0],
                new ScoringLimits(16, 32768, 64, 32, 1 << 20), null, Executors.newSingleThreadExecutor(),
                Executors.newSingleThreadScheduledExecutor());
        return new GrmScorer(ctx, new BudgetPolicy(1, 32, 256, 2048, 0.5f, new LoadPolicy(0, 0), false), scalar);
    }

    private static ScoringRequest scalar(List<Turn> conversation) {
        return new ScoringRequest("s", conversation, List.of("a", "b"), List.of(), new RequestedBudget(1, 0, 0, null, null, 3, false, 0),
                false, 0, System.nanoTime(), Long.MAX_VALUE, ScoringRequest.Mode.SCALAR);
    }

    @Test
    void aTemplateThatRefusesTheConversationIsInvalidArgument() throws Exception {
        try (Tokenizer tokenizer = Tokenizer.load(TestTokenizers.qwen3().resolve("tokenizer.json"))) {
            ChatTemplate strict = ChatTemplate.of("{% for m in messages %}{% if loop.index0 == 0 and m.role != 'user' %}"
                    + "{{ raise_exception('Conversation roles must start with user') }}{% endif %}{{ m.content }}{% endfor %}", "", "");
            GrmScorer scorer = scorer(new ScalarModeScorer(LENGTH, tokenizer, strict));
            ScoringException e = assertThrows(ScoringException.class,
                    () -> scorer.score(scalar(List.of(new Turn("system", "s"), new Turn("user", "q")))));
            assertEquals(ScoringException.Kind.INVALID_ARGUMENT, e.kind());
            assertTrue(e.getMessage().startsWith("conversation: ") && e.getMessage().contains("roles must start with user"), e.getMessage());
            ScoringResult ok = scorer.score(scalar(List.of(new Turn("user", "q")))).result().get(10, TimeUnit.SECONDS);
            assertEquals(2, ok.rewards().length);
        }
    }

    @Test
    void withoutAScalarModelTheMessageNamesTheKey() {
        ScoringException e = assertThrows(ScoringException.class, () -> scorer(null).score(scalar(List.of(new Turn("user", "q")))));
        assertEquals(ScoringException.Kind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("principia.scalar-rm.dir"), e.getMessage());
    }
}
