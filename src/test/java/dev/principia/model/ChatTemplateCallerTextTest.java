package dev.principia.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * Issue #9 at the template: message contents are data (never rendered again as Jinja), templates load no
 * files, and a render past one of its limits fails with a message that names the limit.
 */
class ChatTemplateCallerTextTest {
    private static final ChatTemplate QWEN3 = ChatTemplate.read(TestTokenizers.qwen3().resolve("tokenizer_config.json"));

    static final List<String> PAYLOADS = HostileText.SYNTAX;

    private static List<Map<String, String>> user(String content) {
        return List.of(Map.of("role", "user", "content", content));
    }

    @ParameterizedTest
    @FieldSource("PAYLOADS")
    void messageContentIsRenderedVerbatim(String payload) {
        String content = "before " + payload + " after";
        assertEquals("<|im_start|>user\n" + content + "<|im_end|>\n<|im_start|>assistant\n",
                QWEN3.render(user(content), true, Map.of()));
    }

    @Test
    void issueNinePayloadsNeitherRaiseNorExpand() {
        String raise = "{{ raise_exception(\"pwned by a response\") }}";
        assertTrue(QWEN3.render(user(raise), false, Map.of()).contains(raise));
        String expand = "{{ messages }}";
        assertEquals("<|im_start|>user\n{{ messages }}<|im_end|>\n", QWEN3.render(user(expand), false, Map.of()));
        String latex = "Hence $x = \\frac{1}{{\\gamma }}$.";
        assertTrue(QWEN3.render(List.of(Map.of("role", "user", "content", "q"), Map.of("role", "assistant", "content", latex)),
                false, Map.of()).contains(latex));
    }

    @Test
    void templatesLoadNoFiles() {
        for (String tag : List.of("{% include 'application.properties' %}", "{% import 'application.properties' as p %}",
                "{% extends 'application.properties' %}", "{% from 'application.properties' import x %}")) {
            ChatTemplate t = ChatTemplate.of("[" + tag + "]{{ messages[0].content }}", null, null);
            String out;
            try {
                out = t.render(user("x"), false, Map.of());
            } catch (IllegalArgumentException e) {
                continue;
            }
            assertFalse(out.contains("principia."), tag + " read a class-path resource: " + out);
        }
    }

    @Test
    void outputPastItsLimitFailsNamingTheLimit() {
        ChatTemplate t = ChatTemplate.of("{% for i in range(1000) %}{% for j in range(1000) %}{{ messages[0].content }}"
                + "{% endfor %}{% endfor %}", null, null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.render(user("x".repeat(100)), false, Map.of()));
        assertTrue(e.getMessage().contains("output exceeded its limit"), e.getMessage());
    }

    @Test
    void outputLimitGrowsWithTheInput() {
        ChatTemplate twice = ChatTemplate.of("{{ messages[0].content }}{{ messages[0].content }}", null, null);
        String big = "y".repeat(2 << 20);
        assertEquals(2 * big.length(), twice.render(user(big), false, Map.of()).length());
    }

    @Test
    void workPastItsLimitFailsNamingTheLimit() {
        ChatTemplate nodes = ChatTemplate.of("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
                + "{% endfor %}{% endfor %}{% endfor %}", null, null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> nodes.render(user("x"), false, Map.of()));
        assertTrue(e.getMessage().contains("render steps"), e.getMessage());
        ChatTemplate loops = ChatTemplate.of("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
                + "{% if false %}x{% endif %}{% endfor %}{% endfor %}{% endfor %}", null, null);
        e = assertThrows(IllegalArgumentException.class, () -> loops.render(user("x"), false, Map.of()));
        assertTrue(e.getMessage().contains("render steps"), e.getMessage());
    }

    @Test
    void rangePastItsLimitIsAnErrorNotACut() {
        assertEquals("1000", ChatTemplate.of("{{ range(1000)|length }}", null, null).render(user("x"), false, Map.of()));
        ChatTemplate t = ChatTemplate.of("{{ range(1001)|length }}", null, null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.render(user("x"), false, Map.of()));
        assertTrue(e.getMessage().contains("range() of more than 1000 items"), e.getMessage());
    }

    @Test
    void macrosRecurseBoundedly() {
        ChatTemplate bounded = ChatTemplate.of("{% macro f(n) %}{{ n }}{% if n < 9 %}{{ f(n + 1) }}{% endif %}{% endmacro %}{{ f(0) }}", null, null);
        assertEquals("0123456789", bounded.render(user("x"), false, Map.of()));
        ChatTemplate endless = ChatTemplate.of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", null, null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> endless.render(user("x"), false, Map.of()));
        assertTrue(e.getMessage().contains("recursion limit of 32"), e.getMessage());
    }
}
