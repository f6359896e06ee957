package dev.principia.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real Qwen3 tokenizer and chat template, through DJL's HF tokenizers and Jinjava. */
class TokenizerAndChatTemplateTest {
    private static Tokenizer tokenizer;
    private static ChatTemplate template;

    @BeforeAll
    static void load() {
        Path dir = TestTokenizers.qwen3();
        tokenizer = Tokenizer.load(dir.resolve("tokenizer.json"));
        template = ChatTemplate.read(dir.resolve("tokenizer_config.json"));
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void encodesKnownIds() {
        assertArrayEquals(new int[] {9707, 1879, 0}, tokenizer.encode("Hello world!"));
        assertEquals(151644, tokenizer.tokenId("<|im_start|>"));
        assertEquals(151645, tokenizer.tokenId("<|im_end|>"));
        // digits are single tokens in Qwen's pre-tokenizer: the score grammar relies on it
        assertArrayEquals(new int[] {16, 15}, tokenizer.encode("10"));
        assertEquals("Scores: \\boxed{10, 3}", tokenizer.decode(tokenizer.encode("Scores: \\boxed{10, 3}")));
    }

    @Test
    void decodeDropsSpecialTokens() {
        assertEquals("hi", tokenizer.decode(tokenizer.encode("hi<|im_end|>")));
    }

    @Test
    void tokenTextsCoverTheVocabulary() {
        String[] texts = tokenizer.tokenTexts(151936);
        assertEquals(151936, texts.length);
        assertEquals("1", texts[16]);
        assertEquals("Hello", texts[9707]);
        assertEquals(" world", texts[1879]);
        assertEquals("", texts[151645], "special tokens decode to nothing");
    }

    @Test
    void rendersQwen3PromptByteForByte() {
        String rendered = template.render(List.of(
                Map.of("role", "system", "content", "You are a judge."),
                Map.of("role", "user", "content", "Rate these.")), true, Map.of());
        assertEquals("<|im_start|>system\nYou are a judge.<|im_end|>\n<|im_start|>user\nRate these.<|im_end|>\n"
                + "<|im_start|>assistant\n", rendered);
    }

    @Test
    void rendersThinkingSwitchAndStripsEarlierReasoning() {
        assertEquals("<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
                template.render(List.of(Map.of("role", "user", "content", "x")), true, Map.of("enable_thinking", false)));
        String multi = template.render(List.of(
                Map.of("role", "user", "content", "a"),
                Map.of("role", "assistant", "content", "<think>\nhmm\n</think>\n\nok"),
                Map.of("role", "user", "content", "b")), false, Map.of());
        assertEquals("<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\nok<|im_end|>\n<|im_start|>user\nb<|im_end|>\n", multi);
    }

    @Test
    void templateErrorsAreReported() {
        ChatTemplate raising = ChatTemplate.of("{{ raise_exception('only user turns') }}", null, null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> raising.render(List.of(Map.of("role", "user", "content", "x")), true, Map.of()));
        assertTrue(e.getMessage().contains("only user turns"), e.getMessage());
    }

    @Test
    void pythonStringMethodsBehaveLikePython() {
        assertEquals(List.of("a", "", "b"), PythonStringResolver.split("a,,b", ","));
        assertEquals(List.of("a", "b"), PythonStringResolver.split("  a  b ", null));
        assertEquals("x\n", PythonStringResolver.lstrip("\n\nx\n", "\n"));
        assertEquals("\nx", PythonStringResolver.rstrip("\nx \t", null));
        assertEquals("namespace(a=(1),b=(messages|length - 1))",
                ChatTemplate.parenthesizeNamespaceArgs("namespace(a=1,b=messages|length - 1)"));
    }

    @Test
    void missingTokenizerFileIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.load(Path.of("/nonexistent/tokenizer.json")));
        assertTrue(e.getMessage().contains("/nonexistent/tokenizer.json"), e.getMessage());
    }
}
