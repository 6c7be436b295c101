package dev.nola.bench;

import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;

/** The tensors one benchmark case made on one device, closed together. Inputs are deterministic per seed. */
final class Arena implements AutoCloseable {

    private final Device device;
    private final List<AutoCloseable> owned = new ArrayList<>();

    Arena(Device device) {
        this.device = device;
    }

    Device device() {
        return device;
    }

    /** Uniform values in [-scale, scale) from {@code seed}; a shorter tensor from the same seed is a prefix. */
    Tensor random(long seed, double scale, int... shape) {
        return keep(Fixtures.upload(device, seed, scale, shape));
    }

    Tensor zeros(int... shape) {
        return keep(device.allocate(shape));
    }

    /** int32 values {@code (i·7919) mod bound}, the same on every device. */
    Tensor ids(int bound, int n) {
        int[] v = new int[n];
        for (int i = 0; i < n; i++) {
            v[i] = (int) ((long) i * 7919 % bound);
        }
        return keep(device.upload(v, n));
    }

    <T extends AutoCloseable> T keep(T resource) {
        owned.add(resource);
        return resource;
    }

    Tensor ints(int n) {
        return keep(device.allocate(DType.INT32, n));
    }

    @Override
    public void close() {
        for (int i = owned.size() - 1; i >= 0; i--) {
            try {
                owned.get(i).close();
            } catch (Exception e) {
                throw new IllegalStateException("closing a benchmark resource failed: " + e.getMessage(), e);
            }
        }
        owned.clear();
    }
}
