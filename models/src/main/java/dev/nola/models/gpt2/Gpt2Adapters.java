package dev.nola.models.gpt2;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.LoraAdapter;
import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.models.transformer.TransformerBlock;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * Adapters of a GPT-2 by name: layer i's adapter on module m is named {@code h.{i}.attn.q},
 * {@code h.{i}.attn.v}, {@code h.{i}.mlp.fc} or {@code h.{i}.mlp.fc2} (the names saved in adapter
 * files), and {@link #slots} hands them to the model's blocks.
 */
public final class Gpt2Adapters {

    /** The modules an adapter may target, by the name in a {@link NolaConfig}'s target list. */
    public static final List<String> MODULES = TransformerBlock.SLOTS;

    private Gpt2Adapters() {
    }

    /** The saved name of layer i's adapter on module m. */
    public static String name(int layer, String module) {
        return "h." + layer + (module.equals(TransformerBlock.Q) || module.equals(TransformerBlock.V) ? ".attn." : ".mlp.")
                + module;
    }

    /** [in, out] of module m in a model of width C. */
    public static int[] shape(String module, int c) {
        return switch (module) {
            case TransformerBlock.Q, TransformerBlock.V -> new int[] {c, c};
            case TransformerBlock.FC -> new int[] {c, 4 * c};
            case TransformerBlock.FC2 -> new int[] {4 * c, c};
            default -> throw new IllegalArgumentException("module '" + module + "' is not one of " + MODULES);
        };
    }

    /** NOLA adapters on the config's target modules of every layer, by name. */
    public static Map<String, NolaAdapter> nola(Device d, NolaConfig cfg, Gpt2Model.Dims dims) {
        Map<String, NolaAdapter> m = new LinkedHashMap<>();
        for (int i = 0; i < dims.layers(); i++) {
            for (String module : cfg.targetModules()) {
                int[] s = shape(module, dims.width());
                m.put(name(i, module), NolaAdapter.create(d, cfg, s[0], s[1], i, module));
            }
        }
        return m;
    }

    /** LoRA adapters of rank r (alpha = 2r) on the given modules of every layer, by name; A seeded per layer. */
    public static Map<String, LoraAdapter> lora(Device d, int rank, List<String> modules, Gpt2Model.Dims dims, long seed) {
        Map<String, LoraAdapter> m = new LinkedHashMap<>();
        for (int i = 0; i < dims.layers(); i++) {
            for (int j = 0; j < modules.size(); j++) {
                int[] s = shape(modules.get(j), dims.width());
                m.put(name(i, modules.get(j)), new LoraAdapter(d, s[0], s[1], rank, 2f * rank, seed, i * 16 + j));
            }
        }
        return m;
    }

    /**
     * The blocks' view of named adapters: layer i gets its adapters by slot. Every name must be one
     * of this model's ({@link #name}).
     */
    public static IntFunction<Map<String, Adapter>> slots(Map<String, ? extends Adapter> named, Gpt2Model.Dims dims) {
        Checks.notNull("adapters", named);
        Map<String, Adapter> left = new HashMap<>(named);
        Map<Integer, Map<String, Adapter>> byLayer = new HashMap<>();
        for (int i = 0; i < dims.layers(); i++) {
            Map<String, Adapter> slots = new HashMap<>();
            for (String module : MODULES) {
                Adapter a = left.remove(name(i, module));
                if (a != null) {
                    int[] s = shape(module, dims.width());
                    if (a.inFeatures() != s[0] || a.outFeatures() != s[1]) {
                        throw new IllegalArgumentException("adapter " + name(i, module) + " is [" + a.inFeatures() + " -> "
                                + a.outFeatures() + "]; this model's " + module + " is [" + s[0] + " -> " + s[1] + "]");
                    }
                    slots.put(module, a);
                }
            }
            byLayer.put(i, slots);
        }
        if (!left.isEmpty()) {
            throw new IllegalArgumentException("adapters " + left.keySet() + " name no layer of this " + dims.layers()
                    + "-layer model; expected names like " + name(0, TransformerBlock.Q));
        }
        return byLayer::get;
    }
}
