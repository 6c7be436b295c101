package dev.nola.cli.run;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.LoraAdapter;
import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.adapter.io.PeftLoraExport;
import dev.nola.io.Echo;
import dev.nola.kernels.Device;
import dev.nola.models.gpt2.Gpt2Adapters;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * How the layers of a transformer are adapted: NOLA (a {@link NolaConfig}), LoRA of rank r, or no
 * adapter at all (only a ViT's head trains). Adapters are named as saved files name them,
 * {@code h.{i}.attn.q} … ({@link Gpt2Adapters#name}), for GPT-2 and the ViT alike (they share the block).
 *
 * @param method "nola", "lora" or "head"
 * @param nola   the NOLA settings (method nola), else null
 * @param rank   LoRA's r (method lora)
 * @param targets the adapted modules (q, v, fc, fc2)
 * @param seed   LoRA's initialisation seed
 */
public record MethodSpec(String method, NolaConfig nola, int rank, List<String> targets, long seed) {

    public MethodSpec {
        if (!List.of("nola", "lora", "head").contains(method)) {
            throw new IllegalArgumentException("--method " + Echo.quote(method)
                    + " is not a method; expected nola, lora or head");
        }
        for (String t : targets) {
            if (!Gpt2Adapters.MODULES.contains(t)) {
                throw new IllegalArgumentException("--targets has " + Echo.quote(t)
                        + "; expected modules among " + String.join(", ", Gpt2Adapters.MODULES));
            }
        }
        if (method.equals("lora") && rank <= 0) {
            throw new IllegalArgumentException("--rank is " + rank + "; expected > 0");
        }
    }

    /** The name a report gives this method: "nola", "lora-r4" or "head". */
    public String label() {
        return method.equals("lora") ? "lora-r" + rank : method;
    }

    /** The adapters of every layer of a model of {@code layers} blocks of width {@code width}, by saved name. */
    public Map<String, Adapter> create(Device d, int layers, int width) {
        Map<String, Adapter> m = new LinkedHashMap<>();
        try {
            for (int i = 0; i < layers; i++) {
                for (int j = 0; j < targets.size(); j++) {
                    String module = targets.get(j);
                    int[] s = Gpt2Adapters.shape(module, width);
                    Adapter a = switch (method) {
                        case "nola" -> NolaAdapter.create(d, nola, s[0], s[1], i, module);
                        case "lora" -> new LoraAdapter(d, s[0], s[1], rank, 2f * rank, seed, i * 16 + j);
                        default -> null;
                    };
                    if (a != null) {
                        m.put(Gpt2Adapters.name(i, module), a);
                    }
                }
            }
        } catch (RuntimeException e) {
            m.values().forEach(Adapter::close);
            throw e;
        }
        return m;
    }

    /**
     * Saves the adapters: NOLA as a NOLA adapter directory, LoRA as a PEFT LoRA adapter. Returns the
     * bytes on disk (0 when there is nothing to save).
     */
    public long save(Path dir, Map<String, Adapter> adapters, String baseModel) {
        if (adapters.isEmpty()) {
            return 0;
        }
        if (method.equals("nola")) {
            Map<String, NolaAdapter> n = new LinkedHashMap<>();
            adapters.forEach((k, v) -> n.put(k, (NolaAdapter) v));
            NolaAdapterFiles.save(dir, n);
        } else {
            PeftLoraExport.write(dir, adapters, targets, baseModel);
        }
        return bytesOnDisk(dir);
    }

    /** The bytes of the regular files under {@code dir}. */
    public static long bytesOnDisk(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }
}
