package dev.nola.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * nola generate with the KV cache (the default) and with {@code --no-cache} (the whole context again
 * for every token, as the command ran before it used the cache): the same text for the same seed,
 * greedy and sampled, on cpu and on the reference.
 */
class GenerateCommandTest {

    @TempDir
    static Path tmp;
    static Path model;

    @BeforeAll
    static void fixtures() {
        model = Tiny.gpt2(tmp.resolve("tiny-gpt2"));
    }

    static CliTest.Result generate(String device, boolean cache, String... more) {
        List<String> a = new ArrayList<>(List.of("generate", "--model", model.toString(), "--prompt", "In the beginning",
                "--length", "12", "--device", device));
        a.addAll(List.of(more));
        if (!cache) {
            a.add("--no-cache");
        }
        CliTest.Result r = CliTest.run(a.toArray(String[]::new));
        assertEquals(0, r.status(), r.err());
        return r;
    }

    @Test
    void withAndWithoutTheCacheTheTextIsTheSame() {
        List<String[]> settings = List.of(
                new String[] {"--temperature", "0"},
                new String[] {"--seed", "3"}, // the defaults: T 0.8, top-k 40, top-p 1
                new String[] {"--temperature", "1.2", "--top-k", "0", "--seed", "9"},
                new String[] {"--temperature", "1", "--top-p", "0.9", "--seed", "4"});
        List<String> texts = new ArrayList<>();
        for (String device : List.of("reference", "cpu")) {
            for (String[] s : settings) {
                String cached = generate(device, true, s).out();
                assertTrue(cached.startsWith("In the beginning"), cached);
                assertEquals(generate(device, false, s).out(), cached, device + " " + String.join(" ", s));
                texts.add(cached);
            }
        }
        assertNotEquals(texts.get(0), texts.get(2), "sampling at T = 1.2 differs from greedy");
    }

    @Test
    void aTopPOutsideItsRangeIsRefused() {
        CliTest.Result r = CliTest.run("generate", "--model", model.toString(), "--prompt", "In", "--top-p", "0",
                "--device", "reference");
        assertNotEquals(0, r.status());
        assertTrue(r.err().contains("--top-p is 0.0"), r.err());
    }
}
