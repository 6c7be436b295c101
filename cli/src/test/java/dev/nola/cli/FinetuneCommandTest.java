package dev.nola.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** finetune, eval, generate and merge on a tiny GPT-2 the test writes, on the reference device. */
class FinetuneCommandTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path text;

    @BeforeAll
    static void fixtures() throws Exception {
        model = Tiny.gpt2(tmp.resolve("tiny-gpt2"));
        text = Tiny.text(tmp.resolve("text.txt"));
    }

    static CliTest.Result run(String... args) {
        return CliTest.run(args);
    }

    @Test
    void finetuneWritesAdapterReportAndChartsAndJsonParsesBack() throws Exception {
        Path out = tmp.resolve("ft-nola");
        CliTest.Result r = run("finetune", "--model", model.toString(), "--data", text.toString(), "--method", "nola",
                "--k", "8", "--l", "8", "--steps", "6", "--batch", "2", "--device", "reference", "--out", out.toString(), "--json");
        assertEquals(0, r.status(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("finetune", j.path("command").asText());
        JsonNode m = j.path("methods").get(0);
        assertEquals("nola", m.path("name").asText());
        assertEquals(2 * (8 + 8), m.path("trainable").asLong(), "1 layer x (q, v) x (k + l)");
        assertTrue(m.path("after").asDouble() > 0);
        assertTrue(Files.isRegularFile(out.resolve("adapter/adapter_config.json")));
        for (String f : new String[] {"report.json", "loss.png", "metric.png", "params.png"}) {
            byte[] b = Files.readAllBytes(out.resolve("report").resolve(f));
            assertTrue(b.length > 100, f);
        }
        JsonNode rep = new ObjectMapper().readTree(out.resolve("report/report.json").toFile());
        assertEquals(6, rep.path("methods").get(0).path("steps").size(), "every step's figures");
        assertTrue(r.err().contains("nola: step 6/6"), "plain progress lines when not a terminal: " + r.err());

        // eval with and without the adapter, as JSON
        CliTest.Result e = run("eval", "--model", model.toString(), "--data", text.toString(), "--adapter", out.toString(),
                "--device", "reference", "--json");
        assertEquals(0, e.status(), e.err());
        JsonNode ej = new ObjectMapper().readTree(e.out());
        assertEquals(m.path("after").asDouble(), ej.path("perplexity").asDouble(), 1e-3 * m.path("after").asDouble());

        // merge: the merged checkpoint alone scores as the base + adapter does
        Path merged = tmp.resolve("merged");
        CliTest.Result mg = run("merge", "--model", model.toString(), "--adapter", out.toString(), "--out", merged.toString(),
                "--device", "reference");
        assertEquals(0, mg.status(), mg.err());
        CliTest.Result em = run("eval", "--model", merged.toString(), "--data", text.toString(), "--device", "reference", "--json");
        assertEquals(0, em.status(), em.err());
        assertEquals(ej.path("perplexity").asDouble(), new ObjectMapper().readTree(em.out()).path("perplexity").asDouble(),
                1e-3 * ej.path("perplexity").asDouble());

        // generate: greedy is deterministic and continues the prompt
        CliTest.Result g1 = run("generate", "--model", model.toString(), "--adapter", out.toString(), "--prompt", "In the",
                "--length", "5", "--temperature", "0", "--device", "reference");
        CliTest.Result g2 = run("generate", "--model", model.toString(), "--adapter", out.toString(), "--prompt", "In the",
                "--length", "5", "--temperature", "0", "--device", "reference");
        assertEquals(0, g1.status(), g1.err());
        assertTrue(g1.out().startsWith("In the"), g1.out());
        assertEquals(g1.out(), g2.out());
    }

    @Test
    void loraAdapterRoundTripsThroughPeftFiles() throws Exception {
        Path out = tmp.resolve("ft-lora");
        CliTest.Result r = run("finetune", "--model", model.toString(), "--data", text.toString(), "--method", "lora",
                "--rank", "2", "--steps", "4", "--batch", "2", "--device", "reference", "--out", out.toString(), "--json", "--quiet");
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.err(), "--quiet prints no progress");
        JsonNode m = new ObjectMapper().readTree(r.out()).path("methods").get(0);
        assertEquals("lora-r2", m.path("name").asText());
        assertEquals(2 * 2 * (8 + 8), m.path("trainable").asLong());
        CliTest.Result e = run("eval", "--model", model.toString(), "--data", text.toString(), "--adapter",
                out.resolve("adapter").toString(), "--device", "reference", "--json");
        assertEquals(0, e.status(), e.err());
        assertEquals(m.path("after").asDouble(), new ObjectMapper().readTree(e.out()).path("perplexity").asDouble(),
                1e-3 * m.path("after").asDouble());
    }

    @Test
    void resumeContinuesFromTheCheckpointAndAnExistingOneNeedsResume() throws Exception {
        Path out = tmp.resolve("ft-resume");
        String[] base = {"finetune", "--model", model.toString(), "--data", text.toString(), "--k", "4", "--l", "4",
                "--batch", "2", "--device", "reference", "--out", out.toString(), "--quiet"};
        assertEquals(0, run(concat(base, "--steps", "3")).status());
        CliTest.Result again = run(concat(base, "--steps", "5"));
        assertEquals(2, again.status());
        assertTrue(again.err().contains("--resume"), again.err());
        CliTest.Result resumed = run(concat(base, "--steps", "5", "--resume", "--json"));
        assertEquals(0, resumed.status(), resumed.err());
        JsonNode j = new ObjectMapper().readTree(resumed.out());
        assertEquals(3, j.path("config").path("resumed_from_step").asLong());
    }

    /**
     * Issue 21: the data's SHA-256 is in the checkpoint; a resume on changed data is refused in one line naming the
     * file and the flag, the checkpoint untouched; with --resume-changed-data it continues (and records the new digest).
     */
    @Test
    void aResumeOnChangedDataIsRefusedUnlessTheFlagSaysGoOn() throws Exception {
        Path out = tmp.resolve("ft-changed");
        Path data = tmp.resolve("changing.txt");
        Files.copy(text, data);
        String[] base = {"finetune", "--model", model.toString(), "--data", data.toString(), "--k", "4", "--l", "4",
                "--batch", "2", "--device", "reference", "--out", out.toString(), "--quiet"};
        assertEquals(0, run(concat(base, "--steps", "3")).status());
        Path ckpt = out.resolve("checkpoint");
        String digest = new ObjectMapper().readTree(ckpt.resolve("trainer.json").toFile()).path("inputs").path("data_sha256").asText();
        assertEquals(64, digest.length(), "the data's SHA-256 is in the checkpoint");

        // unchanged data (even rewritten with the same bytes) resumes
        Files.writeString(data, Files.readString(text));
        assertEquals(0, run(concat(base, "--steps", "4", "--resume")).status());

        // one byte changed: refused, one line, exit 2, the checkpoint's bytes untouched
        Files.writeString(data, Files.readString(text).replaceFirst("God", "Gad"));
        byte[] state = Files.readAllBytes(ckpt.resolve("state.safetensors"));
        byte[] meta = Files.readAllBytes(ckpt.resolve("trainer.json"));
        CliTest.Result refused = run(concat(base, "--steps", "6", "--resume"));
        assertEquals(2, refused.status(), refused.err());
        assertEquals(1, refused.err().strip().lines().count(), refused.err());
        assertTrue(refused.err().contains("--data " + data) && refused.err().contains("changed since the checkpoint of step 4")
                && refused.err().contains("--resume-changed-data"), refused.err());
        System.out.println("[changed-data] " + refused.err().strip());
        assertTrue(java.util.Arrays.equals(state, Files.readAllBytes(ckpt.resolve("state.safetensors"))), "checkpoint untouched");
        assertTrue(java.util.Arrays.equals(meta, Files.readAllBytes(ckpt.resolve("trainer.json"))), "checkpoint untouched");

        // the flag without --resume is a mistake; with it the run goes on and records the new data's digest
        assertEquals(2, run(concat(base, "--steps", "6", "--resume-changed-data")).status());
        CliTest.Result goOn = run(concat(base, "--steps", "6", "--resume", "--resume-changed-data", "--json"));
        assertEquals(0, goOn.status(), goOn.err());
        assertEquals(4, new ObjectMapper().readTree(goOn.out()).path("config").path("resumed_from_step").asLong());
        String now = new ObjectMapper().readTree(ckpt.resolve("trainer.json").toFile()).path("inputs").path("data_sha256").asText();
        assertTrue(now.length() == 64 && !now.equals(digest), "the new digest is recorded: " + now);
    }

    @Test
    void badInputIsOneLineNamingTheValue() throws Exception {
        Path out = tmp.resolve("bad");
        String[][] cases = {
            {"--device", "gpu:9", "gpu:9"},
            {"--data", tmp.resolve("nope.txt").toString(), "nope.txt"},
            {"--method", "dora", "dora"},
            {"--targets", "k", "'k'"},
            {"--steps", "0", "--steps"},
            {"--lr", "x", "--lr"},
            {"--schedule", "step", "step"},
            {"--basis", "cached", "cached"},
            {"--model", "no-such-model", "no-such-model"},
        };
        for (String[] c : cases) {
            java.util.List<String> a = new java.util.ArrayList<>(java.util.List.of("finetune", "--model", model.toString(),
                    "--data", text.toString(), "--steps", "2", "--device", "reference", "--out", out.toString()));
            for (int i = 0; i + 1 < c.length - 0 && i < c.length - 1; i += 2) {
                int at = a.indexOf(c[i]);
                if (at >= 0) {
                    a.set(at + 1, c[i + 1]);
                } else {
                    a.add(c[i]);
                    a.add(c[i + 1]);
                }
            }
            CliTest.Result r = run(a.toArray(String[]::new));
            assertEquals(2, r.status(), String.join(" ", c) + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
            assertTrue(r.err().contains(c[c.length - 1]), c[c.length - 1] + " in: " + r.err());
        }
        // an adapter that does not fit the model: a NOLA adapter for a wider GPT-2
        Path wide = tmp.resolve("wide");
        try (var d = dev.nola.kernels.Backends.open("reference")) {
            var cfg = dev.nola.adapter.NolaConfig.offset(2, 4, 4, 4f, 1L, java.util.List.of("q"));
            var a = dev.nola.adapter.NolaAdapter.create(d, cfg, 16, 16, 0, "q");
            dev.nola.adapter.io.NolaAdapterFiles.save(wide, java.util.Map.of("h.0.attn.q", a));
            a.close();
        }
        CliTest.Result r = run("eval", "--model", model.toString(), "--data", text.toString(), "--adapter", wide.toString(),
                "--device", "reference");
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("h.0.attn.q") && r.err().contains("[8 -> 8]"), r.err());
        CliTest.Result nm = run("merge", "--model", model.toString(), "--adapter", tmp.resolve("none").toString(), "--out",
                tmp.resolve("m2").toString(), "--device", "reference");
        assertEquals(2, nm.status(), nm.err());
        CliTest.Result gen = run("generate", "--model", model.toString(), "--prompt", "", "--device", "reference");
        assertEquals(2, gen.status(), gen.err());
        assertTrue(gen.err().contains("--prompt"), gen.err());
    }

    static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
