package dev.nola.kernels.contract;

import static dev.nola.kernels.contract.Asserts.assertClose;
import static dev.nola.kernels.contract.Asserts.assertNoAllocations;
import static dev.nola.kernels.contract.Asserts.assertWithin;
import static dev.nola.kernels.contract.Asserts.expect;
import static dev.nola.kernels.contract.Asserts.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.AdamWStep;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.OptimOps;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.contract.Contract.Check;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The optim family: AdamW (with and without a device-side gradient scale) against the reference and
 * against its closed-form first step; the accumulated sum of squares, the clipping factor and fake
 * quantization against host arithmetic; on tensors and on views.
 */
final class OptimContract {

    private OptimContract() {
    }

    static List<Check> checks() {
        return List.of(
                new Check("adamw within tolerance of the reference, with and without gradScale", false, OptimContract::adamw),
                new Check("adamw's first step is lr·(sign(g) + λ·p) (closed form)", true, OptimContract::adamwFirstStep),
                new Check("sumOfSquares accumulates over several tensors", true, OptimContract::sumOfSquares),
                new Check("clipFactor, NaN for a non-finite sum", true, OptimContract::clipFactor),
                new Check("fakeQuantize at 2..8 bits, in place and all-zero", true, OptimContract::fakeQuantize),
                new Check("every op on views, nothing around them written", false, Operands.inBothLayouts(OptimContract::views)),
                new Check("bad input is rejected with named arguments", true, OptimContract::badInput),
                new Check("closed device and tensors are rejected", true, OptimContract::closed),
                new Check("no device allocations after warm-up", true, OptimContract::allocations));
    }

    /**
     * Three AdamW steps on both devices from the same state. The reference computes each element in
     * double, a backend in float32: a few roundings per step of values no larger than the moments'
     * terms, so the moments agree to 1e-5 of the same recurrence on absolute values (m's terms can
     * cancel, so not of m itself; 2^-24 is 6e-8 and three steps of ~10 roundings stay far below),
     * and the parameter to 1e-6·|p| + 1e-4·lr (the update is lr·O(1); a wrong bias correction or
     * decay is off by lr·O(1), 10^4 times the tolerance).
     */
    static void adamw(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(41);
        for (int n : new int[] {1, 7, 1000, 70_001}) {
            for (boolean scaled : new boolean[] {false, true}) {
                float[] p = random(r, n, 1);
                float[] m = new float[n];
                float[] v = new float[n];
                float[][] refState = {p.clone(), m.clone(), v.clone()};
                float[][] devState = {p.clone(), m.clone(), v.clone()};
                double[] mBound = new double[n];
                for (int step = 1; step <= 3; step++) {
                    float[] g = random(r, n, 2);
                    if (n > 3) {
                        g[2] = 0f; // v stays tiny: the update divides by about ε
                    }
                    AdamWStep s = AdamWStep.of(1e-2, 0.9, 0.999, 1e-8, 0.01, step);
                    float[] scale = scaled ? new float[] {0.37f} : null;
                    refState = step(ref, refState, g, s, scale);
                    devState = step(dev, devState, g, s, scale);
                    String at = " n=" + n + " step " + step + (scaled ? " gradScale 0.37" : "");
                    float f = scaled ? scale[0] : 1f;
                    for (int i = 0; i < n; i++) {
                        mBound[i] = s.beta1() * mBound[i] + (1 - s.beta1()) * Math.abs(g[i] * f);
                    }
                    assertClose(refState[1], devState[1], mBound, 1e-5, "adamw m" + at);
                    assertWithin(refState[2], devState[2], 1e-5, 1e-30, "adamw v" + at);
                    assertWithin(refState[0], devState[0], 1e-6, 1e-4 * s.learningRate(), "adamw param" + at);
                }
            }
        }
    }

    /** One step from {p, m, v}; returns the new {p, m, v}. */
    private static float[][] step(Device d, float[][] state, float[] g, AdamWStep s, float[] scale) {
        int n = g.length;
        try (Tensor p = d.upload(state[0], n); Tensor m = d.upload(state[1], n); Tensor v = d.upload(state[2], n);
             Tensor gt = d.upload(g, n); Tensor st = scale == null ? null : d.upload(scale, 1)) {
            d.optim().adamw(p, gt, m, v, s, st);
            assertEquals(g.length, d.read(gt).length);
            return new float[][] {d.read(p), d.read(m), d.read(v)};
        }
    }

