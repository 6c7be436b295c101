package dev.nola.models.transformer;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.LoraAdapter;
import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.kernels.Device;
import dev.nola.models.spec.AdapterSite;
import dev.nola.models.spec.ModelSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Adapters on a model's sites, by saved name: one per site of the target modules in every layer.
 * Any architecture: the sites come from its {@link ModelSpec}.
 */
public final class Adapters {

    private Adapters() {
    }

    /** Makes the adapter of one site; {@code index} is the site's module's position in the target list. */
    @FunctionalInterface
    public interface Factory<A extends Adapter> {
        /** The adapter of a site. */
        A create(AdapterSite site, int index);
    }

    /**
     * One adapter per site of the given modules, layer by layer; on failure every adapter made so far is
     * closed.
     */
    public static <A extends Adapter> Map<String, A> create(ModelSpec spec, List<String> modules, Factory<A> factory) {
        Map<String, A> m = new LinkedHashMap<>();
        try {
            for (AdapterSite s : spec.sitesOf(modules)) {
                A a = factory.create(s, modules.indexOf(s.module()));
                if (a != null) {
                    m.put(s.name(), a);
                }
            }
        } catch (RuntimeException e) {
            m.values().forEach(Adapter::close);
            throw e;
        }
        return m;
    }

    /** NOLA adapters on the config's target modules of every layer (stream ids by layer and module). */
    public static Map<String, NolaAdapter> nola(Device d, NolaConfig cfg, ModelSpec spec) {
        return create(spec, cfg.targetModules(), (s, j) -> NolaAdapter.create(d, cfg, s.in(), s.out(), s.layer(), s.module()));
    }

    /**
     * LoRA adapters of rank r (alpha = 2r) on the given modules of every layer; A is seeded by
     * {@code seed} and stream {@code layer·16 + j}, j the module's index in {@code modules}.
     */
    public static Map<String, LoraAdapter> lora(Device d, int rank, List<String> modules, ModelSpec spec, long seed) {
        return create(spec, modules, (s, j) -> new LoraAdapter(d, s.in(), s.out(), rank, 2f * rank, seed, s.layer() * 16 + j));
    }
}
