package dev.nola.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nola.adapter.Adapter;
import dev.nola.cli.run.AdapterDirs;
import dev.nola.cli.run.ModelSource;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.bases.SmallBases;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.lm.HfCheckpoint;
import dev.nola.models.lm.LlamaConfig;
import dev.nola.models.transformer.DeviceWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fortunes LLaMA base and {@code quickstart --task llama}, on a 3-step base (Debian's fortunes and
 * bible-kjv; skipped with the install command where they are absent) on the {@code cpu} device. The
 * base goes to the cache ($NOLA_CACHE, default ~/.cache/nola) as "llama-fortunes-r1-3steps", apart from
 * the real base, which it never replaces.
 */
class LlamaBaseTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** The adapter sites of q_proj and v_proj in the base's 2 layers. */
    private static final Set<String> QV = Set.of("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
            "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj");

    @TempDir
    Path tmp;

    private static void assumeFortunes() {
        assumeTrue(Files.isDirectory(ModelSource.DEBIAN_FORTUNES), "fortunes are missing; install them with: apt-get install fortunes");
    }

    /** The 3-step base's directory, built (or found in the cache) by {@code pretrain}. */
    private static Path tinyBase() throws Exception {
        CliTest.Result p = CliTest.run("pretrain", "llama-fortunes", "--steps", "3", "--device", "cpu", "--json", "--quiet");
        assertEquals(0, p.status(), p.err());
        JsonNode man = JSON.readTree(p.out());
        assertEquals(3, man.path("steps").asLong());
        assertEquals("llama-fortunes", man.path("kind").asText());
        assertEquals(SmallBases.GPT2_TOKENIZER, man.path("tokenizer").asText(), man.toString());
        assertTrue(Double.isFinite(man.path("held_out_loss").asDouble()), man.toString());
        Path dir = Path.of(man.path("dir").asText());
        assertTrue(dir.endsWith("llama-fortunes-r1-3steps"), dir.toString());
        return dir;
    }

    @Test
    void theBaseIsAHuggingFaceLlamaDirectoryWithGqaRopeSwigluAndATiedHead() throws Exception {
        assumeFortunes();
        Path dir = tinyBase();
        JsonNode c = JSON.readTree(dir.resolve("config.json").toFile());
        assertEquals("llama", c.path("model_type").asText());
        assertEquals("LlamaForCausalLM", c.path("architectures").get(0).asText());
        assertEquals(128, c.path("hidden_size").asInt());
        assertEquals(2, c.path("num_hidden_layers").asInt());
        assertEquals(4, c.path("num_attention_heads").asInt());
        assertEquals(2, c.path("num_key_value_heads").asInt(), "GQA: 2 key/value heads for 4 query heads");
        assertEquals(344, c.path("intermediate_size").asInt());
        assertEquals(64, c.path("max_position_embeddings").asInt());
        assertEquals(10000.0, c.path("rope_theta").asDouble());
        assertTrue(c.path("tie_word_embeddings").asBoolean());
        HfCheckpoint ckpt = HfCheckpoint.load(dir);
        assertEquals(SmallBases.LLAMA_CONFIG, ckpt.config());
        assertTrue(!ckpt.tensors().containsKey("lm_head.weight"), "tied: no head of its own");

        // the name resolves to it, and its tokenizer is GPT-2's
        try (Device d = Backends.open("cpu")) {
            ModelSource src = ModelSource.resolve("llama-fortunes", d, 3, null);
            assertEquals(dir, src.dir());
            assertEquals(java.util.List.of("q_proj", "v_proj"), src.defaultTargets());
            assertEquals(50257, src.languageModel("test").tokenizer().vocabularySize());
        }
    }

    @Test
    void quickstartLlamaTrainsNolaAndLoraOnQAndVProjections() throws Exception {
        assumeFortunes();
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/bible")) || Files.isRegularFile(SmallBases.cacheDir().resolve("data/kjv.txt")),
                "the King James Bible is missing; install it with: apt-get install bible-kjv");
        Path out = tmp.resolve("qs");
        CliTest.Result r = CliTest.run("quickstart", "--task", "llama", "--device", "cpu", "--base-steps", "3", "--steps", "2",
                "--seeds", "2", "--held-out", "4", "--out", out.toString(), "--json", "--quiet");
        assertEquals(0, r.status(), r.err());
        JsonNode j = JSON.readTree(r.out());
        assertEquals(3, j.path("methods").size(), j.toString());
        String[] names = {"nola", "lora-r1", "lora-r4"};
        // LoRA r = 1 on q_proj (128 -> 128) and v_proj (128 -> 64) of 2 layers: 2 x (256 + 192) = 896;
        // NOLA k = l = 56 on 4 matrices: 448, half of it
        long[] trainable = {448, 896, 3584};
        double before = Double.NaN;
        for (int i = 0; i < 3; i++) {
            JsonNode m = j.path("methods").get(i);
            assertEquals(names[i], m.path("name").asText());
            assertEquals(trainable[i], m.path("trainable").asLong(), names[i]);
            assertEquals(0, m.path("head_numbers").asLong(), names[i]);
            assertTrue(m.path("adapter_bytes").asLong() > 0, names[i]);
            assertTrue(m.path("after").asDouble() > 1, names[i]);
            if (i == 0) {
                before = m.path("before").asDouble();
            }
            assertEquals(before, m.path("before").asDouble(), 1e-6 * before, names[i] + ": every method starts from the same base");
        }
        assertTrue(before > 1 && Double.isFinite(before), "perplexity before " + before);
        try (Device d = Backends.open("cpu")) {
            for (String name : names) {
                Map<String, Adapter> a = AdapterDirs.load(out.resolve("adapters").resolve(name), d);
                try {
                    assertEquals(QV, new TreeSet<>(a.keySet()), name + ": adapters on q_proj and v_proj of every layer");
                } finally {
                    a.values().forEach(Adapter::close);
                }
            }
        }
        assertTrue(Files.size(out.resolve("report/loss.png")) > 1000);

        CliTest.Result table = CliTest.run("quickstart", "--task", "llama", "--device", "cpu", "--base-steps", "3", "--steps", "1",
                "--held-out", "2", "--out", out.toString(), "--quiet");
        assertEquals(0, table.status(), table.err());
        assertTrue(table.out().startsWith("King James Bible, fortunes LLaMA"), table.out());
        assertTrue(table.out().contains("nola") && table.out().contains("448") && table.out().contains("lora-r4"), table.out());
    }

    @Test
    void finetuneEvalMergeAndGenerateWorkOnTheBaseDirectory() throws Exception {
        assumeFortunes();
        Path base = tinyBase();
        Path text = Tiny.text(tmp.resolve("text.txt"));
        Path out = tmp.resolve("ft");
        CliTest.Result f = CliTest.run("finetune", "--model", base.toString(), "--data", text.toString(), "--method", "nola",
                "--targets", "q_proj,v_proj", "--k", "8", "--l", "8", "--steps", "3", "--batch", "2", "--device", "cpu",
                "--out", out.toString(), "--json", "--quiet");
        assertEquals(0, f.status(), f.err());
        JsonNode m = JSON.readTree(f.out()).path("methods").get(0);
        assertEquals(4 * (8 + 8), m.path("trainable").asLong(), "2 layers x (q_proj, v_proj) x (k + l)");
        try (Device d = Backends.open("cpu")) {
            Map<String, Adapter> a = AdapterDirs.load(out, d);
            try {
                assertEquals(QV, new TreeSet<>(a.keySet()));
            } finally {
                a.values().forEach(Adapter::close);
            }
        }
        CliTest.Result e = CliTest.run("eval", "--model", base.toString(), "--data", text.toString(), "--adapter", out.toString(),
                "--device", "cpu", "--json");
        assertEquals(0, e.status(), e.err());
        double ppl = JSON.readTree(e.out()).path("perplexity").asDouble();
        assertEquals(m.path("after").asDouble(), ppl, 1e-3 * ppl);

        Path merged = tmp.resolve("merged");
        CliTest.Result mg = CliTest.run("merge", "--model", base.toString(), "--adapter", out.toString(), "--out", merged.toString(),
                "--device", "cpu");
        assertEquals(0, mg.status(), mg.err());
        CliTest.Result em = CliTest.run("eval", "--model", merged.toString(), "--data", text.toString(), "--device", "cpu", "--json");
        assertEquals(0, em.status(), em.err());
        assertEquals(ppl, JSON.readTree(em.out()).path("perplexity").asDouble(), 1e-3 * ppl);

        CliTest.Result g = CliTest.run("generate", "--model", base.toString(), "--adapter", out.toString(), "--prompt", "In the",
                "--length", "4", "--temperature", "0", "--device", "cpu");
        assertEquals(0, g.status(), g.err());
        assertTrue(g.out().startsWith("In the"), g.out());
    }

    @Test
    void anUnknownOrTooLargeTokenizerIsOneLine() throws Exception {
        LlamaConfig tiny = new LlamaConfig("llama", 8, 16, 1, 2, 1, 4, 16, 50257, 1e-5f, 10000.0, null, true, false, false, 0);
        Path dir = tmp.resolve("tiny-llama");
        try (Device d = Backends.open("reference"); DeviceWeights w = CausalLm.randomWeights(d, tiny.spec(), 3)) {
            HfCheckpoint.of(tiny, w.download(d)).write(dir);
        }
        Path text = Tiny.text(tmp.resolve("text.txt"));
        // neither tokenizer.json nor a manifest naming one: a LLaMA never silently gets GPT-2's tokenizer
        CliTest.Result none = CliTest.run("eval", "--model", dir.toString(), "--data", text.toString(), "--device", "reference");
        assertEquals(2, none.status(), none.err());
        assertTrue(none.err().contains("tokenizer.json") && none.err().strip().lines().count() == 1, none.err());
        // a manifest naming GPT-2's BPE (as the project's bases have)
        Files.writeString(dir.resolve("manifest.json"), "{\"tokenizer\": \"gpt2-r50k\"}");
        CliTest.Result ok = CliTest.run("eval", "--model", dir.toString(), "--data", text.toString(), "--device", "reference", "--json");
        assertEquals(0, ok.status(), ok.err());
        Files.writeString(dir.resolve("manifest.json"), "{\"tokenizer\": \"sentencepiece-32k\"}");
        CliTest.Result bad = CliTest.run("eval", "--model", dir.toString(), "--data", text.toString(), "--device", "reference");
        assertEquals(2, bad.status(), bad.err());
        assertTrue(bad.err().contains("tokenizer") && bad.err().contains("sentencepiece-32k") && bad.err().contains("gpt2-r50k"),
                bad.err());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());

        // GPT-2's ids do not fit a model of 1,000 tokens: refused before anything runs, not read out of range
        LlamaConfig small = new LlamaConfig("llama", 8, 16, 1, 2, 1, 4, 16, 1000, 1e-5f, 10000.0, null, true, false, false, 0);
        Path smallDir = tmp.resolve("small-vocab");
        try (Device d = Backends.open("reference"); DeviceWeights w = CausalLm.randomWeights(d, small.spec(), 3)) {
            HfCheckpoint.of(small, w.download(d)).write(smallDir);
        }
        Files.writeString(smallDir.resolve("manifest.json"), "{\"tokenizer\": \"gpt2-r50k\"}");
        CliTest.Result v = CliTest.run("eval", "--model", smallDir.toString(), "--data", text.toString(), "--device", "reference");
        assertEquals(2, v.status(), v.err());
        assertTrue(v.err().contains("vocab_size 1000") && v.err().contains("50257") && v.err().contains("manifest.json"), v.err());
    }

    @Test
    void badLlamaOptionsAreOneLine() {
        CliTest.Result p = CliTest.run("pretrain", "llama-fortunes", "--steps", "-1");
        assertEquals(2, p.status());
        assertTrue(p.err().contains("--steps"), p.err());
        CliTest.Result q = CliTest.run("quickstart", "--task", "llama2");
        assertEquals(2, q.status());
        assertTrue(q.err().contains("llama2") && q.err().contains("llama"), q.err());
    }
}
