package dev.nola.models.gpt2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.io.SafeTensorsReader;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.transformer.Adapters;
import dev.nola.models.transformer.DeviceWeights;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The PEFT export of a GPT-2 adapter, merged into the base with PEFT's formula for a Conv1D target
 * (W += scaling·(lora_B·lora_A)ᵀ, scaling = lora_alpha / r), gives the logits of the adapted model.
 */
class Gpt2PeftExportTest {

    static final Gpt2Config TINY = new Gpt2Config(8, 2, 2, 8, 29, 1e-5f, "gelu_new");

    @Test
    void mergingThePeftExportReproducesTheAdaptedLogits() throws Exception {
        int[] ids = {1, 5, 9, 28, 3, 3};
        try (Device d = Backends.open("reference")) {
            CausalLmSpec spec = TINY.spec();
            DeviceWeights w = CausalLm.randomWeights(d, spec, 3);
            NolaConfig cfg = NolaConfig.offset(2, 6, 6, 8f, 4L, List.of("q", "v"));
            Map<String, NolaAdapter> a = Adapters.nola(d, cfg, spec.model());
            int n = 0;
            for (NolaAdapter x : a.values()) {
                float[] p = new float[x.parameterCount()];
                for (int j = 0; j < p.length; j++) {
                    p[j] = (float) (0.5 * Math.sin(++n));
                }
                x.setParameters(p);
            }
            float[] adapted;
            try (CausalLm m = new CausalLm(d, spec, w, false, a)) {
                m.forward(ids, 1, ids.length);
                adapted = d.read(m.logits());
            }
            Map<String, byte[]> files = Gpt2PeftExport.files(a, spec, "tiny");
            JsonNode c = new ObjectMapper().readTree(files.get("adapter_config.json"));
            assertEquals(List.of("c_attn"), List.of(c.get("target_modules").get(0).asText()));
            assertTrue(c.get("fan_in_fan_out").asBoolean());
            double scaling = c.get("lora_alpha").asDouble() / c.get("r").asInt();
            int r2 = c.get("r").asInt();
            int ch = TINY.embeddingSize();
            float[] plainBefore;
            try (SafeTensorsReader r = SafeTensorsReader.fromBytes(files.get("adapter_model.safetensors"), "export")) {
                for (int i = 0; i < TINY.layers(); i++) {
                    String p = "base_model.model.transformer.h." + i + ".attn.c_attn";
                    float[] la = r.readFloats(p + ".lora_A.weight");
                    float[] lb = r.readFloats(p + ".lora_B.weight");
                    var attn = w.get("h." + i + ".attn.c_attn.weight");
                    float[] wv = d.read(attn);
                    // Conv1D weight [C, 3C]: W[in][out] += scaling·Σ_k B[out][k]·A[k][in]
                    for (int in = 0; in < ch; in++) {
                        for (int out = 0; out < 3 * ch; out++) {
                            double s = 0;
                            for (int k = 0; k < r2; k++) {
                                s += (double) lb[out * r2 + k] * la[k * ch + in];
                            }
                            wv[in * 3 * ch + out] += (float) (scaling * s);
                        }
                    }
                    d.write(attn, wv);
                }
            }
            float[] merged;
            try (CausalLm m = new CausalLm(d, spec, w, false, Map.of())) {
                m.forward(ids, 1, ids.length);
                merged = d.read(m.logits());
            }
            double max = 0;
            double diff = 0;
            for (int i = 0; i < merged.length; i++) {
                max = Math.max(max, Math.abs(adapted[i]));
                diff = Math.max(diff, Math.abs(adapted[i] - merged[i]));
            }
            assertTrue(diff <= 1e-5 * max + 1e-6, "merged logits differ by " + diff + " (largest logit " + max + ")");
            a.values().forEach(NolaAdapter::close);
            w.close();
        }
    }
}
