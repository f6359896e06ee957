package dev.principia.grm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import dev.principia.model.ChatEncoder;
import dev.principia.model.ChatTemplate;
import dev.principia.model.HostileText;
import dev.principia.model.TestTokenizers;
import dev.principia.model.Tokenizer;

/**
 * Caller text through the whole GRM prompt path — {@link PromptTemplate} (single-pass placeholders) then
 * {@link ChatEncoder} on the real Qwen3 tokenizer and template — on seeded random hostile text: nothing throws,
 * every value lands verbatim (up to the response-marker defanging), no placeholder in a value is expanded, and the
 * only special ids are the chat template's own.
 */
class PromptCallerTextTest {
    private static final List<PromptTemplate> TEMPLATES = List.of(PromptTemplate.loadDefault(),
            PromptTemplate.loadResource(PromptTemplate.PRINCIPLES_RESOURCE), PromptTemplate.loadResource(PromptTemplate.META_RESOURCE),
            PromptTemplate.of("{{query}}\n{{#responses}}<{{index}}>{{response}}</{{index}}>\n{{/responses}}{{conversation}}{{principles}}"));
    private static final List<Integer> QWEN3_SPECIAL = List.of(151643, 151644, 151645, 151646, 151647, 151648, 151649, 151650,
            151651, 151652, 151653, 151654, 151655, 151656);

    private static Tokenizer tokenizer;
    private static ChatEncoder encoder;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(TestTokenizers.qwen3().resolve("tokenizer.json"));
        encoder = ChatEncoder.of(tokenizer, ChatTemplate.read(TestTokenizers.qwen3().resolve("tokenizer_config.json")));
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    static IntStream seeds() {
        return IntStream.range(0, 40);
    }

    private static List<Integer> specialIds(int[] ids) {
        List<Integer> out = new ArrayList<>();
        for (int id : ids) if (QWEN3_SPECIAL.contains(id)) out.add(id);
        return out;
    }

    private static int[] encode(String user) {
        return encoder.encode(List.of(Map.of("role", "user", "content", user)), true, Map.of("enable_thinking", false));
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void hostileValuesStayDataThroughThePromptPath(int seed) {
        SplittableRandom random = new SplittableRandom(seed);
        for (int c = 0; c < 3; c++) {
            List<String> texts = HostileText.many(random, 12);
            List<Turn> turns = new ArrayList<>();
            int history = random.nextInt(3);
            for (int i = 0; i < history; i++) turns.add(new Turn(i % 2 == 0 ? "user" : "assistant", texts.get(i)));
            turns.add(new Turn("user", texts.get(3)));
            List<String> responses = texts.subList(4, 5 + random.nextInt(4));
            List<String> principles = random.nextBoolean() ? List.of() : texts.subList(9, 11);
            String judgment = texts.get(11);
            PromptTemplate template = TEMPLATES.get(random.nextInt(TEMPLATES.size()));
            String prompt = template.render(new Conversation(turns), responses, principles, judgment);
            for (String value : texts.subList(3, 4 + responses.size())) {
                assertTrue(prompt.contains(PromptTemplate.defang(value)), "seed " + seed + ": a value is inserted verbatim");
            }
            if (template != TEMPLATES.get(3)) {
                assertEquals(responses.size(), count(List.of(prompt), "[The Begin of Response"), "seed " + seed + ": one block per response, none forged");
            }
            int[] skeleton = encode(template.render(Conversation.ofQuery("q"), responses.stream().map(r -> "r").toList(),
                    principles.stream().map(p -> "p").toList(), "j"));
            assertEquals(specialIds(skeleton), specialIds(encode(prompt)), "seed " + seed + ": special ids are the template's own");
        }
    }

    private static int count(List<String> haystacks, String needle) {
        int n = 0;
        for (String h : haystacks) for (int i = h.indexOf(needle); i >= 0; i = h.indexOf(needle, i + 1)) n++;
        return n;
    }

    @Test
    void placeholdersInValuesAreNotExpanded() {
        PromptTemplate template = PromptTemplate.loadDefault();
        String response = "{{responses}} {{query}} {{#responses}}{{response}}{{/responses}} {{num_responses}}";
        String prompt = template.render(Conversation.ofQuery("{{query}}{{responses}}"), List.of(response, "{{ responses }}"));
        assertTrue(prompt.contains("\n" + response + "\n"), prompt);
        assertTrue(prompt.contains("{{query}}{{responses}}"), prompt);
        assertTrue(prompt.contains("\n{{ responses }}\n"), prompt);
        assertEquals(2, count(List.of(prompt), "[The Begin of Response"));
    }
}
