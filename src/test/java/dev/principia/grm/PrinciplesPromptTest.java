package dev.principia.grm;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The built-in prompts: with caller principles the GRM is given them and asked only to critique and score. */
class PrinciplesPromptTest {
    private static final Conversation QUERY = Conversation.ofQuery("Name a prime number greater than 10.");
    private static final List<String> RESPONSES = List.of("11", "12");

    @Test
    void principlesPromptCarriesThePrinciplesAndAsksOnlyForCritiqueAndScores() {
        String p = PromptTemplate.loadResource(PromptTemplate.PRINCIPLES_RESOURCE)
                .render(QUERY, RESPONSES, List.of("Correctness (70%)", "Brevity (30%)"));
        assertTrue(p.contains("1. Correctness (70%)") && p.contains("2. Brevity (30%)"), p);
        assertTrue(p.contains("do not write new ones"), p);
        assertFalse(p.contains("Step 1, principles"), "the model is not asked to write principles");
        assertTrue(p.contains("Scores: \\boxed{s1, s2}"), p);
    }

    @Test
    void defaultPromptAsksForPrinciplesFirst() {
        String p = PromptTemplate.loadDefault().render(QUERY, RESPONSES, List.of());
        assertTrue(p.contains("Step 1, principles"), p);
        assertFalse(p.contains("[Principles Given by the User]"), "no caller principles section when none are given");
    }

    @Test
    void metaPromptCarriesTheSampleJudgment() {
        String p = PromptTemplate.loadResource(PromptTemplate.META_RESOURCE)
                .render(QUERY, RESPONSES, List.of(), "Principles... Scores: \\boxed{9, 2}");
        assertTrue(p.contains("[The Begin of Evaluation]\nPrinciples... Scores: \\boxed{9, 2}\n[The End of Evaluation]"), p);
        assertTrue(p.contains("[The Begin of Response 2]\n12"), p);
    }
}
