package dev.nola.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/** The suite's child processes (training steps, generation, the PyTorch peer) report one JSON object per stdout line. */
final class JsonLines {

    static final ObjectMapper JSON = new ObjectMapper();

    private JsonLines() {
    }

    /** A JSON string literal, quotes included. */
    static String quote(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Hands each line of {@code p}'s stdout that is a JSON object to {@code each}, until the stream ends. */
    static void read(Process p, Consumer<JsonNode> each) throws IOException {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("{")) {
                    each.accept(JSON.readTree(line));
                }
            }
        }
    }
}
