package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.quarkus.test.junit.QuarkusTest;

/** OpenRLHF's {@code POST /get_reward} and SmallRye Health, over real HTTP against the embedded default GRM. */
@QuarkusTest
class OpenRlhfEndpointTest {

    static final String PROMPT = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nName a prime number greater than 10.<|im_end|>\n"
            + "<|im_start|>assistant\n";

    @Test
    void scoresEveryQueryInOrderAndRatesResponsesOfOnePromptJointly() throws Exception {
        String other = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n";
        List<String> queries = List.of(PROMPT + "11<|im_end|>", other + "4<|eot_id|>", PROMPT + "13 is prime.<|im_end|><|endoftext|>");
        HttpTestSupport.Answer a = HttpTestSupport.post("/get_reward",
                Map.of("query", queries, "prompts", List.of(PROMPT, other, PROMPT), "labels", List.of("", "", "")));
        assertEquals(200, a.status(), a.text());
        JsonNode rewards = a.body().path("rewards");
        assertEquals(3, rewards.size(), a.text());
        for (int i = 0; i < 3; i++) {
            double r = rewards.get(i).asDouble();
            assertTrue(r >= 0 && r <= 1, "reward in [0, 1]: " + a.text());
            assertEquals(r, a.body().path("scores").get(i).asDouble(), 0.0);
            double mean = a.body().at("/extra_logs/principia~1mean_score").get(i).asDouble();
            assertEquals((mean - 1) / 9, r, 1e-9, "reward is the mean score mapped onto [0, 1]");
        }
        JsonNode groupSizes = a.body().at("/extra_logs/principia~1group_size");
        assertEquals(List.of(2.0, 1.0, 2.0), List.of(groupSizes.get(0).asDouble(), groupSizes.get(1).asDouble(), groupSizes.get(2).asDouble()),
                "the two responses to the ChatML prompt were rated in one request: " + a.text());
    }

    @Test
    void aQueryAloneIsSplitAtItsLastAssistantTurn() throws Exception {
        HttpTestSupport.Answer a = HttpTestSupport.post("/get_reward", Map.of("query", List.of(PROMPT + "17<|im_end|>")));
        assertEquals(200, a.status(), a.text());
        assertEquals(1, a.body().path("rewards").size());
    }

    @Test
    void badPayloadsAreRefusedNamingTheField() throws Exception {
        HttpTestSupport.Answer noMarkup = HttpTestSupport.post("/get_reward", Map.of("query", List.of(PROMPT + "11", "just text")));
        assertEquals(400, noMarkup.status(), noMarkup.text());
        assertEquals("INVALID_ARGUMENT", noMarkup.body().at("/error/code").asText());
        assertTrue(noMarkup.body().at("/error/message").asText().startsWith("query[1]: "), noMarkup.text());
        HttpTestSupport.Answer sizes = HttpTestSupport.post("/get_reward", Map.of("query", List.of(PROMPT + "11"), "prompts", List.of(PROMPT, PROMPT)));
        assertEquals(400, sizes.status(), sizes.text());
        assertTrue(sizes.body().at("/error/message").asText().startsWith("prompts: "), sizes.text());
        HttpTestSupport.Answer empty = HttpTestSupport.post("/get_reward", Map.of("query", List.of()));
        assertEquals(400, empty.status(), empty.text());
        HttpTestSupport.Answer tooLong = HttpTestSupport.post("/get_reward", Map.of("query", List.of(PROMPT + "x".repeat(40_000))));
        assertEquals(400, tooLong.status(), tooLong.text());
        assertTrue(tooLong.body().at("/error/message").asText().startsWith("query[0]: responses[0]: "), tooLong.text());
    }

    @Test
    void healthIsUpWhileTheModelServes() throws Exception {
        HttpTestSupport.Answer live = HttpTestSupport.get("/q/health/live");
        assertEquals(200, live.status(), live.text());
        assertEquals("UP", live.body().path("status").asText());
        HttpTestSupport.Answer ready = HttpTestSupport.get("/q/health/ready");
        assertEquals(200, ready.status(), ready.text());
        assertTrue(ready.text().contains("\"principia-model\""), ready.text());
        assertTrue(ready.text().contains("SERVING"), ready.text());
    }
}
