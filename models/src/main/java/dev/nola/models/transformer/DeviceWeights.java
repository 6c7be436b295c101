package dev.nola.models.transformer;

import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.models.spec.Init;
import dev.nola.models.spec.WeightSpec;
import dev.nola.models.spec.WeightTable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A model's tensors on a device, one per entry of its {@link WeightTable}, by name; also the shape of
 * its gradients. Closing closes every tensor it holds.
 */
public final class DeviceWeights implements AutoCloseable {

    private final WeightTable table;
    private final Map<String, Tensor> tensors;
    private final boolean owner;

    private DeviceWeights(WeightTable table, Map<String, Tensor> tensors, boolean owner) {
        this.table = table;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.owner = owner;
    }

    /** Zero tensors of every entry (gradients, or weights to fill). */
    public static DeviceWeights zeros(Device d, WeightTable table) {
        return build(table, w -> d.allocate(w.shape()));
    }

    /** Uploads host arrays, one per entry (checked by name and size), all float32. */
    public static DeviceWeights upload(Device d, WeightTable table, Map<String, float[]> host) {
        return upload(d, table, host, java.util.Set.of());
    }

    /**
     * Uploads host arrays, one per entry (checked by name and size); those named in {@code half} are
     * held as bfloat16 (each value rounded to nearest even; {@link WeightPrecision#halfWeights}), the
     * rest as float32.
     */
    public static DeviceWeights upload(Device d, WeightTable table, Map<String, float[]> host, java.util.Set<String> half) {
        for (String name : half) {
            table.get(name); // a name outside the table is a caller's error, named
        }
        return build(table, w -> {
            float[] v = host.get(w.name());
            if (v == null || v.length != w.elements()) {
                throw new IllegalArgumentException("tensor " + w.name() + " is " + (v == null ? "missing" : v.length + " floats")
                        + "; expected " + w);
            }
            return d.upload(WeightPrecision.dtypeOf(w.name(), half), v, w.shape());
        });
    }

    /** Hands each (name, values) of a model to a consumer, once per tensor, in any order (a checkpoint read tensor by tensor). */
    @FunctionalInterface
    public interface Source {
        /** Calls {@code each} once per tensor. */
        void forEach(java.util.function.BiConsumer<String, float[]> each);
    }

    /**
     * Uploads a model's tensors as a {@link Source} hands them over, each right away, keeping no host
     * copy (those named in {@code half} as bfloat16): a checkpoint never has to be whole on the heap.
     * Every entry of the table must come once, with its size; on any failure what was uploaded is freed.
     */
    public static DeviceWeights stream(Device d, WeightTable table, java.util.Set<String> half, Source source) {
        for (String name : half) {
            table.get(name);
        }
        Map<String, Tensor> got = new java.util.HashMap<>();
        try {
            source.forEach((name, v) -> {
                WeightSpec w = table.get(name);
                if (v.length != w.elements() || got.containsKey(name)) {
                    throw new IllegalArgumentException("tensor " + name + " is " + (got.containsKey(name) ? "given twice"
                            : v.length + " floats") + "; expected " + w + " once");
                }
                try {
                    got.put(name, d.upload(WeightPrecision.dtypeOf(name, half), v, w.shape()));
                } catch (dev.nola.kernels.DeviceMemoryExhausted e) {
                    throw e.named(name);
                }
            });
            Map<String, Tensor> ordered = new LinkedHashMap<>();
            for (WeightSpec w : table.list()) {
                Tensor t = got.get(w.name());
                if (t == null) {
                    throw new IllegalArgumentException("tensor " + w.name() + " is missing; expected " + w);
                }
                ordered.put(w.name(), t);
            }
            return new DeviceWeights(table, ordered, true);
        } catch (RuntimeException e) {
            got.values().forEach(Tensor::close);
            throw e;
        }
    }

    /**
     * Fresh weights by each entry's {@link Init}: normal draws from one seeded generator, in the given
     * order of names (entries not named draw nothing: zeros and ones), with the given sampler.
     */
    public static DeviceWeights random(Device d, WeightTable table, long seed, List<String> drawOrder, Sampler sampler) {
        return random(d, table, seed, drawOrder, sampler, java.util.Set.of());
    }

    /**
     * Floats drawn per chunk (16 MB): each tensor is drawn in chunks straight into its device tensor,
     * so the heap never holds the model (GPT-2's token table alone is 154 MB). Even, so a Box–Muller
     * pair never straddles two chunks and the draws are those of one pass over the whole tensor.
     */
    static final int DRAW_CHUNK = 1 << 22;

    /** {@link #random(Device, WeightTable, long, List, Sampler)} with the tensors named in {@code half} held as bfloat16 (the same draws, rounded). */
    public static DeviceWeights random(Device d, WeightTable table, long seed, List<String> drawOrder, Sampler sampler,
                                       java.util.Set<String> half) {
        return random(d, table, seed, drawOrder, sampler, half, DRAW_CHUNK);
    }

