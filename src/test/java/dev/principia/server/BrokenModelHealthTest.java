package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/** A model that fails to load: the process stays live (no restart loop), not ready, and HTTP callers learn why. */
@QuarkusTest
@TestProfile(BrokenModelTest.UnknownArchitecture.class)
class BrokenModelHealthTest {

    @Test
    void livenessStaysUpReadinessIsDownWithTheReason() throws Exception {
        HttpTestSupport.Answer live = HttpTestSupport.get("/q/health/live");
        assertEquals(200, live.status(), live.text());
        assertEquals("UP", live.body().path("status").asText());
        HttpTestSupport.Answer ready = HttpTestSupport.get("/q/health/ready");
        assertEquals(503, ready.status(), ready.text());
        assertEquals("DOWN", ready.body().path("status").asText());
        assertTrue(ready.text().contains("MysteryForCausalLM"), ready.text());
        HttpTestSupport.Answer reward = HttpTestSupport.post("/get_reward", Map.of("query", List.of(OpenRlhfEndpointTest.PROMPT + "11")));
        assertEquals(503, reward.status(), reward.text());
        assertEquals("UNAVAILABLE", reward.body().at("/error/code").asText());
        assertTrue(reward.body().at("/error/message").asText().contains(BrokenModelTest.DIR.resolve("config.json").toString()), reward.text());
    }
}
