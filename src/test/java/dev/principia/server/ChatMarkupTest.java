package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.principia.grm.Turn;
import dev.principia.server.ChatMarkup.Format;

/** Policy markup back into conversations, grouping for joint rating, and HTTP API keys. */
class ChatMarkupTest {
    private static final List<Turn> SYSTEM_USER = List.of(new Turn("system", "Be brief."), new Turn("user", "What is 2+2?"));

    static String chatml(String response) {
        return "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n" + response;
    }

    static String llama3(String response) {
        return "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n" + response;
    }

    static String gemma(String response) {
        return "<bos><start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n" + response;
    }

    @Test
    void chatmlQueryAloneSplitsAtTheLastAssistantTurnAndDropsEndTokens() {
        ChatMarkup.Parsed p = ChatMarkup.parse(chatml("4<|im_end|>\n<|endoftext|><|endoftext|>"), null, Format.AUTO);
        assertEquals(SYSTEM_USER, p.conversation());
        assertEquals("4", p.response());
    }

    @Test
    void llama3AndGemmaAreRecognizedAndGemmaModelIsTheAssistant() {
        ChatMarkup.Parsed l = ChatMarkup.parse(llama3("Four.<|eot_id|>"), null, Format.AUTO);
        assertEquals(SYSTEM_USER, l.conversation());
        assertEquals("Four.", l.response());
        ChatMarkup.Parsed g = ChatMarkup.parse(gemma("4<end_of_turn>\n<eos>"), null, Format.AUTO);
        assertEquals(List.of(new Turn("user", "What is 2+2?")), g.conversation());
        assertEquals("4", g.response());
        assertEquals(Format.GEMMA, ChatMarkup.detect(gemma("")));
        assertEquals(Format.LLAMA3, ChatMarkup.detect(llama3("")));
    }

    @Test
    void aPromptMarksWhereTheResponseStartsEvenWithATemplatePrefix() {
        String prompt = chatml("<think>\n\n</think>\n\n");
        ChatMarkup.Parsed p = ChatMarkup.parse(prompt + "The answer is 4.<|im_end|>", prompt, Format.CHATML);
        assertEquals(SYSTEM_USER, p.conversation());
        assertEquals("The answer is 4.", p.response());
    }

    @Test
    void aResponseCutAtTheTokenLimitIsScoredAsIs() {
        ChatMarkup.Parsed p = ChatMarkup.parse(chatml("Let me think about 2+2 step by"), null, Format.CHATML);
        assertEquals("Let me think about 2+2 step by", p.response());
    }

    @Test
    void multiTurnConversationsKeepEarlierTurns() {
        String q = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
                + "<|im_start|>assistant\n4<|im_end|>";
        ChatMarkup.Parsed p = ChatMarkup.parse(q, null, Format.AUTO);
        assertEquals(List.of(new Turn("user", "Hi"), new Turn("assistant", "Hello!"), new Turn("user", "What is 2+2?")), p.conversation());
        assertEquals("4", p.response());
    }

    @Test
    void plainTextNeedsAPromptAndBecomesOneUserTurn() {
        ChatMarkup.Parsed p = ChatMarkup.parse("Q: 2+2?\nA: 4</s>", "Q: 2+2?\nA:", Format.AUTO);
        assertEquals(List.of(new Turn("user", "Q: 2+2?\nA:")), p.conversation());
        assertEquals(" 4", p.response());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ChatMarkup.parse("Q: 2+2? A: 4", null, Format.AUTO));
        assertTrue(e.getMessage().contains("send prompts"), e.getMessage());
    }

    @Test
    void textOutsideTurnsOrAMissingResponseIsRefusedWithTheReason() {
        IllegalArgumentException outside = assertThrows(IllegalArgumentException.class,
                () -> ChatMarkup.parse("stray text " + chatml("4<|im_end|>"), null, Format.CHATML));
        assertTrue(outside.getMessage().contains("text outside chatml turns at offset 0 ('stray text')"), outside.getMessage());
        IllegalArgumentException noAssistant = assertThrows(IllegalArgumentException.class,
                () -> ChatMarkup.parse("<|im_start|>user\nHi<|im_end|>", null, Format.CHATML));
        assertTrue(noAssistant.getMessage().contains("does not end in an assistant turn"), noAssistant.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Format.parse("vicuna"));
        assertEquals(Format.LLAMA3, Format.parse(" Llama3 "));
    }

    @Test
    void responsesOfTheSameConversationFormOneGroupSplitAtTheResponseLimit() {
        List<String> queries = List.of(chatml("4<|im_end|>"), gemma("5<end_of_turn>"), chatml("four<|im_end|>"), chatml("22<|im_end|>"));
        RewardGroups groups = RewardGroups.of(queries, null, Format.AUTO, 2);
        assertEquals(3, groups.groups().size());
        assertEquals(SYSTEM_USER, groups.groups().get(0).conversation());
        assertEquals(List.of("4", "four"), groups.groups().get(0).responses());
        assertArrayEquals(new int[] {0, 2}, groups.groups().get(0).queryIndices());
        assertEquals(SYSTEM_USER, groups.groups().get(1).conversation());
        assertEquals(List.of("22"), groups.groups().get(1).responses());
        assertArrayEquals(new int[] {3}, groups.groups().get(1).queryIndices());
        assertArrayEquals(new int[] {1}, groups.groups().get(2).queryIndices());
        assertEquals(4, groups.numQueries());
    }

    @Test
    void groupingErrorsNameTheQuery() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RewardGroups.of(List.of(chatml("4"), "no markup"), null, Format.AUTO, 16));
        assertTrue(e.getMessage().startsWith("query[1]: "), e.getMessage());
        IllegalArgumentException sizes = assertThrows(IllegalArgumentException.class,
                () -> RewardGroups.of(List.of(chatml("4"), chatml("5")), List.of("p"), Format.AUTO, 16));
        assertTrue(sizes.getMessage().startsWith("prompts: 1 prompts for 2 queries"), sizes.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RewardGroups.of(List.of(), null, Format.AUTO, 16));
    }

    @Test
    void apiKeysComeFromBearerHeaderOrUrlCredentials() {
        String basic = "Basic " + Base64.getEncoder().encodeToString("principia:beta-key".getBytes(StandardCharsets.UTF_8));
        assertEquals("beta-key", ApiKeys.presented(basic, null));
        assertEquals("alpha-key", ApiKeys.presented("bearer alpha-key", null));
        assertEquals("k", ApiKeys.presented(null, " k "));
        assertEquals(null, ApiKeys.presented(null, null));
        assertTrue(ApiKeys.matches("beta-key", List.of("alpha-key", " beta-key")));
        assertTrue(!ApiKeys.matches("beta", List.of("alpha-key", "beta-key")));
    }
}
