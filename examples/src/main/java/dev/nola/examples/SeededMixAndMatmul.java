package dev.nola.examples;

import dev.nola.kernels.Backends;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;

/**
 * Calling the kernels from your own code: open the best device, mix a seeded NOLA factor without
 * materialising its basis, and multiply with it. Prints the device, a checksum of the factor (the
 * same bits on every device) and whether the matmul agrees with a plain loop.
 *
 * <p>Run: {@code examples/run.sh} (or {@code java --add-modules jdk.incubator.vector
 * --enable-native-access=ALL-UNNAMED -cp ... dev.nola.examples.SeededMixAndMatmul [device]}).
 */
public final class SeededMixAndMatmul {

    private SeededMixAndMatmul() {
    }

    public static void main(String[] args) {
        String deviceString = args.length > 0 ? args[0] : "auto";
        int k = 64;
        int rows = 8;
        int cols = 256;
        try (Device device = Backends.open(deviceString)) {
            // A = Σ_i c_i · basis_i of stream 3 under seed 7: the basis is regenerated from the seed
            float[] c = new float[k];
            for (int i = 0; i < k; i++) {
                c[i] = (i % 5 - 2) * 0.25f;
            }
            BasisStream stream = new BasisStream(7L, 3, BasisStream.DOMAIN_BASIS, 1f / (float) Math.sqrt(k));
            try (Tensor coef = device.upload(c, k);
                 Tensor a = device.allocate(rows, cols);
                 Tensor x = device.upload(ramp(4 * cols), 4, cols);
                 Tensor y = device.allocate(4, rows)) {
                device.nola().mixGenerated(coef, stream, null, a);
                // y = x · Aᵀ  [4, rows]
                device.linalg().matmul(false, true, 1f, x, a, 0f, y);
                float[] av = device.read(a);
                float[] yv = device.read(y);
                double worst = 0;
                float[] xv = ramp(4 * cols);
                for (int t = 0; t < 4; t++) {
                    for (int r = 0; r < rows; r++) {
                        double ref = 0;
                        for (int e = 0; e < cols; e++) {
                            ref += (double) xv[t * cols + e] * av[r * cols + e];
                        }
                        worst = Math.max(worst, Math.abs(ref - yv[t * rows + r]));
                    }
                }
                long bits = 0;
                for (float v : av) {
                    bits = bits * 31 + Float.floatToRawIntBits(v);
                }
                System.out.printf("device %s (%s)%n", device.id(), device.info().name());
                System.out.printf("mixed factor [%d, %d], checksum %016x%n", rows, cols, bits);
                System.out.printf("matmul agrees with a plain loop: %s (largest difference %.2e)%n", worst < 1e-3, worst);
                if (worst >= 1e-3) {
                    System.exit(1);
                }
            }
        }
    }

    private static float[] ramp(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (i % 17 - 8) / 8f;
        }
        return v;
    }
}
