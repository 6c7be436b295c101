package dev.nola.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.adapter.io.SafeTensorsReader;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.gpt2.Gpt2Config;
import dev.nola.models.lm.HfCheckpoint;
import dev.nola.models.transformer.Adapters;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code nola export-lora DIR OUT --model GPT2DIR}: a saved NOLA adapter of a tiny GPT-2 exported as
 * PEFT's LoRA on the fused c_attn, merged into the base's c_attn with PEFT's formula for a Conv1D
 * target (fan_in_fan_out: W += (lora_alpha / r)·(lora_B·lora_A)ᵀ), scores as base + adapter does.
 */
class Gpt2ExportLoraTest {

    /** 2 layers (the export is per layer), 3 heads, C = 12; a small vocabulary keeps the files small. */
    static final Gpt2Config TINY = new Gpt2Config(12, 3, 2, 12, 53, 1e-5f, "gelu_new");
    static final String IDS = "3,17,52,0,9,41,41,7,22,5";

    @TempDir
    static Path tmp;

    static Path base;
    static Path adapter;

    @BeforeAll
    static void writeBaseAndAdapter() {
        base = tmp.resolve("base");
        adapter = tmp.resolve("adapter");
        Tiny.write(TINY, 21, base);
        try (Device d = Backends.open("reference")) {
            Map<String, NolaAdapter> a = Adapters.nola(d, NolaConfig.offset(3, 8, 7, 6f, 13L, List.of("q", "v")), TINY.spec().model());
            int i = 0;
            for (NolaAdapter x : a.values()) {
                float[] p = new float[x.parameterCount()];
                for (int j = 0; j < p.length; j++) {
                    p[j] = (float) (0.7 * Math.sin(++i));
                }
                x.setParameters(p);
            }
            NolaAdapterFiles.save(adapter, a);
            a.values().forEach(NolaAdapter::close);
        }
    }

    static float[] score(String... extra) {
        String[] args = new String[4 + extra.length];
        args[0] = "score";
        args[1] = "--ids";
        args[2] = IDS;
        args[3] = "--device=reference";
        System.arraycopy(extra, 0, args, 4, extra.length);
        CliTest.Result r = CliTest.run(args);
        assertEquals(0, r.status(), r.err());
        return parse(r.out());
    }

    static float[] parse(String out) {
        List<String> lines = out.lines().toList();
        float[] v = new float[lines.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = Float.parseFloat(lines.get(i));
        }
        return v;
    }

    @Test
    void theExportMergedWithPeftsFormulaScoresAsBasePlusAdapter() throws IOException {
        Path peft = tmp.resolve("peft");
        CliTest.Result export = CliTest.run("export-lora", adapter.toString(), peft.toString(), "--model", base.toString(),
                "--device", "cpu");
        assertEquals(0, export.status(), export.err());
        assertTrue(export.out().contains("PEFT LoRA on GPT-2's c_attn, r=6 (q and v at r=3 each, k zero), 2 layers"),
                export.out());

        JsonNode cfg = new ObjectMapper().readTree(peft.resolve("adapter_config.json").toFile());
        assertEquals("LORA", cfg.get("peft_type").asText());
        assertEquals("c_attn", cfg.get("target_modules").get(0).asText());
        assertEquals(1, cfg.get("target_modules").size());
        assertTrue(cfg.get("fan_in_fan_out").asBoolean(), "GPT-2's c_attn is a Conv1D [in, out]");
        int r = cfg.get("r").asInt();
        double scaling = cfg.get("lora_alpha").asDouble() / r;

        HfCheckpoint merged = HfCheckpoint.load(base);
        int c = TINY.embeddingSize();
        try (SafeTensorsReader st = SafeTensorsReader.open(peft.resolve("adapter_model.safetensors"))) {
            assertEquals(2 * TINY.layers(), st.tensors().size(), st.tensors().keySet().toString());
            for (int layer = 0; layer < TINY.layers(); layer++) {
                String p = "base_model.model.transformer.h." + layer + ".attn.c_attn";
                assertArrayEquals(new int[] {r, c}, st.tensor(p + ".lora_A.weight").shape());
                assertArrayEquals(new int[] {3 * c, r}, st.tensor(p + ".lora_B.weight").shape());
                float[] a = st.readFloats(p + ".lora_A.weight");
                float[] b = st.readFloats(p + ".lora_B.weight");
                for (int row = c; row < 2 * c; row++) {
                    for (int k = 0; k < r; k++) {
                        assertEquals(0f, b[row * r + k], "k's rows of lora_B are zero");
                    }
                }
                // PEFT, Conv1D target: delta = transpose(B @ A) * scaling, W [in, 3C] += delta
                float[] wAttn = merged.tensors().get("h." + layer + ".attn.c_attn.weight");
                for (int in = 0; in < c; in++) {
                    for (int out = 0; out < 3 * c; out++) {
                        double s = 0;
                        for (int k = 0; k < r; k++) {
                            s += (double) b[out * r + k] * a[k * c + in];
                        }
                        wAttn[in * 3 * c + out] += (float) (scaling * s);
                    }
                }
            }
        }
        Path mergedDir = tmp.resolve("merged");
        merged.write(mergedDir);

        float[] adapted = score("--model", base.toString(), "--adapter", adapter.toString());
        float[] viaPeft = score("--model", mergedDir.toString());
        float[] plain = score("--model", base.toString());
        assertEquals(1 + TINY.vocabularySize(), adapted.length, "the loss, then V logits");
        // Merged weights are rounded to float32 once per element (≈ 6e-8 relative) and the adapter path
        // sums in another order; through 2 layers that moves a logit by ~1e-6 of the largest, so 1e-4 of
        // it (plus the loss's own scale) is float32 noise, while the adapter itself moves the logits by
        // a good fraction of their scale (checked below).
        double max = 0;
        double diff = 0;
        double effect = 0;
        for (int i = 0; i < adapted.length; i++) {
            max = Math.max(max, Math.abs(adapted[i]));
            diff = Math.max(diff, Math.abs(adapted[i] - viaPeft[i]));
            effect = Math.max(effect, Math.abs(adapted[i] - plain[i]));
        }
        assertTrue(diff <= 1e-4 * max, "merged PEFT export differs from base + adapter by " + diff + " (largest " + max + ")");
        assertTrue(effect > 1e-2 * max, "the adapter changes the scores: " + effect + " (largest " + max + ")");

        // a second export replaces the first (a previous export), from another device, byte for byte
        byte[] before = Files.readAllBytes(peft.resolve("adapter_model.safetensors"));
        CliTest.Result again = CliTest.run("export-lora", adapter.toString(), peft.toString(), "--model", base.toString(),
                "--device", "reference");
        assertEquals(0, again.status(), again.err());
        assertArrayEquals(before, Files.readAllBytes(peft.resolve("adapter_model.safetensors")));
    }

