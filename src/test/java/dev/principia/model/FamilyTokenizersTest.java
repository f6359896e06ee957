package dev.principia.model;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Llama 3 and Gemma tokenizers and chat templates, through DJL's HF tokenizers and Jinjava. Expected ids
 * come from transformers.js (the @lenml packages' own tokenizer) on the same files; the Llama 3 prompt
 * from transformers.js's template engine; the Gemma 3 prompt written out from its template (transformers.js
 * cannot run it: no {@code is string} test).
 */
class FamilyTokenizersTest {
    private static final List<Map<String, String>> CHAT = List.of(
            Map.of("role", "system", "content", "You are a judge."),
            Map.of("role", "user", "content", "Rate these."),
            Map.of("role", "assistant", "content", " Fine. "),
            Map.of("role", "user", "content", "Again"));

    private static void assertEncodes(Tokenizer t, String text, int... ids) {
        assertArrayEquals(ids, t.encode(text), text);
    }

    @Test
    void llama3() {
        Path dir = TestTokenizers.llama3();
        try (Tokenizer t = Tokenizer.load(dir.resolve("tokenizer.json"))) {
            assertEncodes(t, "Hello world!", 9906, 1917, 0);
            assertEncodes(t, "Scores: \\boxed{10, 3}", 57036, 25, 1144, 80175, 90, 605, 11, 220, 18, 92);
            assertEncodes(t, "  leading spaces and ünïcödé 日本語 ", 220, 6522, 12908, 323, 107268, 38672, 66, 3029, 67, 978, 105180, 102158, 220);
            assertEncodes(t, "1234567", 4513, 10961, 22);
            assertEquals(128000, t.tokenId("<|begin_of_text|>"));
            assertEquals(128009, t.tokenId("<|eot_id|>"));
        }
        ChatTemplate template = ChatTemplate.read(dir.resolve("tokenizer_config.json"));
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a judge.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nRate these.<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nFine.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nAgain<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", template.render(CHAT, true, Map.of()));
    }

    @Test
    void gemma3() {
        Path dir = TestTokenizers.gemma3();
        try (Tokenizer t = Tokenizer.load(dir.resolve("tokenizer.json"))) {
            assertEncodes(t, "Hello world!", 9259, 1902, 236888);
            assertEncodes(t, "Scores: \\boxed{10, 3}", 68430, 236787, 621, 57296, 236782, 236770, 236771, 236764, 236743, 236800, 236783);
            assertEncodes(t, "  leading spaces and ünïcödé 日本語 ", 138, 26016, 9952, 532, 174898, 238527, 236755, 55515, 236859, 33375, 238582, 236743);
            assertEncodes(t, "1234567", 236770, 236778, 236800, 236812, 236810, 236825, 236832);
            assertEquals(2, t.tokenId("<bos>"));
            assertEquals(106, t.tokenId("<end_of_turn>"));
        }
        ChatTemplate template = ChatTemplate.read(dir.resolve("tokenizer_config.json"));
        assertEquals("<bos><start_of_turn>user\nYou are a judge.\n\nRate these.<end_of_turn>\n"
                + "<start_of_turn>model\nFine.<end_of_turn>\n"
                + "<start_of_turn>user\nAgain<end_of_turn>\n"
                + "<start_of_turn>model\n", template.render(CHAT, true, Map.of()));
    }
}
