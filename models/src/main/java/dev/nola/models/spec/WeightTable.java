package dev.nola.models.spec;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every tensor of a model, in checkpoint order, by name: the one table that the loaders, the
 * initialiser, the device weights, merge, export and the parameter report read (llm.c's
 * {@code fill_in_parameter_sizes}).
 */
public final class WeightTable {

    private final Map<String, WeightSpec> byName;

    /** A table of these weights, in this order; names must be unique. */
    public WeightTable(List<WeightSpec> weights) {
        Map<String, WeightSpec> m = new LinkedHashMap<>();
        for (WeightSpec w : weights) {
            if (m.put(w.name(), w) != null) {
                throw new IllegalArgumentException("weight " + w.name() + " is listed twice; expected unique names");
            }
        }
        this.byName = Collections.unmodifiableMap(m);
    }

    /** The weights in order. */
    public List<WeightSpec> list() {
        return List.copyOf(byName.values());
    }

    /** Whether the table has a tensor of this name. */
    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** The tensor of this name; an error naming it when there is none. */
    public WeightSpec get(String name) {
        WeightSpec w = byName.get(name);
        if (w == null) {
            throw new IllegalArgumentException("this model has no tensor '" + name + "'");
        }
        return w;
    }

    /** The shape of the tensor of this name (a copy). */
    public int[] shape(String name) {
        return get(name).shape();
    }

    /** Every shape by name, in order. */
    public Map<String, int[]> shapes() {
        Map<String, int[]> m = new LinkedHashMap<>();
        byName.forEach((k, v) -> m.put(k, v.shape()));
        return m;
    }

    /** The number of tensors. */
    public int size() {
        return byName.size();
    }

    /** The number of parameters (elements of every tensor). */
    public long parameterCount() {
        long n = 0;
        for (WeightSpec w : byName.values()) {
            n += w.elements();
        }
        return n;
    }
}
