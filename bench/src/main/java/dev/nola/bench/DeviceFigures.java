package dev.nola.bench;

import dev.nola.kernels.Backends;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.NolaOps;
import dev.nola.kernels.RandomOps;
import dev.nola.kernels.Tensor;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The report's figures for one device, measured through the generic Device/Ops API (every timed
 * call ends with {@link Device#synchronize()}): sgemm 1024³, materialised mix at GPT-2 shapes,
 * basis generation, the coefficient gradients, and the fused-versus-materialised grid.
 */
final class DeviceFigures {

    /** GPT-2 medium A factor: r·in = 8·1024 elements per basis matrix, k = 1000 matrices. */
    static final int K = 1000;
    static final int N = 8192;
    /** The default sgemm size (1024³, 2.15 GFLOP). */
    static final int GEMM = 1024;

    private final String id;
    private final int minReps;
    private final long maxElements;
    private final int gemm;
    private final PrintStream log;
    private final BasisStream stream = new BasisStream(0x5eedL, 3, BasisStream.DOMAIN_BASIS, 0.03f);

    DeviceFigures(String id, int minReps, long maxElements, int gemm, PrintStream log) {
        this.id = id;
        this.gemm = gemm;
        this.minReps = minReps;
        this.maxElements = maxElements;
        this.log = log;
    }

    Map<String, Object> measure() {
        Map<String, Object> r = new LinkedHashMap<>();
        try (Device dev = Backends.open(id)) {
            r.put("device", dev.id());
            r.put("name", dev.info().name());
            r.put("sgemm_size", gemm);
            r.put("sgemm_gflops", sgemm(dev));
            Map<String, Object> gpt2 = new LinkedHashMap<>();
            gpt2.put("k", K);
            gpt2.put("n", N);
            Sizes s = sizes(dev, K, N);
            gpt2.put("mix_gbps", 4.0 * K * N / s.mix / 1e9);
            gpt2.put("mix_seconds", s.mix);
            gpt2.put("basis_elements_per_s", (double) K * N / s.basis);
            gpt2.put("mix_generated_seconds", s.fused);
            gpt2.put("gradient_gbps", 4.0 * K * N / s.gradient / 1e9);
            gpt2.put("gradient_generated_seconds", s.gradientFused);
            r.put("gpt2_mix", gpt2);
            List<Map<String, Object>> grid = new ArrayList<>();
            for (int k : new int[] {64, 1000}) {
                for (int n : new int[] {1024, 8192, 65536}) {
                    if ((long) k * n > maxElements) {
                        continue;
                    }
                    Sizes g = (k == K && n == N) ? s : sizes(dev, k, n);
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("k", k);
                    row.put("n", n);
                    row.put("mix_seconds", g.mix);
                    row.put("basis_seconds", g.basis);
                    row.put("mix_generated_seconds", g.fused);
                    row.put("gradient_seconds", g.gradient);
                    row.put("gradient_generated_seconds", g.gradientFused);
                    row.put("fused_beats_mix", g.fused < g.mix);
                    row.put("fused_beats_basis_plus_mix", g.fused < g.basis + g.mix);
                    grid.add(row);
                }
            }
            r.put("fused_grid", grid);
        }
        return r;
    }

    private double sgemm(Device dev) {
        try (Tensor a = Fixtures.upload(dev, 1, 1, gemm, gemm); Tensor b = Fixtures.upload(dev, 2, 1, gemm, gemm);
             Tensor c = dev.allocate(gemm, gemm)) {
            Timing.Result t = Timing.measure(2, minReps, 1.0, () -> {
                dev.linalg().matmul(false, false, 1f, a, b, 0f, c);
                dev.synchronize();
            });
            double gflops = 2.0 * gemm * gemm * gemm / t.best() / 1e9;
            log.printf("  %-10s sgemm %d^3: best %.2f ms, median %.2f ms (%d reps) = %.1f GFLOP/s%n", id, gemm,
                    t.best() * 1e3, t.median() * 1e3, t.reps(), gflops);
            return gflops;
        }
    }

    /** Best times in seconds of each mixing-family op at one (k, n). */
    record Sizes(double mix, double basis, double fused, double gradient, double gradientFused) {
    }

    private Sizes sizes(Device dev, int k, int n) {
        RandomOps random = dev.random();
        NolaOps ops = dev.nola();
        try (Tensor c = Fixtures.upload(dev, 3, 1, k); Tensor grad = Fixtures.upload(dev, 4, 1, n);
             Tensor basis = dev.allocate(k, n); Tensor out = dev.allocate(n); Tensor cg = dev.allocate(k)) {
            double tb = time(() -> random.basis(stream, 0, k, basis), dev);
            double tm = time(() -> ops.mix(c, basis, null, out), dev);
            double tf = time(() -> ops.mixGenerated(c, stream, null, out), dev);
            double tg = time(() -> ops.coefficientGradient(basis, grad, cg), dev);
            double tgf = time(() -> ops.coefficientGradientGenerated(stream, grad, cg), dev);
            log.printf("  %-10s k=%-5d n=%-6d mix %8.3f ms (%6.2f GB/s) | basis %8.3f ms (%7.1f Melem/s) | fused mix %8.3f ms"
                            + " | gradient %8.3f ms, fused %8.3f ms%n", id, k, n, tm * 1e3, 4.0 * k * n / tm / 1e9,
                    tb * 1e3, (double) k * n / tb / 1e6, tf * 1e3, tg * 1e3, tgf * 1e3);
            return new Sizes(tm, tb, tf, tg, tgf);
        }
    }

    private double time(Runnable op, Device dev) {
        return Timing.measure(2, minReps, 0.3, () -> {
            op.run();
            dev.synchronize();
        }).best();
    }
}