    /**
     * From zero moments, step 1: m = (1−β1)·g, v = (1−β2)·g², and with the bias corrections the
     * update is g/(|g| + ε) + λ·p, i.e. p − lr·(sign(g) + λ·p) for |g| ≫ ε (and only decay for g = 0).
     */
    static void adamwFirstStep(Device ref, Device dev) {
        float[] p = {1f, -2f, 0.5f, 3f, 0f};
        float[] g = {0.25f, -4f, 0f, 1e-3f, -0.5f};
        float lr = 0.1f;
        float wd = 0.5f;
        AdamWStep s = AdamWStep.of(lr, 0.9, 0.99, 1e-8, wd, 1);
        float[] gradScale = {2f};
        for (boolean scaled : new boolean[] {false, true}) {
            float f = scaled ? gradScale[0] : 1f;
            float[][] out = step(dev, new float[][] {p, new float[5], new float[5]}, g, s, scaled ? gradScale : null);
            float[] wantP = new float[5];
            float[] wantM = new float[5];
            float[] wantV = new float[5];
            for (int i = 0; i < 5; i++) {
                double gi = (double) g[i] * f;
                wantM[i] = (float) (0.1 * gi);
                wantV[i] = (float) (0.01 * gi * gi);
                wantP[i] = (float) (p[i] - lr * (Math.signum(gi) + wd * p[i]));
            }
            String what = scaled ? " (gradScale 2)" : "";
            assertWithin(wantM, out[1], 1e-6, 1e-30, "first-step m" + what);
            assertWithin(wantV, out[2], 1e-5, 1e-30, "first-step v" + what);
            assertWithin(wantP, out[0], 1e-6, 1e-6, "first-step param" + what);
        }
    }

    static void sumOfSquares(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(42);
        int[] sizes = {1, 7, 1000, 70_001};
        float[][] xs = new float[sizes.length][];
        double exact = 2.5; // sum starts non-zero: the op adds to it
        for (int i = 0; i < sizes.length; i++) {
            xs[i] = random(r, sizes[i], 1.5);
            for (float x : xs[i]) {
                exact += (double) x * x;
            }
        }
        try (Tensor sum = dev.upload(new float[] {2.5f}, 1); Tensor buf = dev.allocate(1100)) {
            for (float[] x : xs) {
                try (Tensor t = dev.upload(x, x.length)) {
                    dev.optim().sumOfSquares(t, sum);
                }
            }
            // and one more through a view, into a scalar view
            float[] tail = random(r, 1000, 1);
            for (float x : tail) {
                exact += (double) x * x;
            }
            dev.write(buf, 3, tail, 0, 1000);
            dev.copy(sum, buf.view(1050, 1));
            dev.optim().sumOfSquares(buf.view(3, 1000), buf.view(1050, 1));
            float got = dev.read(buf.view(1050, 1))[0];
            // float partial sums of positive terms: relative error far below 1e-5 for ~72,000 terms in blocks
            assertEquals(exact, got, 1e-5 * exact, "sum of squares over five tensors");
            try (Tensor bad = dev.upload(new float[] {1f, Float.POSITIVE_INFINITY, 2f}, 3);
                 Tensor nan = dev.upload(new float[] {Float.NaN, 1f}, 2)) {
                dev.optim().sumOfSquares(bad, sum);
                assertTrue(!Float.isFinite(dev.read(sum)[0]), "an infinite element makes the sum non-finite");
                dev.write(sum, new float[] {0f});
                dev.optim().sumOfSquares(nan, sum);
                assertTrue(!Float.isFinite(dev.read(sum)[0]), "a NaN element makes the sum non-finite");
            }
        }
    }

