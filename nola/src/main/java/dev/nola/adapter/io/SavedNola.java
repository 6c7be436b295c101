package dev.nola.adapter.io;

import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.StreamId;
import dev.nola.io.Echo;
import dev.nola.io.SizeBudget;
import dev.nola.io.TooLargeException;
import dev.nola.kernels.Device;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A NOLA adapter set as read from (or about to be written to) an adapter directory: the settings and,
 * per adapted layer, its shape, stream ids and coefficients. Nothing is on a device yet; call
 * {@link #instantiate} to regenerate the factors on any device.
 *
 * @param config the settings shared by every layer
 * @param layers the adapted layers in file order, names distinct
 */
public record SavedNola(NolaConfig config, List<Layer> layers) {

    /**
     * One adapted layer.
     *
     * @param name  the module path, e.g. {@code h.0.attn.q}
     * @param in    the layer's input width
     * @param out   the layer's output width
     * @param idA   the stream id of A's bases (and offset)
     * @param idB   the stream id of B's bases
     * @param alpha α [k]
     * @param beta  β [l]
     */
    public record Layer(String name, int in, int out, StreamId idA, StreamId idB, float[] alpha, float[] beta) {
    }

    public SavedNola {
        layers = List.copyOf(layers);
    }

    /** The layer of that name, or an exception naming the known ones. */
    public Layer layer(String name) {
        for (Layer l : layers) {
            if (l.name().equals(name)) {
                return l;
            }
        }
        throw new IllegalArgumentException("adapter has no layer '" + name + "'; it has "
                + layers.stream().map(Layer::name).toList());
    }

    /**
     * Checks that a layer was trained for a base layer of this shape.
     *
     * @throws IllegalArgumentException naming the layer, the recorded and the expected shape
     */
    public void requireShape(String name, int in, int out) {
        Layer l = layer(name);
        if (l.in() != in || l.out() != out) {
            throw new IllegalArgumentException("adapter layer '" + name + "' was trained for in=" + l.in() + ", out="
                    + l.out() + " but the model's layer has in=" + in + ", out=" + out);
        }
    }

    /**
     * Creates the adapters on a device, regenerating their bases from the recorded streams; adapters
     * with the same streams (bases shared across layers) share one materialised copy. Refuses, before
     * allocating anything, a set that does not fit the device ({@link #devicePlan}).
     */
    public Map<String, NolaAdapter> instantiate(Device device) {
        return instantiate(device, "adapter");
    }

    /**
     * As {@link #instantiate(Device)}; {@code source} (the adapter's directory) names it in messages.
     *
     * @throws TooLargeException naming the source, the layer and tensor, the bytes and the device's limit
     */
    public Map<String, NolaAdapter> instantiate(Device device, String source) {
        devicePlan(source).requireOnDevice(device.info());
        Map<String, NolaAdapter> out = new LinkedHashMap<>();
        dev.nola.adapter.BasisBank bank = new dev.nola.adapter.BasisBank(device);
        try {
            for (Layer l : layers) {
                NolaAdapter a;
                try {
                    a = new NolaAdapter(device, config, l.in(), l.out(), l.idA(), l.idB(), bank);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(source + ": layer " + Echo.quote(l.name()) + ": " + e.getMessage(), e);
                }
                out.put(l.name(), a);
                a.setCoefficients(l.alpha(), l.beta());
            }
        } catch (RuntimeException e) {
            out.values().forEach(NolaAdapter::close);
            throw e;
        }
        return out;
    }

    /**
     * Every device allocation {@link #instantiate} makes, named by layer: per layer the factors A
     * [r, in] and B [out, r] and their gradients, α and β [k], [l] with their gradients and one
     * backward's gradients (and fake-quantized copies under QAT), the offset A₀ [r, in] under OFFSET init, and
     * under MATERIALIZED the bases [k, r·in] and [l, out·r] once per distinct stream (layers that
     * share bases share them). {@code DevicePlanTest} holds this to what {@code NolaAdapter} allocates.
     */
    public SizeBudget devicePlan(String source) {
        SizeBudget plan = SizeBudget.of(source);
        Set<String> bases = new HashSet<>();
        int r = config.rank();
        for (Layer l : layers) {
            String at = "layer " + Echo.quote(l.name()) + ": ";
            long nA = (long) r * l.in();
            long nB = (long) l.out() * r;
            String shapeA = " [" + r + ", " + l.in() + "]";
            String shapeB = " [" + l.out() + ", " + r + "]";
            plan.addFloats(at + "factor A" + shapeA, nA).addFloats(at + "gradient of A" + shapeA, nA)
                    .addFloats(at + "factor B" + shapeB, nB).addFloats(at + "gradient of B" + shapeB, nB)
                    .addFloats(at + "alpha", config.basisA()).addFloats(at + "gradient of alpha", config.basisA())
                    .addFloats(at + "one backward's gradient of alpha", config.basisA())
                    .addFloats(at + "beta", config.basisB()).addFloats(at + "gradient of beta", config.basisB())
                    .addFloats(at + "one backward's gradient of beta", config.basisB());
            if (config.quantizationAware()) {
                plan.addFloats(at + "quantized alpha", config.basisA()).addFloats(at + "quantized beta", config.basisB());
            }
            if (config.init() == NolaConfig.InitScheme.OFFSET) {
                plan.addFloats(at + "offset A0" + shapeA, nA);
            }
            if (config.basisMode() == NolaConfig.BasisMode.MATERIALIZED) {
                if (bases.add("A " + l.idA().packed() + " " + nA)) {
                    plan.addFloats(at + "basis matrix A [" + config.basisA() + ", " + nA + "]",
                            SizeBudget.times(config.basisA(), nA));
                }
                if (bases.add("B " + l.idB().packed() + " " + nB)) {
                    plan.addFloats(at + "basis matrix B [" + config.basisB() + ", " + nB + "]",
                            SizeBudget.times(config.basisB(), nB));
                }
            }
        }
        return plan;
    }

    /** The saved form of live adapters (which must share one config). */
    public static SavedNola of(Map<String, NolaAdapter> adapters) {
        if (adapters.isEmpty()) {
            throw new IllegalArgumentException("adapters is empty; nothing to save");
        }
        NolaConfig config = null;
        List<Layer> layers = new java.util.ArrayList<>();
        for (Map.Entry<String, NolaAdapter> e : adapters.entrySet()) {
            NolaAdapter a = e.getValue();
            if (config == null) {
                config = a.config();
            } else if (!config.equals(a.config())) {
                throw new IllegalArgumentException("adapter '" + e.getKey() + "' has config " + a.config()
                        + ", different from the first one's " + config + "; one file holds one config");
            }
            layers.add(new Layer(e.getKey(), a.inFeatures(), a.outFeatures(), a.streamIdA(), a.streamIdB(),
                    a.alpha(), a.beta()));
        }
        return new SavedNola(config, layers);
    }
}
