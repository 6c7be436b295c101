package dev.nola.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server on a free loopback port, over real HTTP (JDK HttpClient): completions with adapters equal
 * to {@code nola generate}'s text, the same text streamed as server-sent events, the models list with
 * each adapter's bytes at rest and mixed, health, and an adapter directory added while it runs.
 */
class ServerTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path adapters;
    static TinyModel.Served served;
    static int port;

    @BeforeAll
    static void start() {
        model = TinyModel.model(tmp.resolve("tiny"));
        try {
            Files.writeString(model.resolve("tokenizer_config.json"), Http.JSON.createObjectNode().put("chat_template",
                    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
                    + "{% if add_generation_prompt %}assistant:{% endif %}").toString());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        adapters = tmp.resolve("adapters");
        for (int i = 0; i < 3; i++) {
            TinyModel.adapter(adapters.resolve("a" + i), 100 + i);
        }
        served = TinyModel.Served.start(model, adapters, NolaServer.Settings.defaults().withCacheBytes(1 << 20));
        port = served.port();
    }

    @AfterAll
    static void stop() {
        served.close();
    }

    @Test
    void completionUnderEachAdapterIsWhatGenerateGives() throws Exception {
        Map<String, String> texts = new HashMap<>();
        for (String name : List.of("tiny", "a0", "a1", "a2")) {
            Http.Reply r = Http.post(port, "/v1/completions", Http.completion(name, "The cat", 12, false));
            assertEquals(200, r.status(), r.text());
            JsonNode choice = r.body().path("choices").path(0);
            String want = TinyModel.generate(model, name.equals("tiny") ? null : adapters.resolve(name), "The cat", 12);
            assertEquals(want, choice.path("text").asText(), name);
            assertEquals("text_completion", r.body().path("object").asText());
            assertEquals(name, r.body().path("model").asText());
            assertEquals(2, r.body().path("usage").path("prompt_tokens").asInt());
            texts.put(name, choice.path("text").asText());
        }
        // each adapter continues differently, so a response shows which adapter made it
        assertEquals(4, new java.util.HashSet<>(texts.values()).size(), texts.toString());
    }

    @Test
    void streamedCompletionIsTheSameTextAsEvents() throws Exception {
        Http.Reply whole = Http.post(port, "/v1/completions", Http.completion("a1", "Once upon", 10, false));
        Http.Reply streamed = Http.post(port, "/v1/completions", Http.completion("a1", "Once upon", 10, true));
        assertEquals(200, streamed.status(), streamed.text());
        assertEquals("text/event-stream", streamed.raw().headers().firstValue("content-type").orElse(""));
        StringBuilder text = new StringBuilder();
        List<String> events = new ArrayList<>();
        String reason = null;
        for (String line : streamed.text().split("\n")) {
            if (!line.startsWith("data: ")) {
                assertTrue(line.isEmpty(), "an SSE line: " + line);
                continue;
            }
            String data = line.substring(6);
            events.add(data);
            if (!data.equals("[DONE]")) {
                JsonNode c = Http.JSON.readTree(data).path("choices").path(0);
                text.append(c.path("text").asText());
                if (!c.path("finish_reason").isNull()) {
                    reason = c.path("finish_reason").asText();
                }
            }
        }
        assertEquals("[DONE]", events.getLast());
        assertTrue(events.size() > 3, "one event per token: " + events);
        assertEquals(whole.body().path("choices").path(0).path("text").asText(), text.toString());
        assertEquals("length", reason);
    }

    @Test
    void aLoraAdapterIsServedAsItsNolaTwinIs() throws Exception {
        TinyModel.adapter(adapters.resolve("lora1"), 101, true);
        Http.Reply lora = Http.post(port, "/v1/completions", Http.completion("lora1", "The cat", 12, false));
        Http.Reply nola = Http.post(port, "/v1/completions", Http.completion("a1", "The cat", 12, false));
        assertEquals(200, lora.status(), lora.text());
        assertEquals(nola.body().path("choices").path(0).path("text").asText(), lora.body().path("choices").path(0).path("text").asText());
        assertTrue(Http.get(port, "/v1/models").text().contains("\"kind\":\"lora\""));
    }

    @Test
    void aChatIsTheCompletionOfItsTemplatedPrompt() throws Exception {
        String prompt = "system: Be brief\nuser: Hi\nassistant:";
        String want = Http.post(port, "/v1/completions", Http.completion("a2", prompt, 8, false)).body()
                .path("choices").path(0).path("text").asText();
        for (boolean stream : new boolean[] {false, true}) {
            var body = Http.JSON.createObjectNode().put("model", "a2").put("max_completion_tokens", 8).put("temperature", 0)
                    .put("stream", stream);
            var msgs = body.putArray("messages");
            msgs.addObject().put("role", "system").put("content", "Be brief");
            msgs.addObject().put("role", "user").put("content", "Hi");
            Http.Reply r = Http.post(port, "/v1/chat/completions", body.toString());
            assertEquals(200, r.status(), r.text());
            StringBuilder text = new StringBuilder();
            for (String data : stream ? r.text().lines().filter(l -> l.startsWith("data: {")).map(l -> l.substring(6)).toList()
                    : List.of(r.text())) {
                JsonNode o = Http.JSON.readTree(data);
                assertEquals(stream ? "chat.completion.chunk" : "chat.completion", o.path("object").asText());
                JsonNode m = o.path("choices").path(0).path(stream ? "delta" : "message");
                assertEquals("assistant", m.path("role").asText());
                text.append(m.path("content").asText());
            }
            assertEquals(want, text.toString(), stream ? "streamed" : "whole");
        }
    }

    @Test
    void aStopStringEndsTheTextBeforeIt() throws Exception {
        String whole = Http.post(port, "/v1/completions", Http.completion("a0", "The cat", 16, false)).body()
                .path("choices").path(0).path("text").asText();
        String stop = whole.substring(whole.length() / 2, whole.length() / 2 + 2);
        String want = whole.substring(0, whole.indexOf(stop));
        for (boolean stream : new boolean[] {false, true}) {
            var body = (com.fasterxml.jackson.databind.node.ObjectNode) Http.JSON.readTree(Http.completion("a0", "The cat", 16, stream));
            body.putArray("stop").add(stop);
            Http.Reply r = Http.post(port, "/v1/completions", body.toString());
            assertEquals(200, r.status(), r.text());
            StringBuilder text = new StringBuilder();
            String reason = null;
            for (String data : stream ? r.text().lines().filter(l -> l.startsWith("data: {")).map(l -> l.substring(6)).toList()
                    : List.of(r.text())) {
                JsonNode c = Http.JSON.readTree(data).path("choices").path(0);
                text.append(c.path("text").asText());
                reason = c.path("finish_reason").isNull() ? reason : c.path("finish_reason").asText();
            }
            assertEquals(want, text.toString(), "stop " + stop + (stream ? ", streamed" : ""));
            assertEquals("stop", reason);
        }
    }

    @Test
    void modelsListsTheBaseAndEveryAdapterWithItsBytes() throws Exception {
        assertEquals(200, Http.post(port, "/v1/completions", Http.completion("a2", "Hi", 2, false)).status());
        Http.Reply r = Http.get(port, "/v1/models");
        assertEquals(200, r.status(), r.text());
        JsonNode data = r.body().path("data");
        List<String> ids = new ArrayList<>();
        data.forEach(m -> ids.add(m.path("id").asText()));
        assertEquals("tiny", ids.getFirst());
        assertTrue(ids.containsAll(List.of("a0", "a1", "a2")), ids.toString());
        for (JsonNode m : data) {
            if (m.path("id").asText().equals("a2")) {
                JsonNode n = m.path("nola");
                assertEquals("nola", n.path("kind").asText());
                // every site's k + l = 16 coefficients at rest; mixed: A [2, in] and B [out, 2] per site
                assertEquals(TinyModel.CONFIG.spec().model().sites().size() * 16 * 4, n.path("bytes_at_rest").asLong());
                long mixed = TinyModel.CONFIG.spec().model().sites().values().stream().mapToLong(x -> 4L * 2 * (x.in() + x.out())).sum();
                assertEquals(mixed, n.path("bytes_mixed").asLong(), n.toString());
                assertTrue(n.path("mixed_now").asBoolean(), n.toString());
                assertEquals("tiny", m.path("parent").asText());
            }
        }
        Http.Reply stats = Http.get(port, "/stats");
        assertTrue(stats.body().path("mixed_cache").path("misses").asLong() >= 1, stats.text());
        assertTrue(stats.body().path("rss_bytes").asLong() > 0, stats.text());
    }

    @Test
    void healthIsOk() throws Exception {
        Http.Reply r = Http.get(port, "/health");
        assertEquals(200, r.status());
        assertEquals("ok", r.body().path("status").asText());
    }

    @Test
    void anAdapterDirectoryAddedWhileRunningIsServed() throws Exception {
        assertEquals(404, Http.post(port, "/v1/completions", Http.completion("late", "The cat", 4, false)).status());
        TinyModel.adapter(adapters.resolve("late"), 555);
        Http.Reply r = Http.post(port, "/v1/completions", Http.completion("late", "The cat", 6, false));
        assertEquals(200, r.status(), r.text());
        assertEquals(TinyModel.generate(model, adapters.resolve("late"), "The cat", 6), r.body().path("choices").path(0).path("text").asText());
        Http.Reply list = Http.get(port, "/v1/models");
        assertTrue(list.text().contains("\"late\""), list.text());
        assertNotEquals(-1, list.text().indexOf("late"));
        assertTrue(Files.isDirectory(adapters.resolve("late")));
    }
}
