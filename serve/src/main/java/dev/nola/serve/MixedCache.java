package dev.nola.serve;

import dev.nola.adapter.Adapter;
import dev.nola.cli.run.AdapterDirs;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.models.spec.AdapterSite;
import dev.nola.models.spec.ModelSpec;
import dev.nola.models.transformer.RowAdapters;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The adapters' factors on the device, an LRU bounded in bytes: a NOLA adapter's A and B are mixed
 * from its seed and coefficients when a request first needs them (the same kernels as training, so the
 * same bits) and kept until room is needed; evicting one costs only a re-mix. A LoRA adapter's factors
 * are read from its directory. Entries in use by a running sequence are pinned and never evicted (the
 * cache may exceed its bound while every entry is pinned). Only what the factors need stays: A [r, in]
 * and B [out, r] per site, no training state.
 *
 * <p>Device work happens on the caller's thread (the scheduler's); the counters may be read from any.
 */
final class MixedCache {

    /** One adapter's factors on the device, by site; {@code pins} running sequences use it. */
    static final class Mixed {
        final String name;
        final Map<String, RowAdapters.Factors> sites;
        final long bytes;
        private final List<Tensor> tensors;
        private final AdapterStore.AtRest source;
        private int pins;

        Mixed(String name, AdapterStore.AtRest source, Map<String, RowAdapters.Factors> sites, List<Tensor> tensors, long bytes) {
            this.name = name;
            this.source = source;
            this.sites = sites;
            this.tensors = tensors;
            this.bytes = bytes;
        }
    }

    private final Device device;
    private final ModelSpec spec;
    private final long budget;
    private final LinkedHashMap<String, Mixed> lru = new LinkedHashMap<>(16, 0.75f, true);
    private long bytes;
    private long hits;
    private long misses;
    private long evictions;

    /** @param budget the bytes of factors kept when not in use, ≥ 0 */
    MixedCache(Device device, ModelSpec spec, long budget) {
        if (budget < 0) {
            throw new IllegalArgumentException("--cache-bytes is " + budget + "; expected ≥ 0");
        }
        this.device = device;
        this.spec = spec;
        this.budget = budget;
    }

    /** The factors of an adapter, pinned until {@link #release}: from the cache, else mixed (or read) now. */
    synchronized Mixed acquire(AdapterStore.AtRest a) {
        Mixed m = lru.get(a.name());
        if (m != null && m.source == a) {
            hits++;
        } else {
            misses++;
            if (m != null && m.pins == 0) {
                // the directory changed since it was mixed: drop the old factors
                lru.remove(a.name());
                free(m);
            }
            m = mix(a);
            if (lru.get(a.name()) == null) {
                lru.put(a.name(), m);
                bytes += m.bytes;
            }
        }
        m.pins++;
        evict();
        return m;
    }

    /** Unpins what {@link #acquire} gave. */
    synchronized void release(Mixed m) {
        m.pins--;
        if (m.pins == 0 && lru.get(m.name) != m) {
            free(m);
        }
        evict();
    }

    private void evict() {
        Iterator<Mixed> it = lru.values().iterator();
        while (bytes > budget && it.hasNext()) {
            Mixed m = it.next();
            if (m.pins == 0) {
                it.remove();
                bytes -= m.bytes;
                free(m);
                evictions++;
            }
        }
    }

    private void free(Mixed m) {
        m.tensors.forEach(Tensor::close);
    }

    private Mixed mix(AdapterStore.AtRest a) {
        Map<String, ? extends Adapter> live;
        try {
            live = a.kind() == AdapterStore.Kind.NOLA ? a.saved().instantiate(device, a.dir().toString())
                    : AdapterDirs.load(a.dir(), device);
        } catch (RuntimeException e) {
            throw ApiError.badRequest("model", "adapter " + AdapterStore.quote(a.name()) + " cannot be used: " + e.getMessage());
        }
        Map<String, RowAdapters.Factors> sites = new LinkedHashMap<>();
        List<Tensor> tensors = new ArrayList<>();
        long n = 0;
        try {
            Map<String, AdapterSite> known = spec.sites();
            for (Map.Entry<String, ? extends Adapter> e : live.entrySet()) {
                Adapter ad = e.getValue();
                AdapterSite s = known.get(e.getKey());
                if (s == null || s.in() != ad.inFeatures() || s.out() != ad.outFeatures()) {
                    throw ApiError.badRequest("model", "adapter " + AdapterStore.quote(a.name()) + ": layer "
                            + AdapterStore.quote(e.getKey()) + " [" + ad.inFeatures() + " -> " + ad.outFeatures() + "] fits no site of this "
                            + spec.architecture() + (s == null ? "" : " (the site is [" + s.in() + " -> " + s.out() + "])"));
                }
                Tensor fa = copy(ad.factorA(), tensors);
                Tensor fb = copy(ad.factorB(), tensors);
                n += 4 * (fa.size() + fb.size());
                sites.put(e.getKey(), new RowAdapters.Factors(fa, fb, ad.scale()));
            }
        } catch (RuntimeException e) {
            tensors.forEach(Tensor::close);
            throw e;
        } finally {
            live.values().forEach(Adapter::close);
        }
        return new Mixed(a.name(), a, sites, tensors, n);
    }

    private Tensor copy(Tensor src, List<Tensor> into) {
        Tensor t = device.allocate(src.shape());
        into.add(t);
        device.copy(src, t);
        return t;
    }

    /** Whether an adapter's factors are on the device now. */
    synchronized boolean holds(String name) {
        return lru.containsKey(name);
    }

    /** A snapshot of the counters. */
    synchronized Stats stats() {
        return new Stats(lru.size(), bytes, budget, hits, misses, evictions);
    }

    /**
     * The counters: entries and bytes held, the bound, and lookups that found the factors mixed (hits),
     * had to mix them (misses), and entries evicted.
     */
    record Stats(int entries, long bytes, long budget, long hits, long misses, long evictions) {
        double hitRate() {
            return hits + misses == 0 ? 0 : (double) hits / (hits + misses);
        }
    }

    /** Frees every entry (at shutdown). */
    synchronized void close() {
        lru.values().forEach(this::free);
        lru.clear();
        bytes = 0;
    }
}
