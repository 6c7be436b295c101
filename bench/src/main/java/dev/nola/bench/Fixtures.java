package dev.nola.bench;

import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.SplittableRandom;

/** Deterministic inputs for the benchmarks: uniform values in [-scale, scale). */
final class Fixtures {

    private Fixtures() {
    }

    static float[] random(long seed, int n, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return a;
    }

    /** A tensor of the given shape filled with random values. */
    static Tensor upload(Device device, long seed, double scale, int... shape) {
        long n = 1;
        for (int s : shape) {
            n *= s;
        }
        return device.upload(random(seed, Math.toIntExact(n), scale), shape);
    }
}