    @Test
    void outputPathsStaySafeWithModel() throws IOException {
        byte[] weights = Files.readAllBytes(base.resolve(HfCheckpoint.WEIGHTS_FILE));
        byte[] adapterWeights = Files.readAllBytes(adapter.resolve(NolaAdapterFiles.WEIGHTS_FILE));
        Path other = tmp.resolve("notes");
        Files.createDirectories(other);
        Files.writeString(other.resolve("todo.txt"), "keep me");
        for (Path out : List.of(base, base.resolve("inside"), adapter, tmp, other)) {
            CliTest.Result r = CliTest.run("export-lora", adapter.toString(), out.toString(), "--model", base.toString());
            assertEquals(2, r.status(), out + ": " + r.out() + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
        assertArrayEquals(weights, Files.readAllBytes(base.resolve(HfCheckpoint.WEIGHTS_FILE)));
        assertArrayEquals(adapterWeights, Files.readAllBytes(adapter.resolve(NolaAdapterFiles.WEIGHTS_FILE)));
        assertEquals("keep me", Files.readString(other.resolve("todo.txt")));
        assertFalse(Files.exists(base.resolve("inside")));
    }

    @Test
    void aModelOfAnotherShapeIsRefusedBeforeAnythingIsWritten() throws IOException {
        Path wide = tmp.resolve("wide");
        Files.createDirectories(wide);
        Files.write(wide.resolve(HfCheckpoint.CONFIG_FILE),
                new Gpt2Config(16, 2, 2, 12, 53, 1e-5f, "gelu_new").toJson());
        Path out = tmp.resolve("wide-peft");
        CliTest.Result r = CliTest.run("export-lora", adapter.toString(), out.toString(), "--model", wide.toString());
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("in=16, out=16"), r.err());
        Path shallow = tmp.resolve("shallow");
        Files.createDirectories(shallow);
        Files.write(shallow.resolve(HfCheckpoint.CONFIG_FILE),
                new Gpt2Config(12, 3, 1, 12, 53, 1e-5f, "gelu_new").toJson());
        r = CliTest.run("export-lora", adapter.toString(), out.toString(), "--model", shallow.toString());
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("n_layer = 1"), r.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void withoutModelTheExportIsAsBeforeWithANote() throws IOException {
        Path out = tmp.resolve("plain-peft");
        CliTest.Result r = CliTest.run("export-lora", adapter.toString(), out.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("PEFT LoRA, r=3, 4 layers"), r.out());
        assertTrue(r.err().contains("--model GPT2DIR"), r.err());
        try (SafeTensorsReader st = SafeTensorsReader.open(out.resolve("adapter_model.safetensors"))) {
            assertTrue(st.tensors().containsKey("base_model.model.h.1.attn.v.lora_A.weight"), st.tensors().keySet().toString());
        }
    }
}