    static void clipFactor(Device ref, Device dev) {
        float[][] cases = {
                // sum, maxNorm, expected
                {16f, 1f, (float) (1 / (4 + 1e-6))},
                {16f, 10f, 1f},
                {16f, 4f, (float) (4 / (4 + 1e-6))},
                {0f, 1f, 1f},
                {1e6f, 0.5f, (float) (0.5 / (1000 + 1e-6))},
                {Float.POSITIVE_INFINITY, 1f, Float.NaN},
                {Float.NaN, 1f, Float.NaN}};
        try (Tensor sum = dev.allocate(1); Tensor factor = dev.allocate(1)) {
            for (float[] c : cases) {
                dev.write(sum, new float[] {c[0]});
                dev.optim().clipFactor(sum, c[1], factor);
                float got = dev.read(factor)[0];
                String what = "clipFactor(sum=" + c[0] + ", maxNorm=" + c[1] + ")";
                if (Float.isNaN(c[2])) {
                    assertTrue(Float.isNaN(got), what + " must be NaN, got " + got);
                } else {
                    assertEquals(c[2], got, 1e-6 * c[2], what);
                }
            }
        }
    }

    /**
     * Host oracle: L = 2^(bits−1) − 1, step = max|x| / L, out = clamp(round(x / step), −L, L)·step.
     * A backend's x / step may differ from Java's by an ulp or two (OpenCL allows 2.5 ulp), which can
     * move an element sitting on a half-step boundary to the neighbouring level; only there is one
     * level of difference accepted.
     */
    static void assertQuantized(float[] x, int bits, float[] got, String what) {
        int levels = (1 << (bits - 1)) - 1;
        float max = 0f;
        for (float v : x) {
            max = Math.max(max, Math.abs(v));
        }
        float step = max / levels;
        for (int i = 0; i < x.length; i++) {
            if (max == 0f) {
                assertTrue(got[i] == 0f, what + ": all-zero input gives zeros, element " + i + " is " + got[i]);
                continue;
            }
            double t = x[i] / (double) step;
            long want = Math.max(-levels, Math.min(levels, Math.round(t)));
            double level = got[i] / (double) step;
            long gotLevel = Math.round(level);
            assertTrue(Math.abs(level - gotLevel) <= 1e-5, what + ": element " + i + " = " + got[i]
                    + " is not on the grid of step " + step);
            boolean nearTie = Math.abs(Math.abs(t - Math.floor(t)) - 0.5) <= 1e-5;
            assertTrue(gotLevel == want || nearTie && Math.abs(gotLevel - want) == 1, what + ": element " + i + " (x = "
                    + x[i] + ", x/step = " + t + ") quantized to level " + gotLevel + ", expected " + want);
        }
    }

    static void fakeQuantize(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(43);
        for (int bits = 2; bits <= 8; bits++) {
            for (int n : new int[] {1, 7, 1000, 70_001}) {
                float[] x = random(r, n, 3);
                try (Tensor xt = dev.upload(x, n); Tensor out = dev.allocate(n)) {
                    dev.optim().fakeQuantize(xt, bits, out);
                    assertQuantized(x, bits, dev.read(out), "fakeQuantize bits=" + bits + " n=" + n);
                    Asserts.assertBits(x, dev.read(xt), "fakeQuantize leaves x alone");
                    dev.optim().fakeQuantize(xt, bits, xt);
                    assertQuantized(x, bits, dev.read(xt), "fakeQuantize in place bits=" + bits + " n=" + n);
                }
            }
        }
        // known answers: 3 bits, L = 3, max 1.5, step 0.5
        try (Tensor xt = dev.upload(new float[] {1.5f, -1.5f, 0.3f, -0.2f, 0.74f, 1.1f, 0f}, 7)) {
            dev.optim().fakeQuantize(xt, 3, xt);
            Asserts.assertBits(new float[] {1.5f, -1.5f, 0.5f, 0f, 0.5f, 1f, 0f}, dev.read(xt), "fakeQuantize known answers");
        }
        try (Tensor zeros = dev.allocate(9); Tensor out = dev.upload(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 9)) {
            dev.optim().fakeQuantize(zeros, 4, out);
            Asserts.assertBits(new float[9], dev.read(out), "fakeQuantize of all zeros");
        }
    }

