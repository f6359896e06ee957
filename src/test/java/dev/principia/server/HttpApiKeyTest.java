package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/** The gRPC API keys guard {@code /get_reward} too; health stays open for probes. */
@QuarkusTest
@TestProfile(ApiKeyTest.WithKeys.class)
class HttpApiKeyTest {

    @Test
    void getRewardNeedsAKeyHealthDoesNot() throws Exception {
        Map<String, List<String>> body = Map.of("query", List.of(OpenRlhfEndpointTest.PROMPT + "11<|im_end|>"));
        HttpTestSupport.Answer missing = HttpTestSupport.post("/get_reward", body);
        assertEquals(401, missing.status(), missing.text());
        assertEquals("UNAUTHENTICATED", missing.body().at("/error/code").asText());
        assertEquals(401, HttpTestSupport.post("/get_reward", body, "Authorization", "Bearer nope").status());
        assertEquals(200, HttpTestSupport.post("/get_reward", body, "Authorization", "Bearer alpha-key").status());
        assertEquals(200, HttpTestSupport.post("/get_reward", body, "x-api-key", "beta-key").status());
        String urlCredentials = "Basic " + Base64.getEncoder().encodeToString("principia:beta-key".getBytes(StandardCharsets.UTF_8));
        assertEquals(200, HttpTestSupport.post("/get_reward", body, "Authorization", urlCredentials).status());
        assertEquals(200, HttpTestSupport.get("/q/health/ready").status());
    }
}
