package dev.nola.cli.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nola.adapter.Adapter;
import dev.nola.adapter.LoraAdapter;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.adapter.io.SafeTensorsReader;
import dev.nola.adapter.io.TensorInfo;
import dev.nola.io.Echo;
import dev.nola.io.InputFiles;
import dev.nola.kernels.Device;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads the adapters {@code finetune} writes back onto a device: a NOLA adapter directory, or a PEFT
 * LoRA directory ({@code peft_type} LORA, tensors {@code base_model.model.NAME.lora_A.weight} [r, in]
 * and {@code …lora_B.weight} [out, r], scale lora_alpha / r). {@code --adapter} may name the adapter
 * directory itself or a {@code finetune} output directory that holds one in {@code adapter/}.
 */
public final class AdapterDirs {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_CONFIG_BYTES = 1 << 20;

    private AdapterDirs() {
    }

    /** The adapter directory meant by an {@code --adapter} value. */
    public static Path adapterDir(Path given) {
        if (Files.isDirectory(given.resolve("adapter")) && !Files.exists(given.resolve(NolaAdapterFiles.CONFIG_FILE))) {
            return given.resolve("adapter");
        }
        return given;
    }

    /** The trained ViT head saved beside an adapter by {@code finetune}, or null. */
    public static Path headFile(Path given) {
        Path dir = adapterDir(given);
        Path parent = dir.toAbsolutePath().getParent();
        for (Path p : new Path[] {given.resolve(FinetuneLayout.HEAD), parent == null ? null : parent.resolve(FinetuneLayout.HEAD)}) {
            if (p != null && Files.isRegularFile(p)) {
                return p;
            }
        }
        return null;
    }

    /** The adapters by saved name, on the device (the caller closes them). */
    public static Map<String, Adapter> load(Path given, Device d) {
        Path dir = adapterDir(given);
        InputFiles.requireDirectory(dir, "an adapter directory (adapter_config.json, adapter_model.safetensors)");
        Path config = dir.resolve(NolaAdapterFiles.CONFIG_FILE);
        JsonNode c;
        try {
            c = JSON.readTree(InputFiles.readAll(config, MAX_CONFIG_BYTES, 4));
        } catch (IOException e) {
            throw new IllegalArgumentException(Echo.path(config) + " is not valid JSON: " + Echo.line(e.getMessage()));
        }
        if (!"LORA".equals(c.path("peft_type").asText())) {
            Map<String, Adapter> m = new LinkedHashMap<>();
            NolaAdapterFiles.load(dir).instantiate(d, dir.toString()).forEach(m::put);
            return m;
        }
        int r = c.path("r").asInt(-1);
        double alpha = c.path("lora_alpha").asDouble(Double.NaN);
        if (r <= 0 || !(alpha > 0)) {
            throw new IllegalArgumentException(Echo.path(config) + ": r = " + c.path("r") + ", lora_alpha = "
                    + c.path("lora_alpha") + "; expected r > 0 and lora_alpha > 0");
        }
        Map<String, Adapter> m = new LinkedHashMap<>();
        try (SafeTensorsReader st = SafeTensorsReader.open(dir.resolve(NolaAdapterFiles.WEIGHTS_FILE))) {
            for (Map.Entry<String, TensorInfo> e : st.tensors().entrySet()) {
                String key = e.getKey();
                if (!key.endsWith(".lora_A.weight")) {
                    continue;
                }
                String name = key.substring(0, key.length() - ".lora_A.weight".length()).replaceFirst("^base_model\\.model\\.", "");
                String bKey = key.replace(".lora_A.weight", ".lora_B.weight");
                int[] sa = e.getValue().shape();
                TensorInfo bi = st.tensors().get(bKey);
                if (bi == null || sa.length != 2 || bi.shape().length != 2 || sa[0] != r || bi.shape()[1] != r) {
                    throw new IllegalArgumentException(Echo.path(dir) + ": layer " + Echo.quote(name)
                            + " needs lora_A [r=" + r + ", in] and lora_B [out, r=" + r + "]");
                }
                LoraAdapter a = new LoraAdapter(d, sa[1], bi.shape()[0], r, (float) alpha, 0, 0);
                m.put(name, a);
                float[] av = st.readFloats(key);
                float[] bv = st.readFloats(bKey);
                float[] p = new float[av.length + bv.length];
                System.arraycopy(av, 0, p, 0, av.length);
                System.arraycopy(bv, 0, p, av.length, bv.length);
                a.setParameters(p);
            }
        } catch (RuntimeException e) {
            m.values().forEach(Adapter::close);
            throw e;
        }
        if (m.isEmpty()) {
            throw new IllegalArgumentException(Echo.path(dir) + " holds no lora_A/lora_B tensors");
        }
        return m;
    }
}