    static void views(Device ref, Device dev, Operands.Layout layout) {
        SplittableRandom r = new SplittableRandom(44);
        for (int n : new int[] {1, 9, 1000}) {
            // operands: 0 param, 1 grad, 2 m, 3 v, 4 gradScale, 5 sum, 6 factor, 7 out
            float[][] in = {random(r, n, 1), random(r, n, 1), random(r, n, 0.1), Asserts.abs(random(r, n, 0.01)),
                    new float[] {0.8f}, new float[] {1.25f}, new float[1], new float[n]};
            int[][] shapes = {{n}, {n}, {n}, {n}, {1}, {1}, {1}, {n}};
            AdamWStep s = AdamWStep.of(1e-2, 0.9, 0.999, 1e-8, 0.01, 4);
            // as in adamw(): m within 1e-5 of its terms' magnitudes, v of itself, p of |p| + lr
            double[] mBound = new double[n];
            for (int i = 0; i < n; i++) {
                mBound[i] = s.beta1() * Math.abs(in[2][i]) + (1 - s.beta1()) * Math.abs(in[1][i] * in[4][0]);
            }
            Operands.Call call = (d, t) -> d.optim().adamw(t[0], t[1], t[2], t[3], s, t[4]);
            String what = "adamw on views n=" + n;
            assertWithin(Operands.run(ref, in, shapes, 0, call), Operands.runCarved(dev, layout, in, shapes, 0, call, what),
                    1e-6, 1e-4 * s.learningRate(), what + ": param");
            assertClose(Operands.run(ref, in, shapes, 2, call), Operands.runCarved(dev, layout, in, shapes, 2, call, what),
                    mBound, 1e-5, what + ": m");
            assertWithin(Operands.run(ref, in, shapes, 3, call), Operands.runCarved(dev, layout, in, shapes, 3, call, what),
                    1e-5, 1e-30, what + ": v");
            Operands.Call sum = (d, t) -> {
                d.optim().sumOfSquares(t[0], t[5]);
                d.optim().sumOfSquares(t[1], t[5]);
                d.optim().clipFactor(t[5], 2f, t[6]);
            };
            assertWithin(Operands.run(ref, in, shapes, 5, sum), Operands.runCarved(dev, layout, in, shapes, 5, sum, "sumOfSquares"),
                    1e-5, 0, "sumOfSquares on views n=" + n);
            assertWithin(Operands.run(ref, in, shapes, 6, sum), Operands.runCarved(dev, layout, in, shapes, 6, sum, "clipFactor"),
                    1e-5, 0, "clipFactor on views n=" + n);
            float[] q = Operands.runCarved(dev, layout, in, shapes, 7, (d, t) -> d.optim().fakeQuantize(t[0], 5, t[7]), "fakeQuantize");
            assertQuantized(in[0], 5, q, "fakeQuantize on views n=" + n);
            float[] qi = Operands.runCarved(dev, layout, in, shapes, 1, (d, t) -> d.optim().fakeQuantize(t[1], 6, t[1]), "fakeQuantize in place");
            assertQuantized(in[1], 6, qi, "fakeQuantize in place on views n=" + n);
        }
    }

