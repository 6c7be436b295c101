package dev.nola.cli.run;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.LoraAdapter;
import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.io.Echo;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.adapter.io.PeftLoraExport;
import dev.nola.io.Echo;
import dev.nola.kernels.Device;
import dev.nola.models.spec.ModelSpec;
import dev.nola.models.transformer.Adapters;
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
 * adapter at all (only a ViT's head trains). Adapters sit on the model's adapter sites
 * ({@link ModelSpec#sites()}) and are named as saved files name them, by site ({@code h.{i}.attn.q} …
 * for GPT-2 and the ViT alike).
 *
 * @param method  "nola", "lora" or "head"
 * @param nola    the NOLA settings (method nola), else null
 * @param rank    LoRA's r (method lora)
 * @param targets the adapted modules, words of the model's {@link ModelSpec#modules()} (q, v, fc, fc2)
 * @param seed    LoRA's initialisation seed
 */
public record MethodSpec(String method, NolaConfig nola, int rank, List<String> targets, long seed) {

    public MethodSpec {
        if (!List.of("nola", "lora", "head").contains(method)) {
            throw new IllegalArgumentException("--method " + Echo.quote(method)
                    + " is not a method; expected nola, lora or head");
        }
        targets = List.copyOf(targets);
        if (method.equals("lora") && rank <= 0) {
            throw new IllegalArgumentException("--rank is " + rank + "; expected > 0");
        }
    }

    /**
     * This method, its targets checked against the model's modules: each a module of {@code model},
     * given once; else a one-line error naming {@code --targets}.
     */
    public MethodSpec requireTargetsOf(ModelSpec model) {
        List<String> known = model.modules();
        for (int i = 0; i < targets.size(); i++) {
            String t = targets.get(i);
            if (!known.contains(t)) {
                throw new IllegalArgumentException("--targets has " + Echo.quote(t) + "; expected modules among "
                        + String.join(", ", known));
            }
            if (targets.indexOf(t) != i) {
                throw new IllegalArgumentException("--targets has " + Echo.quote(t) + " twice; expected each module once");
            }
        }
        return this;
    }

    /** The name a report gives this method: "nola", "lora-r4" or "head". */
    public String label() {
        return method.equals("lora") ? "lora-r" + rank : method;
    }

    /**
     * The adapters of the target modules in every block of {@code model}, by saved name, layer by layer
     * in the order of {@link #targets()}: NOLA's streams by layer and module, LoRA's A seeded by
     * {@link #seed()} and stream {@code layer·16 + j} (j the module's index in the targets); none for head.
     */
    public Map<String, Adapter> create(Device d, ModelSpec model) {
        requireTargetsOf(model);
        return Adapters.<Adapter>create(model, targets, (s, j) -> switch (method) {
            case "nola" -> NolaAdapter.create(d, nola, s.in(), s.out(), s.layer(), s.module());
            case "lora" -> new LoraAdapter(d, s.in(), s.out(), rank, 2f * rank, seed, s.layer() * 16 + j);
            default -> null;
        });
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
