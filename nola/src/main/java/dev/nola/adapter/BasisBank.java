package dev.nola.adapter;

import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Materialised bases shared by the adapters of one device. With bases shared across layers (the
 * GPT-2 reference scripts' setting, {@link NolaConfig#sharedBases()}), every layer's adapter on the
 * same module uses the same basis streams; without a bank each adapter would hold its own copy of the
 * same [k, r·in] and [l, out·r] matrices (24 copies for GPT-2 medium). A bank generates each distinct
 * (stream, count, size) once and hands the same tensor to every adapter that asks, counting users;
 * the tensor is freed when its last adapter closes.
 *
 * <p>Not thread-safe, like the {@link Device} it allocates on.
 */
public final class BasisBank {

    private record Key(BasisStream stream, int count, int n) {
    }

    private static final class Entry {
        final Key key;
        final Tensor tensor;
        int users;

        Entry(Key key, Tensor tensor) {
            this.key = key;
            this.tensor = tensor;
        }
    }

    private final Device device;
    private final Map<Key, Entry> byKey = new HashMap<>();
    private final Map<Tensor, Entry> byTensor = new IdentityHashMap<>();

    /** A bank that allocates on {@code device}. */
    public BasisBank(Device device) {
        this.device = Checks.notNull("device", device);
    }

    /** The device the bank's tensors live on. */
    public Device device() {
        return device;
    }

    /**
     * Basis matrices 0..count-1 of {@code stream}, n elements each, as a [count, n] tensor: generated on
     * the first request, shared afterwards. Each call must be matched by one {@link #release}.
     */
    public Tensor acquire(BasisStream stream, int count, int n) {
        Checks.notNull("stream", stream);
        Checks.positive("count", count);
        Checks.positive("n", n);
        Key key = new Key(stream, count, n);
        Entry e = byKey.get(key);
        if (e == null) {
            Tensor t = device.allocate(count, n);
            try {
                device.random().basis(stream, 0, count, t);
            } catch (RuntimeException ex) {
                t.close();
                throw ex;
            }
            e = new Entry(key, t);
            byKey.put(key, e);
            byTensor.put(t, e);
        }
        e.users++;
        return e.tensor;
    }

    /** Gives back a tensor from {@link #acquire}; the last release frees it. */
    public void release(Tensor tensor) {
        Entry e = byTensor.get(tensor);
        if (e == null) {
            throw new IllegalArgumentException("tensor " + tensor + " was not acquired from this bank");
        }
        if (--e.users == 0) {
            byTensor.remove(tensor);
            byKey.remove(e.key);
            tensor.close();
        }
    }

    /** Number of distinct basis tensors alive. */
    public int tensors() {
        return byKey.size();
    }
}
