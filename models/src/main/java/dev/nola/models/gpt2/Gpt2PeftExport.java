package dev.nola.models.gpt2;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nola.adapter.Adapter;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.adapter.io.PeftLoraExport;
import dev.nola.adapter.io.SafeTensorsWriter;
import dev.nola.io.SizeBudget;
import dev.nola.kernels.Checks;
import dev.nola.models.spec.AdapterSite;
import dev.nola.models.spec.CausalLmSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GPT-2 adapter on q and v as a PEFT LoRA adapter for Hugging Face's {@code GPT2LMHeadModel} as it
 * is: PEFT targets the fused {@code c_attn} (Conv1D, {@code fan_in_fan_out = true}), so each layer's
 * q and v factors go into one rank-2r pair,
 * <pre>
 *   lora_A [2r, C] = [A_q ; A_v]            lora_B [3C, 2r] = [ B_q  0  ]   (rows of q)
 *                                                             [  0   0  ]   (rows of k: zero)
 *                                                             [  0  B_v ]   (rows of v)
 * </pre>
 * with {@code lora_alpha = s·2r}, so that PEFT's {@code scaling = lora_alpha / r} is the adapter's s and
 * {@code ΔW_c_attn = s·(lora_B·lora_A)ᵀ} adds exactly s·B_q·A_q to the q columns, s·B_v·A_v to the v
 * columns, and nothing to k.
 */
public final class Gpt2PeftExport {

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    private Gpt2PeftExport() {
    }

    /**
     * Writes the PEFT directory (adapter_config.json, adapter_model.safetensors) atomically, under
     * {@link PeftLoraExport}'s rule: an existing {@code dir} is replaced only when it is a previous
     * PEFT LoRA export.
     */
    public static void write(Path dir, Map<String, ? extends Adapter> named, CausalLmSpec spec, String baseModel) {
        PeftLoraExport.writeFiles(dir, files(named, spec, baseModel));
    }

    /** The directory's files, name → bytes. */
    public static Map<String, byte[]> files(Map<String, ? extends Adapter> named, CausalLmSpec spec, String baseModel) {
        Checks.notNull("adapters", named);
        if (named.isEmpty()) {
            throw new IllegalArgumentException("no adapters to export");
        }
        int c = spec.model().width();
        Map<String, AdapterSite> sites = spec.model().sites();
        Adapter first = named.values().iterator().next();
        int r = first.rank();
        float s = first.scale();
        for (Map.Entry<String, ? extends Adapter> e : named.entrySet()) {
            Adapter a = e.getValue();
            if (a.rank() != r || a.scale() != s) {
                throw new IllegalArgumentException("adapter " + e.getKey() + " has r = " + a.rank() + ", s = " + a.scale()
                        + "; the first has r = " + r + ", s = " + s + " (one PEFT file has one r and alpha)");
            }
        }
        // every name must be a q or v adapter of this model, of its shape
        for (Map.Entry<String, ? extends Adapter> e : named.entrySet()) {
            AdapterSite site = sites.get(e.getKey());
            if (site == null) {
                throw new IllegalArgumentException("adapters [" + e.getKey() + "] name no adapter site of this "
                        + spec.model().layers() + "-layer GPT-2; expected names like h.0.attn.q");
            }
            if (!site.module().equals("q") && !site.module().equals("v")) {
                throw new IllegalArgumentException("adapter " + e.getKey() + " is not on q or v; GPT-2's PEFT export covers c_attn only");
            }
            Adapter a = e.getValue();
            if (a.inFeatures() != site.in() || a.outFeatures() != site.out()) {
                throw new IllegalArgumentException("adapter " + e.getKey() + " is [" + a.inFeatures() + " -> " + a.outFeatures()
                        + "]; this model's " + site.module() + " is [" + site.in() + " -> " + site.out() + "]");
            }
        }
        // the file's tensors, then the file, then one layer's factors read back: checked before any is read
        long layers = named.keySet().stream().map(n -> sites.get(n).layer()).distinct().count();
        long floats = SizeBudget.times(layers, SizeBudget.plus(2L * r * c, 3L * c * 2 * r));
        SizeBudget.of("the GPT-2 PEFT export").addFloats("the c_attn factors", floats)
                .addBytes("the safetensors file", SizeBudget.times(floats, Float.BYTES))
                .addFloats("one layer's q and v factors read back", 4L * r * c).requireOnHeap();
        SafeTensorsWriter w = new SafeTensorsWriter();
        // each layer's q and v sites are column ranges of one stored Conv1D weight (c_attn)
        List<AdapterSite> qv = spec.model().sitesOf(List.of("q", "v"));
        for (int i = 0; i < spec.model().layers(); i++) {
            AdapterSite qSite = qv.get(2 * i);
            AdapterSite vSite = qv.get(2 * i + 1);
            Adapter q = named.get(qSite.name());
            Adapter v = named.get(vSite.name());
            if (q == null && v == null) {
                continue;
            }
            float[] a = new float[2 * r * c];
            float[] b = new float[3 * c * 2 * r];
            if (q != null) {
                float[] aq = q.device().read(q.factorA());
                float[] bq = q.device().read(q.factorB());
                System.arraycopy(aq, 0, a, 0, r * c);
                for (int row = 0; row < c; row++) {
                    System.arraycopy(bq, row * r, b, row * 2 * r, r);
                }
            }
            if (v != null) {
                float[] av = v.device().read(v.factorA());
                float[] bv = v.device().read(v.factorB());
                System.arraycopy(av, 0, a, r * c, r * c);
                for (int row = 0; row < c; row++) {
                    System.arraycopy(bv, row * r, b, (2 * c + row) * 2 * r + r, r);
                }
            }
            String stored = qSite.linear().weight();
            String prefix = "base_model.model.transformer." + stored.substring(0, stored.length() - ".weight".length());
            w.f32(prefix + ".lora_A.weight", new int[] {2 * r, c}, a);
            w.f32(prefix + ".lora_B.weight", new int[] {3 * c, 2 * r}, b);
        }
        ObjectNode cfg = JSON.createObjectNode();
        cfg.put("peft_type", "LORA");
        cfg.put("task_type", "CAUSAL_LM");
        cfg.put("r", 2 * r);
        cfg.put("lora_alpha", (double) s * 2 * r);
        cfg.putArray("target_modules").add("c_attn");
        cfg.put("fan_in_fan_out", true);
        cfg.put("lora_dropout", 0.0);
        cfg.put("bias", "none");
        cfg.put("use_rslora", false);
        cfg.put("inference_mode", true);
        if (baseModel == null) {
            cfg.putNull("base_model_name_or_path");
        } else {
            cfg.put("base_model_name_or_path", baseModel);
        }
        Map<String, byte[]> files = new LinkedHashMap<>();
        try {
            files.put(NolaAdapterFiles.CONFIG_FILE, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(cfg));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        files.put(NolaAdapterFiles.WEIGHTS_FILE, w.toBytes(Map.of("format", "pt")));
        return files;
    }
}
