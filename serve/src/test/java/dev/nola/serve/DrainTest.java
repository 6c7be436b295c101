package dev.nola.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM drains: {@code nola serve} in its own JVM (ServeMain, as bin/nola starts it) gets SIGTERM
 * while a request is being answered; that request still gets its whole answer, and the process exits.
 */
class DrainTest {

    @TempDir
    Path tmp;

    @Test
    void sigtermLetsARequestInFlightFinishThenStops() throws Exception {
        Path model = TinyModel.model(tmp.resolve("tiny"));
        Path adapters = tmp.resolve("adapters");
        TinyModel.adapter(adapters.resolve("a0"), 1);
        String java = ProcessHandle.current().info().command().orElse(
                System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process p = new ProcessBuilder(List.of(java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Xmx512m", "-cp", cp, "dev.nola.serve.ServeMain", "--model", model.toString(), "--adapters", adapters.toString(),
                "--device", "cpu", "--port", "0")).redirectErrorStream(true).start();
        try {
            BufferedReader log = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            Pattern listening = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");
            int port = -1;
            StringBuilder seen = new StringBuilder();
            for (String line; port < 0 && (line = log.readLine()) != null; ) {
                seen.append(line).append('\n');
                Matcher m = listening.matcher(line);
                if (m.find()) {
                    port = Integer.parseInt(m.group(1));
                }
            }
            assertTrue(port > 0, "the server never said where it listens:\n" + seen);
            // own threads: the common pool may have one thread, which the log reader would hold
            Thread.ofPlatform().daemon(true).start(() -> log.lines().forEach(l -> { }));
            ExecutorService own = Executors.newVirtualThreadPerTaskExecutor();
            int serverPort = port;
            CompletableFuture<Http.Reply> inFlight = CompletableFuture.supplyAsync(() -> {
                try {
                    return Http.post(serverPort, "/v1/completions", Http.completion("a0", "The cat", 80, false));
                } catch (IOException | InterruptedException e) {
                    throw new RuntimeException(e);
                }
            }, own);
            // SIGTERM once the request is running
            for (int i = 0; i < 1200; i++) {
                JsonNode stats = Http.get(port, "/stats").body();
                if (stats.path("running").asInt() > 0 || stats.path("tokens").asLong() > 0) {
                    break;
                }
                Thread.sleep(25);
            }
            p.destroy();
            Http.Reply r = inFlight.get(120, TimeUnit.SECONDS);
            assertEquals(200, r.status(), r.text());
            assertEquals(80, r.body().path("usage").path("completion_tokens").asInt(), r.text());
            assertEquals("length", r.body().path("choices").path(0).path("finish_reason").asText());
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the server did not stop after SIGTERM");
            assertThrows(IOException.class, () -> Http.get(serverPort, "/health"));
        } finally {
            p.destroyForcibly();
        }
    }
}
