package dev.principia.server;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** A real HTTP client for the test server's HTTP port. */
final class HttpTestSupport {
    static final int PORT = 8081;
    static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    /** Status code and body parsed as JSON (null when the body is not JSON). */
    record Answer(int status, JsonNode body, String text) {
    }

    private HttpTestSupport() {
    }

    static Answer get(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create("http://localhost:" + PORT + path)).timeout(Duration.ofMinutes(5)).GET().build());
    }

    /** POSTs JSON; {@code headers} are name, value pairs. */
    static Answer post(String path, Object body, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://localhost:" + PORT + path)).timeout(Duration.ofMinutes(5))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body instanceof String s ? s : JSON.writeValueAsString(body)));
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return send(b.build());
    }

    private static Answer send(HttpRequest request) throws IOException, InterruptedException {
        HttpResponse<String> r = CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
        JsonNode body;
        try {
            body = JSON.readTree(r.body());
        } catch (IOException e) {
            body = null;
        }
        return new Answer(r.statusCode(), body, r.body());
    }
}