    static void badInput(Device ref, Device dev) {
        OptimOps o = dev.optim();
        AdamWStep s = AdamWStep.of(1e-3, 0.9, 0.999, 1e-8, 0, 1);
        expect(IllegalArgumentException.class, "step", () -> AdamWStep.of(1e-3, 0.9, 0.999, 1e-8, 0, 0));
        expect(IllegalArgumentException.class, "beta1", () -> AdamWStep.of(1e-3, 1.0, 0.999, 1e-8, 0, 1));
        expect(IllegalArgumentException.class, "epsilon", () -> AdamWStep.of(1e-3, 0.9, 0.999, 0, 0, 1));
        expect(IllegalArgumentException.class, "learningRate", () -> AdamWStep.of(Double.NaN, 0.9, 0.999, 1e-8, 0, 1));
        try (Tensor p = dev.allocate(8); Tensor g = dev.allocate(8); Tensor m = dev.allocate(8); Tensor v = dev.allocate(8);
             Tensor small = dev.allocate(7); Tensor two = dev.allocate(2); Tensor one = dev.allocate(1);
             Tensor ints = dev.allocate(DType.INT32, 8); Tensor big = dev.allocate(40)) {
            expect(IllegalArgumentException.class, "step", () -> o.adamw(p, g, m, v, null, null));
            expect(IllegalArgumentException.class, "grad", () -> o.adamw(p, small, m, v, s, null));
            expect(IllegalArgumentException.class, "v", () -> o.adamw(p, g, m, small, s, null));
            expect(IllegalArgumentException.class, "gradScale", () -> o.adamw(p, g, m, v, s, two));
            expect(IllegalArgumentException.class, "param is an int32 tensor", () -> o.adamw(ints, g, m, v, s, null));
            expect(IllegalArgumentException.class, "overlap", () -> o.adamw(p, g, m, m, s, null));
            expect(IllegalArgumentException.class, "overlap", () -> o.adamw(big.view(0, 8), big.view(7, 8), m, v, s, null));
            expect(IllegalArgumentException.class, "overlap", () -> o.adamw(big.view(0, 8), g, m, v, s, big.view(3, 1)));
            expect(IllegalArgumentException.class, "sum", () -> o.sumOfSquares(p, two));
            expect(IllegalArgumentException.class, "x is an int32 tensor", () -> o.sumOfSquares(ints, one));
            expect(IllegalArgumentException.class, "overlap", () -> o.sumOfSquares(big.view(0, 8), big.view(7, 1)));
            expect(IllegalArgumentException.class, "maxNorm", () -> o.clipFactor(one, 0f, one));
            expect(IllegalArgumentException.class, "maxNorm", () -> o.clipFactor(one, Float.NaN, one));
            expect(IllegalArgumentException.class, "factor", () -> o.clipFactor(one, 1f, two));
            expect(IllegalArgumentException.class, "bits", () -> o.fakeQuantize(p, 1, p));
            expect(IllegalArgumentException.class, "bits", () -> o.fakeQuantize(p, 9, p));
            expect(IllegalArgumentException.class, "out", () -> o.fakeQuantize(p, 4, small));
            expect(IllegalArgumentException.class, "out is an int32 tensor", () -> o.fakeQuantize(p, 4, ints));
            expect(IllegalArgumentException.class, "overlap", () -> o.fakeQuantize(big.view(0, 8), 4, big.view(1, 8)));
            try (Tensor foreign = ref.allocate(8)) {
                expect(IllegalArgumentException.class, "belongs to device", () -> o.adamw(p, foreign, m, v, s, null));
            }
        }
    }

    static void closed(Device ref, Device dev) {
        OptimOps o = dev.optim();
        AdamWStep s = AdamWStep.of(1e-3, 0.9, 0.999, 1e-8, 0, 1);
        Tensor p = dev.allocate(4);
        Tensor g = dev.allocate(4);
        Tensor m = dev.allocate(4);
        Tensor v = dev.allocate(4);
        Tensor one = dev.allocate(1);
        v.close();
        expect(IllegalStateException.class, "closed", () -> o.adamw(p, g, m, v, s, null));
        one.close();
        expect(IllegalStateException.class, "closed", () -> o.sumOfSquares(p, one));
        dev.close();
        expect(IllegalStateException.class, "closed", () -> o.fakeQuantize(p, 4, p));
        expect(IllegalStateException.class, "closed", () -> o.clipFactor(one, 1f, one));
    }

    static void allocations(Device ref, Device dev) {
        AdamWStep s = AdamWStep.of(1e-3, 0.9, 0.999, 1e-8, 0.1, 2);
        int n = 70_001;
        try (Tensor p = dev.allocate(n); Tensor g = dev.allocate(n); Tensor m = dev.allocate(n); Tensor v = dev.allocate(n);
             Tensor sum = dev.allocate(1); Tensor factor = dev.allocate(1); Tensor q = dev.allocate(n)) {
            assertNoAllocations(dev, "optim ops", () -> {
                OptimOps o = dev.optim();
                o.sumOfSquares(g, sum);
                o.sumOfSquares(g.view(5, 100), sum);
                o.clipFactor(sum, 1f, factor);
                o.adamw(p, g, m, v, s, factor);
                o.adamw(p, g, m, v, s, null);
                o.fakeQuantize(p, 4, q);
                o.fakeQuantize(q.view(3, 1000), 8, q.view(3, 1000));
            });
        }
    }
}
