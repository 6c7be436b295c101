package dev.nola.adapter;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;

/**
 * Finite-difference checks of every parameter gradient (NOLA α and β under both schemes and both basis
 * modes; LoRA A and B) and of the input gradient, on every available device.
 *
 * <p>The loss is L = Σ w ⊙ (x·ΔWᵀ) with fixed random w, which is linear in each single parameter and
 * in x, so a central difference is exact up to float rounding of L (~1e-7 relative to Σ|terms|,
 * divided by the step 2h = 0.1): the tolerance 1e-3 of the largest gradient plus 1e-5 absolute is
 * far above that and far below any real error.
 */
class AdapterGradientTest {

    static final int IN = 5;
    static final int OUT = 7;
    static final int N = 4;
    static final float H = 0.05f;

    @TestFactory
    Stream<DynamicNode> gradientsMatchFiniteDifferences() {
        List<DynamicNode> tests = new ArrayList<>();
        for (String id : TestDevices.ids()) {
            for (NolaConfig.InitScheme scheme : NolaConfig.InitScheme.values()) {
                for (NolaConfig.BasisMode mode : NolaConfig.BasisMode.values()) {
                    NolaConfig c = new NolaConfig(3, 6, 4, 2f, scheme, mode, false, 99L, List.of("q", "v"),
                            NolaConfig.FLOAT_BITS, false);
                    tests.add(dynamicTest(id + " NOLA " + scheme + " " + mode,
                            () -> check(id, d -> NolaAdapter.create(d, c, IN, OUT, 2, "v"))));
                }
            }
            tests.add(dynamicTest(id + " LoRA r=3", () -> check(id, d -> new LoraAdapter(d, IN, OUT, 3, 6f, 7L, 1))));
        }
        return tests.stream();
    }

    static void check(String id, Function<Device, Adapter> make) {
        SplittableRandom rnd = new SplittableRandom(42);
        try (Device d = Backends.open(id); Adapter a = make.apply(d)) {
            float[] p = uniform(rnd, a.parameterCount(), 1.0);
            a.setParameters(p); // nonzero everywhere so that no gradient vanishes at the probe point
            float[] x = uniform(rnd, N * IN, 1.0);
            float[] w = uniform(rnd, N * OUT, 1.0);
            try (Tensor xt = d.upload(x, N, IN); Tensor y = d.allocate(N, OUT); Tensor dy = d.upload(w, N, OUT);
                 Tensor dx = d.allocate(N, IN)) {
                a.forward(xt, y);
                a.zeroGradients();
                a.backward(dy, dx);
                float[] g = a.gradients();
                float[] gx = d.read(dx);
                double gmax = 0;
                for (float v : g) {
                    gmax = Math.max(gmax, Math.abs(v));
                }
                assertTrue(gmax > 1e-3, "gradients are all ~0 (" + gmax + "); the check would prove nothing");
                for (int i = 0; i < p.length; i++) {
                    float[] plus = p.clone();
                    float[] minus = p.clone();
                    plus[i] += H;
                    minus[i] -= H;
                    double fd = (loss(d, a, plus, x, w) - loss(d, a, minus, x, w)) / ((double) plus[i] - minus[i]);
                    double tol = 1e-3 * gmax + 1e-5;
                    assertTrue(Math.abs(fd - g[i]) <= tol, id + " parameter " + i + ": analytic " + g[i]
                            + " vs finite difference " + fd + " (tolerance " + tol + ")");
                }
                a.setParameters(p);
                double gxmax = 0;
                for (float v : gx) {
                    gxmax = Math.max(gxmax, Math.abs(v));
                }
                for (int i = 0; i < x.length; i++) {
                    float[] xp = x.clone();
                    float[] xm = x.clone();
                    xp[i] += H;
                    xm[i] -= H;
                    double fd = (loss(d, a, p, xp, w) - loss(d, a, p, xm, w)) / ((double) xp[i] - xm[i]);
                    double tol = 1e-3 * gxmax + 1e-5;
                    assertTrue(Math.abs(fd - gx[i]) <= tol, id + " input " + i + ": analytic " + gx[i]
                            + " vs finite difference " + fd + " (tolerance " + tol + ")");
                }
            }
        }
    }

    /** L = Σ w ⊙ (x·ΔWᵀ), accumulated in double. */
    static double loss(Device d, Adapter a, float[] params, float[] x, float[] w) {
        a.setParameters(params);
        try (Tensor xt = d.upload(x, N, IN); Tensor y = d.allocate(N, OUT)) {
            a.forward(xt, y);
            float[] out = d.read(y);
            double l = 0;
            for (int i = 0; i < out.length; i++) {
                l += (double) w[i] * out[i];
            }
            return l;
        }
    }

    static float[] uniform(SplittableRandom rnd, int n, double bound) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
        }
        return v;
    }
}