    /** {@link #random(Device, WeightTable, long, List, Sampler, java.util.Set)} drawing {@code chunk} (even) floats at a time. */
    static DeviceWeights random(Device d, WeightTable table, long seed, List<String> drawOrder, Sampler sampler,
                                java.util.Set<String> half, int chunkFloats) {
        if (chunkFloats < 2 || chunkFloats % 2 != 0) {
            throw new IllegalArgumentException("chunkFloats is " + chunkFloats + "; expected an even count ≥ 2");
        }
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, Tensor> drawn = new java.util.HashMap<>();
        // One chunk for every tensor: a new one per tensor was ~500 MB of 7–16 MB arrays for GPT-2 124M,
        // humongous garbage that grew the heap (and RSS) before the first step.
        int largest = 0;
        for (String name : drawOrder) {
            WeightSpec w = table.get(name);
            if (w.init().kind() == Init.Kind.NORMAL) {
                largest = Math.max(largest, w.elements());
            }
        }
        float[] chunk = new float[Math.min(chunkFloats, largest)];
        try {
            for (String name : drawOrder) {
                WeightSpec w = table.get(name);
                if (w.init().kind() == Init.Kind.NORMAL) {
                    Tensor t;
                    try {
                        t = d.allocate(WeightPrecision.dtypeOf(name, half), w.shape());
                    } catch (dev.nola.kernels.DeviceMemoryExhausted e) {
                        throw e.named(name);
                    }
                    drawn.put(name, t);
                    for (int from = 0; from < w.elements(); from += chunk.length) {
                        int len = Math.min(chunk.length, w.elements() - from);
                        sampler.draw(r, w.init().std(), chunk, len, from + len == w.elements());
                        d.write(t, from, chunk, 0, len);
                    }
                }
            }
            return build(table, w -> switch (w.init().kind()) {
                case NORMAL -> {
                    Tensor t = drawn.remove(w.name()); // the build owns it from here (and closes it on failure)
                    if (t == null) {
                        throw new IllegalArgumentException("tensor " + w.name() + " draws normals but is not in the draw order");
                    }
                    yield t;
                }
                case ZEROS -> d.allocate(WeightPrecision.dtypeOf(w.name(), half), w.shape());
                case ONES -> {
                    Tensor t = d.allocate(w.shape());
                    d.linalg().fill(t, 1f);
                    yield t;
                }
            });
        } finally {
            drawn.values().forEach(Tensor::close); // only those no build took: none after a success
        }
    }

    /** How normal draws are made from a generator (each architecture keeps the draw it was built with). */
    public enum Sampler {
        /** Box–Muller, both the cos and the sin value of each pair of uniforms (GPT-2). */
        BOX_MULLER_PAIRS,
        /** Box–Muller, the cos value alone (the project's ViT). */
        BOX_MULLER_COS;

        /**
         * The next {@code n} draws of a tensor into {@code v[0..n)}; {@code last} when they end the tensor.
         * Only the last chunk may have an odd {@code n} (its final pair keeps the cos value alone).
         */
        void draw(SplittableRandom r, double std, float[] v, int n, boolean last) {
            if (this == BOX_MULLER_PAIRS) {
                if (n % 2 != 0 && !last) {
                    throw new IllegalArgumentException("n is " + n + "; expected an even count of draws before a tensor's last chunk");
                }
                for (int i = 0; i < n; i += 2) {
                    double u1 = 1.0 - r.nextDouble();
                    double u2 = r.nextDouble();
                    double m = Math.sqrt(-2 * Math.log(u1)) * std;
                    v[i] = (float) (m * Math.cos(2 * Math.PI * u2));
                    if (i + 1 < n) {
                        v[i + 1] = (float) (m * Math.sin(2 * Math.PI * u2));
                    }
                }
            } else {
                for (int i = 0; i < n; i++) {
                    double u1 = 1.0 - r.nextDouble();
                    double u2 = r.nextDouble();
                    v[i] = (float) (Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2) * std);
                }
            }
        }
    }

    private interface Maker {
        Tensor make(WeightSpec w);
    }

    private static DeviceWeights build(WeightTable table, Maker maker) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        try {
            for (WeightSpec w : table.list()) {
                try {
                    m.put(w.name(), maker.make(w));
                } catch (dev.nola.kernels.DeviceMemoryExhausted e) {
                    throw e.named(w.name());
                }
            }
        } catch (RuntimeException e) {
            m.values().forEach(Tensor::close);
            throw e;
        }
        return new DeviceWeights(table, m, true);
    }

    /**
     * The same tensors under another table with some replaced (a new head over a shared base). The result
     * owns none of them: closing it closes nothing; close this set and the replacements instead.
     */
    public DeviceWeights with(WeightTable newTable, Map<String, Tensor> replaced) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (WeightSpec w : newTable.list()) {
            Tensor t = replaced.containsKey(w.name()) ? replaced.get(w.name()) : tensors.get(w.name());
            if (t == null || !java.util.Arrays.equals(t.shape(), w.shape())) {
                throw new IllegalArgumentException("tensor " + w.name() + " is " + (t == null ? "missing" : java.util.Arrays.toString(t.shape()))
                        + "; expected " + w);
            }
            m.put(w.name(), t);
        }
        return new DeviceWeights(newTable, m, false);
    }

    /** The table. */
    public WeightTable table() {
        return table;
    }

    /** The tensor of this name. */
    public Tensor get(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor '" + name + "' on the device; the model has " + tensors.size());
        }
        return t;
    }

    /** Every tensor by name, in table order. */
    public Map<String, Tensor> all() {
        return tensors;
    }

    /** Reads every tensor back, by name, in table order. */
    public Map<String, float[]> download(Device d) {
        Map<String, float[]> m = new LinkedHashMap<>();
        tensors.forEach((k, v) -> m.put(k, d.read(v)));
        return m;
    }

    /** Closes every tensor (nothing for a set made by {@link #with}). */
    @Override
    public void close() {
        if (owner) {
            tensors.values().forEach(Tensor::close);
        }
    }
}
