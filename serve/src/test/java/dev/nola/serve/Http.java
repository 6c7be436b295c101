package dev.nola.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A JDK HttpClient against a server on the loopback, JSON in and out. */
final class Http {

    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    record Reply(int status, JsonNode body, String text, HttpResponse<String> raw) {
    }

    private Http() {
    }

    static Reply get(int port, String path) throws IOException, InterruptedException {
        return reply(CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString()));
    }

    static Reply post(int port, String path, String body) throws IOException, InterruptedException {
        return reply(CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString()));
    }

    private static Reply reply(HttpResponse<String> r) {
        JsonNode body = null;
        try {
            body = JSON.readTree(r.body());
        } catch (IOException e) {
            // an SSE stream or plain text: callers read text
        }
        return new Reply(r.statusCode(), body, r.body(), r);
    }

    /** A completion request body. */
    static String completion(String model, String prompt, int maxTokens, boolean stream) {
        return JSON.createObjectNode().put("model", model).put("prompt", prompt).put("max_tokens", maxTokens)
                .put("temperature", 0).put("stream", stream).toString();
    }
}
