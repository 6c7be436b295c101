package dev.nola.kernels.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.nola.kernels.Backend;
import dev.nola.kernels.Backends;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.Ops;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.function.Executable;

/**
 * The op contract as tests: every op of a device against the {@code reference} backend. Basis and
 * mix must match bit for bit; reductions (gradients, matmul, adapter ops) within a tolerance
 * relative to the sum of absolute products, which bounds the rounding error of any summation order.
 *
 * <p>Used by {@code OpsContractTest} for every backend in this module and, through the test jar, by
 * other backend modules. A backend that is not available yields one test that is aborted (reported
 * as skipped) with the backend's reason.
 */
public final class OpsContract {

    /**
     * Tolerance for float32 reductions relative to Σ|aᵢ·bᵢ|: a sum of up to ~2^12 terms in any order
     * has error below n·2^-24·Σ|aᵢbᵢ|; 1e-4 covers n ≤ 1600 in the worst case and far more in practice.
     */
    public static final double REL_TOL = 1e-4;

    private OpsContract() {
    }

    /** The contract tests for every device of every available backend named, skipped ones with reasons. */
    public static Stream<DynamicNode> forBackends(List<Backend> backends) {
        List<DynamicNode> nodes = new ArrayList<>();
        // NOLA_REQUIRE_BACKENDS (comma-separated, set by .ci/run to "opencl") turns "skipped" into
        // "failed" for backends that must run here, so CI cannot pass without really running them.
        List<String> required = List.of(System.getenv().getOrDefault("NOLA_REQUIRE_BACKENDS", "").split(","))
                .stream().map(String::trim).filter(x -> !x.isEmpty()).toList();
        for (String name : required) {
            if (backends.stream().noneMatch(b -> b.name().equals(name))) {
                nodes.add(dynamicTest(name + " (required, absent)", () -> {
                    throw new AssertionError("NOLA_REQUIRE_BACKENDS names " + name + ", which is not on the class path");
                }));
            }
        }
        for (Backend b : backends) {
            if (!b.availability().available()) {
                String why = b.name() + " unavailable: " + b.availability().reason();
                if (required.contains(b.name())) {
                    nodes.add(dynamicTest(b.name() + " (required, unavailable)", () -> {
                        throw new AssertionError("NOLA_REQUIRE_BACKENDS names " + b.name() + ", but " + why);
                    }));
                    continue;
                }
                nodes.add(dynamicTest(b.name() + " (skipped: " + why + ")", () -> {
                    System.out.println("[contract] " + b.name() + ": SKIPPED: " + why);
                    Assumptions.abort(why);
                }));
                continue;
            }
            for (DeviceInfo d : b.devices()) {
                nodes.add(DynamicContainer.dynamicContainer(d.id() + " " + d.name(), forDevice(() -> Backends.open(d.id()))));
            }
        }
        return nodes.stream();
    }

    /** The contract tests for one device (opened afresh for each test). */
    public static Stream<DynamicNode> forDevice(Supplier<Device> opener) {
        List<DynamicNode> t = new ArrayList<>();
        t.add(test("basis is bit-identical", opener, OpsContract::basisIdentical));
        t.add(test("mix is bit-identical", opener, OpsContract::mixIdentical));
        t.add(test("fused generate-and-mix is bit-identical to basis then mix", opener, OpsContract::mixGeneratedIdentical));
        t.add(test("coefficient gradient within tolerance", opener, OpsContract::coefficientGradient));
        t.add(test("coefficient gradient matches finite differences", opener, OpsContract::finiteDifferences));
        t.add(test("matmul, all transposes and alpha/beta", opener, OpsContract::matmul));
        t.add(test("adapter forward and backward", opener, OpsContract::adapter));
        t.add(test("bad input is rejected with named arguments", opener, OpsContract::badInput));
        t.add(test("closed device and tensors are rejected", opener, OpsContract::closed));
        return t.stream();
    }

    private interface DeviceTest {
        void run(Device ref, Device dev) throws Exception;
    }

    private static DynamicNode test(String name, Supplier<Device> opener, DeviceTest body) {
        Executable e = () -> {
            try (Device ref = Backends.open("reference"); Device dev = opener.get()) {
                String id = dev.id();
                body.run(ref, dev);
                // one line per passed check in the build log, so CI shows which devices really ran
                System.out.println("[contract] " + id + ": " + name + ": passed");
            }
        };
        return dynamicTest(name, e);
    }

