package dev.nola.models.spec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * A model as data, derived once from its architecture's configuration: the weight table, the blocks'
 * parts and the final norm; the adapter sites follow from the blocks.
 *
 * @param architecture the architecture's name ({@code gpt2}, {@code vit}, {@code llama})
 * @param weights      every tensor
 * @param blocks       the transformer blocks, in order
 * @param finalNorm    the norm after the last block
 * @param width        C, the residual stream's width
 */
public record ModelSpec(String architecture, WeightTable weights, List<BlockSpec> blocks, NormSpec finalNorm, int width) {

    public ModelSpec {
        blocks = List.copyOf(blocks);
        for (BlockSpec b : blocks) {
            for (LinearSpec l : b.linears()) {
                requireShape(weights, l.weight(), l.storedShape());
                if (l.bias() != null) {
                    requireShape(weights, l.bias(), new int[] {l.stored()});
                }
            }
            for (NormSpec n : List.of(b.norm1(), b.norm2())) {
                requireShape(weights, n.weight(), new int[] {width});
            }
        }
        requireShape(weights, finalNorm.weight(), new int[] {width});
    }

    private static void requireShape(WeightTable t, String name, int[] shape) {
        if (!java.util.Arrays.equals(t.shape(name), shape)) {
            throw new IllegalArgumentException("tensor " + name + " is " + java.util.Arrays.toString(t.shape(name))
                    + " in the table but " + java.util.Arrays.toString(shape) + " where a block uses it");
        }
    }

    /** The number of blocks. */
    public int layers() {
        return blocks.size();
    }

    /** Every adapter site, by saved name, in block order then q, k, v, out, gate, up, down. */
    public Map<String, AdapterSite> sites() {
        Map<String, AdapterSite> m = new LinkedHashMap<>();
        for (BlockSpec b : blocks) {
            for (LinearSpec l : b.linears()) {
                if (l.adaptable()) {
                    m.put(l.site(), new AdapterSite(l.site(), l.module(), b.layer(), l));
                }
            }
        }
        return m;
    }

    /** The module words adapters may target ({@code --targets}), in site order. */
    public List<String> modules() {
        LinkedHashSet<String> s = new LinkedHashSet<>();
        sites().values().forEach(x -> s.add(x.module()));
        return List.copyOf(s);
    }

    /** The sites of the given modules in every layer, layer by layer and in the order the modules are given. */
    public List<AdapterSite> sitesOf(List<String> modules) {
        List<String> known = modules();
        for (String m : modules) {
            if (!known.contains(m)) {
                throw new IllegalArgumentException("module '" + m + "' is not an adapter site of " + architecture
                        + "; expected one of " + String.join(", ", known));
            }
        }
        List<AdapterSite> out = new ArrayList<>();
        Map<String, AdapterSite> all = sites();
        for (BlockSpec b : blocks) {
            for (String m : modules) {
                for (AdapterSite s : all.values()) {
                    if (s.layer() == b.layer() && s.module().equals(m)) {
                        out.add(s);
                    }
                }
            }
        }
        return out;
    }
}
