package dev.nola.kernels.contract;

import static dev.nola.kernels.contract.Asserts.assertBits;
import static dev.nola.kernels.contract.Asserts.assertClose;
import static dev.nola.kernels.contract.Asserts.assertNoAllocations;
import static dev.nola.kernels.contract.Asserts.expect;
import static dev.nola.kernels.contract.Asserts.random;
import static dev.nola.kernels.contract.RandomContract.SIZES;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.BasisStream;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.NolaOps;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.contract.Contract.Check;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The nola family: mix and fused generate-and-mix bit for bit the reference's, coefficient
 * gradients (materialised and fused) within {@link Asserts#REL_TOL} of Σ|basis·grad| and against
 * finite differences, on tensors and on views.
 */
final class NolaContract {

    private NolaContract() {
    }

    static List<Check> checks() {
        return List.of(
                new Check("mix is bit-identical", false, NolaContract::mixIdentical),
                new Check("fused generate-and-mix is bit-identical to basis then mix", false, NolaContract::mixGeneratedIdentical),
                new Check("coefficient gradient within tolerance", false, NolaContract::coefficientGradient),
                new Check("coefficient gradient matches finite differences", true, NolaContract::finiteDifferences),
                new Check("every op on views, nothing around them written", false, Operands.inBothLayouts(NolaContract::views)),
                new Check("bad input is rejected with named arguments", true, NolaContract::badInput),
                new Check("closed device and tensors are rejected", true, NolaContract::closed),
                new Check("no device allocations after warm-up", true, NolaContract::allocations));
    }

    static void mixIdentical(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(12);
        for (int trial = 0; trial < 16; trial++) {
            int n = SIZES[trial % SIZES.length];
            int k = trial == 0 ? 1 : 1 + r.nextInt(300);
            float[] c = random(r, k, 1);
            float[] basis = random(r, k * n, 1);
            float[] off = random(r, n, 1);
            boolean withOffset = trial % 2 == 1;
            boolean inPlace = trial % 4 == 3;
            int[][] shapes = {{k}, {k, n}, {n}, {n}};
            Operands.Call call = (d, t) -> d.nola().mix(t[0], t[1], withOffset ? (inPlace ? t[3] : t[2]) : null, t[3]);
            float[][] in = {c, basis, off, inPlace ? off.clone() : new float[n]};
            assertBits(Operands.run(ref, in, shapes, 3, call), Operands.run(dev, in, shapes, 3, call),
                    "mix k=" + k + " n=" + n + " offset=" + withOffset + " inPlace=" + inPlace);
        }
    }

    static void mixGeneratedIdentical(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(13);
        for (int trial = 0; trial < 12; trial++) {
            int n = SIZES[trial % SIZES.length];
            int k = trial == 0 ? 1 : 1 + r.nextInt(200);
            BasisStream s = new BasisStream(r.nextLong(), r.nextInt(), trial % 2, (float) (1 / Math.sqrt(k)));
            float[] c = random(r, k, 1);
            float[] off = random(r, n, 1);
            boolean withOffset = trial % 2 == 0;
            boolean inPlace = trial % 4 == 2;
            // materialised on the reference: basis, then mix
            float[] basis = RandomContract.basis(ref, s, 0, k, n);
            float[] want = Operands.run(ref, new float[][] {c, basis, off, new float[n]}, new int[][] {{k}, {k, n}, {n}, {n}}, 3,
                    (d, t) -> d.nola().mix(t[0], t[1], withOffset ? t[2] : null, t[3]));
            float[] got = Operands.run(dev, new float[][] {c, off, inPlace ? off.clone() : new float[n]},
                    new int[][] {{k}, {n}, {n}}, 2,
                    (d, t) -> d.nola().mixGenerated(t[0], s, withOffset ? (inPlace ? t[2] : t[1]) : null, t[2]));
            assertBits(want, got, "mixGenerated k=" + k + " n=" + n + " offset=" + withOffset + " inPlace=" + inPlace);
        }
    }

    /** Σ_e |basis[i][e]·grad[e]| per row: bounds the rounding error of any summation order. */
    static double[] gradientBound(float[] basis, float[] grad, int k, int n) {
        double[] bound = new double[k];
        for (int i = 0; i < k; i++) {
            for (int e = 0; e < n; e++) {
                bound[i] += Math.abs((double) basis[i * n + e] * grad[e]);
            }
        }
        return bound;
    }

    static void coefficientGradient(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(14);
        for (int trial = 0; trial < 12; trial++) {
            int n = SIZES[trial % SIZES.length];
            int k = trial == 0 ? 1 : 1 + r.nextInt(100);
            BasisStream s = new BasisStream(r.nextLong(), r.nextInt(), 0, 0.5f);
            float[] grad = random(r, n, 3);
            float[] basis = RandomContract.basis(ref, s, 0, k, n);
            double[] bound = gradientBound(basis, grad, k, n);
            Operands.Call call = (d, t) -> d.nola().coefficientGradient(t[0], t[1], t[2]);
            float[][] in = {basis, grad, new float[k]};
            int[][] shapes = {{k, n}, {n}, {k}};
            float[] want = Operands.run(ref, in, shapes, 2, call);
            assertClose(want, Operands.run(dev, in, shapes, 2, call), bound, "coefficientGradient k=" + k + " n=" + n);
            float[] gotFused = Operands.run(dev, new float[][] {grad, new float[k]}, new int[][] {{n}, {k}}, 1,
                    (d, t) -> d.nola().coefficientGradientGenerated(s, t[0], t[1]));
            assertClose(want, gotFused, bound, "coefficientGradientGenerated k=" + k + " n=" + n);
        }
    }

    /**
     * L(c) = ½‖Σ cᵢ·basisᵢ − T‖², so dL/dmix = mix − T and dL/dcᵢ = ⟨basisᵢ, mix − T⟩: the device's
     * gradients (fused and materialised) against central differences of L computed from the device's
     * own mix.
     */
    static void finiteDifferences(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(15);
        int k = 9;
        int n = 37;
        BasisStream s = new BasisStream(42L, 7, 0, (float) (1 / Math.sqrt(k)));
        float[] c = random(r, k, 1);
        float[] target = random(r, n, 1);
        NolaOps o = dev.nola();
        try (Tensor ct = dev.upload(c, k); Tensor out = dev.allocate(n); Tensor g = dev.allocate(n);
             Tensor grad = dev.allocate(k); Tensor grad2 = dev.allocate(k); Tensor basis = dev.allocate(k, n)) {
            o.mixGenerated(ct, s, null, out);
            float[] mix = dev.read(out);
            float[] resid = new float[n];
            for (int e = 0; e < n; e++) {
                resid[e] = mix[e] - target[e];
            }
            dev.write(g, resid);
            o.coefficientGradientGenerated(s, g, grad);
            dev.random().basis(s, 0, k, basis);
            o.coefficientGradient(basis, g, grad2);
            float[] analytic = dev.read(grad);
            float[] analytic2 = dev.read(grad2);
            float h = 1e-2f;
            for (int i = 0; i < k; i++) {
                float[] cp = c.clone();
                float[] cm = c.clone();
                cp[i] += h;
                cm[i] -= h;
                double lp = loss(dev, ct, cp, s, out, target);
                double lm = loss(dev, ct, cm, s, out, target);
                double fd = (lp - lm) / (cp[i] - cm[i]);
                // the loss is quadratic, so central differences are exact up to float rounding of the mix
                double tol = 2e-3 * (1 + Math.abs(fd));
                assertTrue(Math.abs(fd - analytic[i]) <= tol, "dL/dc" + i + ": finite difference " + fd + ", fused " + analytic[i]);
                assertTrue(Math.abs(fd - analytic2[i]) <= tol, "dL/dc" + i + ": finite difference " + fd + ", materialised " + analytic2[i]);
            }
        }
    }

    private static double loss(Device dev, Tensor ct, float[] c, BasisStream s, Tensor out, float[] target) {
        dev.write(ct, c);
        dev.nola().mixGenerated(ct, s, null, out);
        float[] m = dev.read(out);
        double l = 0;
        for (int e = 0; e < m.length; e++) {
            double d = (double) m[e] - target[e];
            l += 0.5 * d * d;
        }
        return l;
    }

    /**
     * Every op with every operand a view at an odd offset of one shared buffer: the bit-identical
     * ops bit for bit, the gradients within tolerance, of the reference on plain tensors.
     */
    static void views(Device ref, Device dev, Operands.Layout layout) {
        SplittableRandom r = new SplittableRandom(32);
        for (int[] kn : new int[][] {{1, 1}, {3, 7}, {17, 129}, {40, 1030}}) {
            int k = kn[0];
            int n = kn[1];
            String at = " k=" + k + " n=" + n;
            BasisStream s = new BasisStream(r.nextLong(), r.nextInt(), 0, 0.5f);
            float[] c = random(r, k, 1);
            float[] basis = RandomContract.basis(ref, s, 0, k, n);
            float[] off = random(r, n, 1);
            float[] grad = random(r, n, 2);
            // operands: 0 c, 1 basis, 2 offset, 3 out, 4 grad, 5 gradient out
            float[][] in = {c, basis, off, new float[n], grad, new float[k]};
            int[][] shapes = {{k}, {k, n}, {n}, {n}, {n}, {k}};
            Operands.Call mix = (d, t) -> d.nola().mix(t[0], t[1], t[2], t[3]);
            assertBits(Operands.run(ref, in, shapes, 3, mix), Operands.runCarved(dev, layout, in, shapes, 3, mix, "mix" + at),
                    "mix on views" + at);
            Operands.Call inPlace = (d, t) -> d.nola().mix(t[0], t[1], t[2], t[2]);
            assertBits(Operands.run(ref, in, shapes, 2, inPlace),
                    Operands.runCarved(dev, layout, in, shapes, 2, inPlace, "mix in place" + at), "mix in place on views" + at);
            Operands.Call generated = (d, t) -> d.nola().mixGenerated(t[0], s, t[2], t[3]);
            assertBits(Operands.run(ref, in, shapes, 3, generated),
                    Operands.runCarved(dev, layout, in, shapes, 3, generated, "mixGenerated" + at), "mixGenerated on views" + at);
            Operands.Call generatedNoOffset = (d, t) -> d.nola().mixGenerated(t[0], s, null, t[3]);
            assertBits(Operands.run(ref, in, shapes, 3, generatedNoOffset),
                    Operands.runCarved(dev, layout, in, shapes, 3, generatedNoOffset, "mixGenerated without offset" + at),
                    "mixGenerated without offset on views" + at);
            double[] bound = gradientBound(basis, grad, k, n);
            Operands.Call gradient = (d, t) -> d.nola().coefficientGradient(t[1], t[4], t[5]);
            float[] want = Operands.run(ref, in, shapes, 5, gradient);
            assertClose(want, Operands.runCarved(dev, layout, in, shapes, 5, gradient, "coefficientGradient" + at), bound,
                    "coefficientGradient on views" + at);
            Operands.Call fused = (d, t) -> d.nola().coefficientGradientGenerated(s, t[4], t[5]);
            assertClose(want, Operands.runCarved(dev, layout, in, shapes, 5, fused, "coefficientGradientGenerated" + at), bound,
                    "coefficientGradientGenerated on views" + at);
        }
    }

    static void badInput(Device ref, Device dev) {
        NolaOps o = dev.nola();
        BasisStream s = new BasisStream(1, 2, 0, 1f);
        try (Tensor c = dev.allocate(4); Tensor basis = dev.allocate(4, 10); Tensor out = dev.allocate(10);
             Tensor small = dev.allocate(9); Tensor ints = dev.allocate(DType.INT32, 10);
             Tensor shared = dev.allocate(30)) {
            expect(IllegalArgumentException.class, "basis", () -> o.mix(c, basis, null, small));
            expect(IllegalArgumentException.class, "offset", () -> o.mix(c, basis, small, out));
            expect(IllegalArgumentException.class, "stream", () -> o.mixGenerated(c, null, null, out));
            expect(IllegalArgumentException.class, "basis", () -> o.coefficientGradient(basis, small, c));
            expect(IllegalArgumentException.class, "coefficients", () -> o.mix(null, basis, null, out));
            expect(IllegalArgumentException.class, "out is an int32 tensor", () -> o.mix(c, basis, null, ints));
            expect(IllegalArgumentException.class, "offset is an int32 tensor", () -> o.mix(c, basis, ints, out));
            expect(IllegalArgumentException.class, "out is an int32 tensor", () -> o.mixGenerated(c, s, null, ints));
            expect(IllegalArgumentException.class, "grad is an int32 tensor", () -> o.coefficientGradient(basis, ints, c));
            expect(IllegalArgumentException.class, "grad is an int32 tensor", () -> o.coefficientGradientGenerated(s, ints, c));
            // overlapping views: an offset that overlaps out without being it, an output over an input
            expect(IllegalArgumentException.class, "overlap", () -> o.mix(c, basis, shared.view(0, 10), shared.view(5, 10)));
            expect(IllegalArgumentException.class, "overlap", () -> o.mixGenerated(shared.view(0, 4), s, null, shared.view(3, 10)));
            expect(IllegalArgumentException.class, "overlap", () -> o.coefficientGradient(basis, shared.view(0, 10), shared.view(9, 4)));
            expect(IllegalArgumentException.class, "overlap", () -> o.coefficientGradientGenerated(s, shared.view(2, 10), shared.view(0, 4)));
            try (Tensor foreign = ref.allocate(10)) {
                expect(IllegalArgumentException.class, "belongs to device", () -> o.mix(c, basis, null, foreign));
            }
        }
    }

    static void closed(Device ref, Device dev) {
        NolaOps o = dev.nola();
        BasisStream s = new BasisStream(1, 2, 0, 1f);
        Tensor t = dev.allocate(8);
        Tensor c = dev.allocate(2);
        Tensor basis = dev.allocate(2, 8);
        Tensor g = dev.allocate(2);
        g.close();
        expect(IllegalStateException.class, "closed", () -> o.coefficientGradient(basis, t, g));
        expect(IllegalStateException.class, "closed", () -> o.coefficientGradientGenerated(s, t, g));
        c.close();
        expect(IllegalStateException.class, "closed", () -> o.mix(c, basis, null, t));
        expect(IllegalStateException.class, "closed", () -> o.mixGenerated(c, s, null, t));
        Tensor c2 = dev.allocate(2);
        dev.close();
        expect(IllegalStateException.class, "closed", () -> o.mix(c2, basis, null, t));
        expect(IllegalStateException.class, "closed", () -> o.coefficientGradientGenerated(s, t, c2));
    }

    static void allocations(Device ref, Device dev) {
        BasisStream s = new BasisStream(5, 6, 0, 0.5f);
        int k = 12;
        int n = 4099;
        try (Tensor c = dev.upload(new float[k], k); Tensor basis = dev.allocate(k, n); Tensor out = dev.allocate(n);
             Tensor g = dev.allocate(k); Tensor buf = dev.allocate(2 * n + k + 8)) {
            assertNoAllocations(dev, "nola ops", () -> {
                NolaOps o = dev.nola();
                o.mix(c, basis, null, out);
                o.mix(c, basis, out, out);
                o.mixGenerated(c, s, out, out);
                o.coefficientGradient(basis, out, g);
                o.coefficientGradientGenerated(s, out, g);
                o.coefficientGradientGenerated(s, buf.view(3, n), buf.view(n + 5, k));
                o.mixGenerated(buf.view(n + 5, k), s, null, buf.view(1 + n + k + 5, n));
            });
        }
    }
}