    // ------------------------------------------------------------------ helpers

    static float[] random(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return a;
    }

    static void assertBits(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                throw new AssertionError(what + ": element " + i + " differs: expected " + expected[i] + " ("
                        + Integer.toHexString(Float.floatToRawIntBits(expected[i])) + "), got " + actual[i] + " ("
                        + Integer.toHexString(Float.floatToRawIntBits(actual[i])) + ")");
            }
        }
    }

    /** |actual - expected| ≤ REL_TOL · bound[i] + 1e-30 for every i. */
    static void assertClose(float[] expected, float[] actual, double[] bound, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs((double) actual[i] - expected[i]);
            double tol = REL_TOL * bound[i] + 1e-30;
            if (!(err <= tol)) {
                throw new AssertionError(what + ": element " + i + " expected " + expected[i] + ", got " + actual[i]
                        + " (error " + err + " > tolerance " + tol + ")");
            }
        }
    }

    private static float[] run(Device d, float[][] inputs, int[][] shapes, int outIndex, OpCall call) {
        Tensor[] ts = new Tensor[inputs.length];
        try {
            for (int i = 0; i < inputs.length; i++) {
                ts[i] = inputs[i] == null ? null : d.upload(inputs[i], shapes[i]);
            }
            call.call(d.ops(), ts);
            return d.read(ts[outIndex]);
        } finally {
            for (Tensor t : ts) {
                if (t != null) {
                    t.close();
                }
            }
        }
    }

    private interface OpCall {
        void call(Ops ops, Tensor[] t);
    }

    // ------------------------------------------------------------------ tests

    /** Shapes the property tests cover: n includes 1, 7, 1023 (not multiples of 4 or of a vector). */
    static final int[] SIZES = {1, 2, 3, 4, 7, 64, 129, 1023};
    static final int[] COUNTS = {1, 2, 3, 8, 33};

    static void basisIdentical(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(11);
        long[] seeds = {0L, 1L, -1L, 0x1234_5678_9abc_def0L};
        for (int trial = 0; trial < 16; trial++) {
            int n = SIZES[trial % SIZES.length];
            int count = COUNTS[trial % COUNTS.length];
            BasisStream s = new BasisStream(seeds[trial % seeds.length], r.nextInt(), trial % 3,
                    trial % 4 == 0 ? 1f : (float) r.nextDouble());
            int first = trial % 2 == 0 ? 0 : r.nextInt(1 << 20);
            int[] shape = {count, n};
            float[] want = run(ref, new float[][] {new float[count * n]}, new int[][] {shape}, 0,
                    (o, t) -> o.basis(s, first, count, t[0]));
            float[] got = run(dev, new float[][] {new float[count * n]}, new int[][] {shape}, 0,
                    (o, t) -> o.basis(s, first, count, t[0]));
            assertBits(want, got, "basis " + s + " first=" + first + " count=" + count + " n=" + n);
        }
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
            OpCall call = (o, t) -> o.mix(t[0], t[1], withOffset ? (inPlace ? t[3] : t[2]) : null, t[3]);
            float[][] in = {c, basis, off, inPlace ? off.clone() : new float[n]};
            float[] want = run(ref, in, shapes, 3, call);
            float[] got = run(dev, in, shapes, 3, call);
            assertBits(want, got, "mix k=" + k + " n=" + n + " offset=" + withOffset + " inPlace=" + inPlace);
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
            // materialised on the reference: basis, then mix
            float[] basis = run(ref, new float[][] {new float[k * n]}, new int[][] {{k, n}}, 0,
                    (o, t) -> o.basis(s, 0, k, t[0]));
            float[] want = run(ref, new float[][] {c, basis, off, new float[n]}, new int[][] {{k}, {k, n}, {n}, {n}}, 3,
                    (o, t) -> o.mix(t[0], t[1], withOffset ? t[2] : null, t[3]));
            float[] got = run(dev, new float[][] {c, off, new float[n]}, new int[][] {{k}, {n}, {n}}, 2,
                    (o, t) -> o.mixGenerated(t[0], s, withOffset ? t[1] : null, t[2]));
            assertBits(want, got, "mixGenerated k=" + k + " n=" + n + " offset=" + withOffset);
        }
    }

    static void coefficientGradient(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(14);
        for (int trial = 0; trial < 12; trial++) {
            int n = SIZES[trial % SIZES.length];
            int k = trial == 0 ? 1 : 1 + r.nextInt(100);
            BasisStream s = new BasisStream(r.nextLong(), r.nextInt(), 0, 0.5f);
            float[] grad = random(r, n, 3);
            float[] basis = run(ref, new float[][] {new float[k * n]}, new int[][] {{k, n}}, 0,
                    (o, t) -> o.basis(s, 0, k, t[0]));
            double[] bound = new double[k];
            for (int i = 0; i < k; i++) {
                for (int e = 0; e < n; e++) {
                    bound[i] += Math.abs((double) basis[i * n + e] * grad[e]);
                }
            }
            float[] want = run(ref, new float[][] {basis, grad, new float[k]}, new int[][] {{k, n}, {n}, {k}}, 2,
                    (o, t) -> o.coefficientGradient(t[0], t[1], t[2]));
            float[] got = run(dev, new float[][] {basis, grad, new float[k]}, new int[][] {{k, n}, {n}, {k}}, 2,
                    (o, t) -> o.coefficientGradient(t[0], t[1], t[2]));
            assertClose(want, got, bound, "coefficientGradient k=" + k + " n=" + n);
            float[] gotFused = run(dev, new float[][] {grad, new float[k]}, new int[][] {{n}, {k}}, 1,
                    (o, t) -> o.coefficientGradientGenerated(s, t[0], t[1]));
            assertClose(want, gotFused, bound, "coefficientGradientGenerated k=" + k + " n=" + n);
        }
    }

    /**
     * L(c) = ½‖offset + Σ cᵢ·basisᵢ − T‖², so dL/dmix = mix − T and dL/dcᵢ = ⟨basisᵢ, mix − T⟩: the
     * device's gradient against central differences of L computed from the device's own mix.
     */
    static void finiteDifferences(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(15);
        int k = 9;
        int n = 37;
        BasisStream s = new BasisStream(42L, 7, 0, (float) (1 / Math.sqrt(k)));
        float[] c = random(r, k, 1);
        float[] target = random(r, n, 1);
        try (Tensor ct = dev.upload(c, k); Tensor out = dev.allocate(n); Tensor g = dev.allocate(n);
             Tensor grad = dev.allocate(k); Tensor grad2 = dev.allocate(k); Tensor basis = dev.allocate(k, n)) {
            dev.ops().mixGenerated(ct, s, null, out);
            float[] mix = dev.read(out);
            float[] resid = new float[n];
            for (int e = 0; e < n; e++) {
                resid[e] = mix[e] - target[e];
            }
            dev.write(g, resid);
            dev.ops().coefficientGradientGenerated(s, g, grad);
            dev.ops().basis(s, 0, k, basis);
            dev.ops().coefficientGradient(basis, g, grad2);
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
                assertTrue(Math.abs(fd - analytic2[i]) <= tol, "dL/dc" + i + ": finite difference " + fd + ", materialized " + analytic2[i]);
            }
        }
    }

    private static double loss(Device dev, Tensor ct, float[] c, BasisStream s, Tensor out, float[] target) {
        dev.write(ct, c);
        dev.ops().mixGenerated(ct, s, null, out);
        float[] m = dev.read(out);
        double l = 0;
        for (int e = 0; e < m.length; e++) {
            double d = (double) m[e] - target[e];
            l += 0.5 * d * d;
        }
        return l;
    }

    static void matmul(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(16);
        int[][] mnk = {{1, 1, 1}, {7, 5, 3}, {33, 17, 65}, {64, 64, 64}, {1, 1023, 7}, {129, 3, 200}, {100, 130, 70}};
        float[][] ab = {{1f, 0f}, {0.5f, 1f}, {-2f, 0.25f}};
        for (int[] s : mnk) {
            int m = s[0];
            int n = s[1];
            int k = s[2];
            for (int variant = 0; variant < 4; variant++) {
                boolean ta = (variant & 1) != 0;
                boolean tb = (variant & 2) != 0;
                float[] alphaBeta = ab[(variant + m) % ab.length];
                float alpha = alphaBeta[0];
                float beta = alphaBeta[1];
                float[] a = random(r, m * k, 1);
                float[] b = random(r, k * n, 1);
                float[] c0 = random(r, m * n, 1);
                if (beta == 0f) {
                    c0[0] = Float.NaN; // must not propagate when beta == 0
                }
                int[][] shapes = {ta ? new int[] {k, m} : new int[] {m, k}, tb ? new int[] {n, k} : new int[] {k, n}, {m, n}};
                OpCall call = (o, t) -> o.matmul(ta, tb, alpha, t[0], t[1], beta, t[2]);
                float[] want = run(ref, new float[][] {a, b, c0.clone()}, shapes, 2, call);
                float[] got = run(dev, new float[][] {a, b, c0.clone()}, shapes, 2, call);
                double[] bound = new double[m * n];
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double sum = 0;
                        for (int p = 0; p < k; p++) {
                            float x = ta ? a[p * m + i] : a[i * k + p];
                            float y = tb ? b[j * k + p] : b[p * n + j];
                            sum += Math.abs((double) x * y);
                        }
                        bound[i * n + j] = Math.abs(alpha) * sum + (beta == 0f ? 0 : Math.abs(beta * c0[i * n + j]));
                    }
                }
                assertClose(want, got, bound, "matmul m=" + m + " n=" + n + " k=" + k + " ta=" + ta + " tb=" + tb
                        + " alpha=" + alpha + " beta=" + beta);
            }
        }
    }

    static void adapter(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(17);
        int[][] shapes = {{1, 1, 1, 1}, {5, 7, 2, 3}, {64, 48, 8, 40}, {33, 129, 1, 65}, {300, 96, 16, 80}};
        for (int[] s : shapes) {
            int tokens = s[0];
            int in = s[1];
            int rank = s[2];
            int out = s[3];
            float scale = 0.75f;
            float[] x = random(r, tokens * in, 1);
            float[] a = random(r, rank * in, 1);
            float[] b = random(r, out * rank, 1);
            float[] y0 = random(r, tokens * out, 1);
            float[] dy = random(r, tokens * out, 1);
            float[] dx0 = random(r, tokens * in, 1);
            int[][] sh = {{tokens, in}, {rank, in}, {out, rank}, {tokens, rank}, {tokens, out}, {tokens, out},
                    {tokens, rank}, {tokens, in}, {rank, in}, {out, rank}};
            float[][] inputs = {x, a, b, new float[tokens * rank], y0, dy, new float[tokens * rank], dx0,
                    new float[rank * in], new float[out * rank]};
            String[] names = {"y", "h", "dh", "dx", "da", "db"};
            int[] idx = {4, 3, 6, 7, 8, 9};
            for (int o = 0; o < idx.length; o++) {
                int which = idx[o];
                OpCall call = (ops, t) -> {
                    ops.adapterForward(t[0], t[1], t[2], scale, t[3], t[4]);
                    ops.adapterBackward(t[0], t[1], t[2], scale, t[3], t[5], t[6], t[7], t[8], t[9]);
                };
                float[] want = run(ref, deepCopy(inputs), sh, which, call);
                float[] got = run(dev, deepCopy(inputs), sh, which, call);
                // The bound is the same computation on absolute values: Σ|terms| at every level of
                // the nested sums, which bounds the rounding error of any summation order.
                float[][] absInputs = deepCopy(inputs);
                for (float[] v : absInputs) {
                    for (int e = 0; e < v.length; e++) {
                        v[e] = Math.abs(v[e]);
                    }
                }
                OpCall absCall = (ops, t) -> {
                    ops.adapterForward(t[0], t[1], t[2], Math.abs(scale), t[3], t[4]);
                    ops.adapterBackward(t[0], t[1], t[2], Math.abs(scale), t[3], t[5], t[6], t[7], t[8], t[9]);
                };
                float[] absOut = run(ref, absInputs, sh, which, absCall);
                double[] bound = new double[want.length];
                for (int e = 0; e < bound.length; e++) {
                    bound[e] = absOut[e];
                }
                assertClose(want, got, bound, "adapter " + names[o] + " tokens=" + tokens + " in=" + in + " r=" + rank + " out=" + out);
            }
        }
    }

    private static float[][] deepCopy(float[][] a) {
        float[][] c = new float[a.length][];
        for (int i = 0; i < a.length; i++) {
            c[i] = a[i] == null ? null : a[i].clone();
        }
        return c;
    }

    static void badInput(Device ref, Device dev) {
        Ops o = dev.ops();
        BasisStream s = new BasisStream(1, 2, 0, 1f);
        expect(IllegalArgumentException.class, "shape", () -> dev.allocate(0));
        expect(IllegalArgumentException.class, "shape", () -> dev.allocate(3, -2));
        expect(IllegalArgumentException.class, "scale", () -> new BasisStream(1, 2, 0, Float.NaN));
        expect(IllegalArgumentException.class, "scale", () -> new BasisStream(1, 2, 0, Float.POSITIVE_INFINITY));
        try (Tensor c = dev.allocate(4); Tensor basis = dev.allocate(4, 10); Tensor out = dev.allocate(10);
             Tensor small = dev.allocate(9); Tensor m23 = dev.allocate(2, 3); Tensor m33 = dev.allocate(3, 3);
             Tensor m22 = dev.allocate(2, 2)) {
            expect(IllegalArgumentException.class, "count", () -> o.basis(s, 0, 0, basis));
            expect(IllegalArgumentException.class, "firstIndex", () -> o.basis(s, -1, 4, basis));
            expect(IllegalArgumentException.class, "count", () -> o.basis(s, 0, 3, basis));
            expect(IllegalArgumentException.class, "basis", () -> o.mix(c, basis, null, small));
            expect(IllegalArgumentException.class, "offset", () -> o.mix(c, basis, small, out));
            expect(IllegalArgumentException.class, "stream", () -> o.mixGenerated(c, null, null, out));
            expect(IllegalArgumentException.class, "basis", () -> o.coefficientGradient(basis, small, c));
            expect(IllegalArgumentException.class, "inner dimensions", () -> o.matmul(false, false, 1f, m23, m22, 0f, m23));
            expect(IllegalArgumentException.class, "c has shape", () -> o.matmul(false, false, 1f, m23, m33, 0f, m22));
            expect(IllegalArgumentException.class, "alpha", () -> o.matmul(false, false, Float.NaN, m23, m33, 0f, m23));
            expect(IllegalArgumentException.class, "matrix", () -> o.matmul(false, false, 1f, out, m33, 0f, m23));
            expect(IllegalArgumentException.class, "scale", () -> o.adapterForward(m23, m23, m22, Float.NaN, m22, m22));
            expect(IllegalArgumentException.class, "src", () -> dev.write(out, new float[3]));
            expect(IllegalArgumentException.class, "dst", () -> dev.write(out, 8, new float[3], 0, 3));
            expect(IllegalArgumentException.class, "src range", () -> dev.read(out, 8, new float[3], 0, 3));
            expect(IllegalArgumentException.class, "same tensor", () -> o.matmul(false, false, 1f, m33, m33, 0f, m33));
            try (Tensor foreign = ref.allocate(10)) {
                expect(IllegalArgumentException.class, "belongs to device", () -> o.mix(c, basis, null, foreign));
            }
        }
    }

    static void closed(Device ref, Device dev) {
        Tensor t = dev.allocate(8);
        Tensor c = dev.allocate(2);
        Tensor basis = dev.allocate(2, 8);
        c.close();
        expect(IllegalStateException.class, "closed", () -> dev.ops().mix(c, basis, null, t));
        expect(IllegalStateException.class, "closed", () -> dev.read(c));
        dev.close();
        assertTrue(t.isClosed(), "closing the device closes its tensors");
        expect(IllegalStateException.class, "closed", () -> dev.allocate(4));
        expect(IllegalStateException.class, "closed", () -> dev.ops());
        expect(IllegalStateException.class, "closed", () -> dev.read(t));
        dev.close(); // idempotent
    }

    static <T extends Throwable> void expect(Class<T> type, String mention, Executable e) {
        T ex = assertThrows(type, e);
        String msg = String.valueOf(ex.getMessage());
        assertTrue(msg.contains(mention), "message should mention '" + mention + "': " + msg);
    }
}
