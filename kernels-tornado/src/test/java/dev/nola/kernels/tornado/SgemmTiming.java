package dev.nola.kernels.tornado;

import dev.nola.kernels.AbstractDevice;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.Arrays;
import java.util.Locale;

/**
 * Rough figures, not a benchmark (the bench's per-op breakdown is the measurement): the median wall
 * time of each sgemm shape of a GPT-2 step (4 × 128 tokens, C = 768, V = 50,257) per device, side by
 * side, after one warm-up call (which includes building the kernel). Run with TornadoVM's JVM flags:
 * {@code java <flags> -cp <bench jar>:<kernels-tornado jar>:<test classes> dev.nola.kernels.tornado.SgemmTiming opencl:0:0 tornado:0:0}.
 */
public final class SgemmTiming {

    private SgemmTiming() {
    }

    /** m, n, k, transA, transB: the step's shapes (the LM head's forward, its dx, the projections and MLP). */
    private static final int[][] SHAPES = {{128, 50257, 768, 0, 1}, {128, 768, 50257, 0, 0}, {512, 768, 768, 0, 0},
            {512, 768, 768, 0, 1}, {512, 3072, 768, 0, 0}, {512, 3072, 768, 0, 1}, {512, 768, 3072, 0, 0}, {512, 768, 3072, 0, 1},
            {768, 768, 512, 1, 0}};

    private static long kernelNanos(Device d) {
        return d instanceof AbstractDevice a ? a.backendCounters().getOrDefault("tornado.kernel_ns", 0L) : 0L;
    }

    public static void main(String[] args) {
        int reps = Integer.getInteger("nola.timing.reps", 3);
        for (int[] s : SHAPES) {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%5d x %5d x %5d %s%s", s[0], s[1], s[2],
                    s[3] == 1 ? "Aᵀ" : "  ", s[4] == 1 ? "Bᵀ" : "  "));
            for (String id : args) {
                try (Device d = Backends.open(id)) {
                    Tensor a = d.allocate(s[3] == 1 ? s[2] : s[0], s[3] == 1 ? s[0] : s[2]);
                    Tensor b = d.allocate(s[4] == 1 ? s[1] : s[2], s[4] == 1 ? s[2] : s[1]);
                    Tensor c = d.allocate(s[0], s[1]);
                    d.linalg().fill(a, 0.5f);
                    d.linalg().fill(b, 0.25f);
                    double[] t = new double[reps];
                    double[] kernel = new double[reps];
                    for (int r = -1; r < reps; r++) {
                        long k0 = kernelNanos(d);
                        long t0 = System.nanoTime();
                        d.linalg().matmul(s[3] == 1, s[4] == 1, 1f, a, b, 0f, c);
                        d.synchronize();
                        if (r >= 0) {
                            t[r] = (System.nanoTime() - t0) / 1e6;
                            kernel[r] = (kernelNanos(d) - k0) / 1e6;
                        }
                    }
                    Arrays.sort(t);
                    Arrays.sort(kernel);
                    // a TornadoVM plan run alone copies its operands in and out: with -Dnola.tornado.profile=true
                    // the kernel's own time is shown beside the wall time
                    line.append(String.format(Locale.ROOT, "  %s %9.1f ms", id, t[reps / 2]));
                    if (kernel[reps / 2] > 0) {
                        line.append(String.format(Locale.ROOT, " (kernel %.1f ms)", kernel[reps / 2]));
                    }
                }
            }
            System.out.println(line);
            System.out.flush();
        }
    }
}
