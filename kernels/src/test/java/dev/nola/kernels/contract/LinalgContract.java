package dev.nola.kernels.contract;

import static dev.nola.kernels.contract.Asserts.assertBits;
import static dev.nola.kernels.contract.Asserts.assertClose;
import static dev.nola.kernels.contract.Asserts.assertNoAllocations;
import static dev.nola.kernels.contract.Asserts.expect;
import static dev.nola.kernels.contract.Asserts.random;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.LinalgOps;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.contract.Contract.Check;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The linalg family: matmul (all transposes, alpha and beta, NaN in C not read when beta is 0),
 * strided batched matmul (broadcast strides, padded leading dimensions, the attention-head layout),
 * and axpy, scale and fill, on tensors and on views. Products are within {@link Asserts#REL_TOL} of
 * Σ|aᵢbᵢ| of the reference; elements of C outside the batches must not change at all.
 */
final class LinalgContract {

    private LinalgContract() {
    }

    static List<Check> checks() {
        return List.of(
                new Check("matmul, all transposes and alpha/beta", false, LinalgContract::matmul),
                new Check("matmulBatched: strides, broadcast, padded ld, attention heads", false, LinalgContract::matmulBatched),
                new Check("matmul of few rows (decode): wide, deep, padded ld, batched", false, LinalgContract::fewRows),
                HalfWeightsContract.matmul(),
                new Check("axpy, scale and fill against host arithmetic", true, LinalgContract::level1),
                new Check("every op on views, nothing around them written", false, Operands.inBothLayouts(LinalgContract::views)),
                new Check("bad input is rejected with named arguments", true, LinalgContract::badInput),
                new Check("closed device and tensors are rejected", true, LinalgContract::closed),
                new Check("no device allocations after warm-up", true, LinalgContract::allocations));
    }

    /** One strided batched product, as stored: what {@link #bound} and the calls need. */
    record Gemm(boolean ta, boolean tb, int batch, int m, int n, int k, float alpha, int lda, long sa, int ldb, long sb,
                float beta, int ldc, long sc) {

        void call(Device d, Tensor a, Tensor b, Tensor c) {
            d.linalg().matmulBatched(ta, tb, batch, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc);
        }

        /** Elements the stored operand needs: (batch-1)·stride + (rows-1)·ld + cols. */
        static int extent(int batch, long stride, int rows, int cols, int ld) {
            return (int) ((batch - 1) * stride + (long) (rows - 1) * ld + cols);
        }

        int aSize() {
            return extent(batch, sa, ta ? k : m, ta ? m : k, lda);
        }

        int bSize() {
            return extent(batch, sb, tb ? n : k, tb ? k : n, ldb);
        }

        int cSize() {
            return extent(batch, sc, m, n, ldc);
        }

        /**
         * Per element of the stored C: |alpha|·Σ|a·b| + |beta·c| for elements of a batch (bounds any
         * summation order's rounding), 0 elsewhere (untouched, so exactly equal).
         */
        double[] bound(float[] a, float[] b, float[] c) {
            double[] bound = new double[c.length];
            for (int q = 0; q < batch; q++) {
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double sum = 0;
                        for (int p = 0; p < k; p++) {
                            float x = ta ? a[(int) (q * sa + (long) p * lda + i)] : a[(int) (q * sa + (long) i * lda + p)];
                            float y = tb ? b[(int) (q * sb + (long) j * ldb + p)] : b[(int) (q * sb + (long) p * ldb + j)];
                            sum += Math.abs((double) x * y);
                        }
                        int ci = (int) (q * sc + (long) i * ldc + j);
                        bound[ci] = Math.abs(alpha) * sum + (beta == 0f ? 0 : Math.abs(beta * c[ci]));
                    }
                }
            }
            return bound;
        }

        /** Runs it on both devices (the device's operands carved when a layout is given) and compares all of C. */
        void check(Device ref, Device dev, SplittableRandom r, Operands.Layout carved, String what) {
            float[] a = random(r, aSize(), 1);
            float[] b = random(r, bSize(), 1);
            float[] c = random(r, cSize(), 1);
            if (beta == 0f) {
                c[0] = Float.NaN; // inside batch 0: must not propagate when beta == 0
            }
            float[][] in = {a, b, c};
            int[][] shapes = {{a.length}, {b.length}, {c.length}};
            Operands.Call call = (d, t) -> call(d, t[0], t[1], t[2]);
            float[] want = Operands.run(ref, in, shapes, 2, call);
            float[] got = carved != null ? Operands.runCarved(dev, carved, in, shapes, 2, call, what) : Operands.run(dev, in, shapes, 2, call);
            assertClose(want, got, bound(a, b, c), what + " " + this);
        }
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
                Operands.Call call = (d, t) -> d.linalg().matmul(ta, tb, alpha, t[0], t[1], beta, t[2]);
                float[][] in = {a, b, c0};
                Gemm g = new Gemm(ta, tb, 1, m, n, k, alpha, ta ? m : k, 0, tb ? k : n, 0, beta, n, 0);
                assertClose(Operands.run(ref, in, shapes, 2, call), Operands.run(dev, in, shapes, 2, call),
                        g.bound(a, b, c0), "matmul m=" + m + " n=" + n + " k=" + k + " ta=" + ta + " tb=" + tb
                                + " alpha=" + alpha + " beta=" + beta);
            }
        }
    }

    static void matmulBatched(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(17);
        for (int variant = 0; variant < 4; variant++) {
            boolean ta = (variant & 1) != 0;
            boolean tb = (variant & 2) != 0;
            int m = 13;
            int n = 21;
            int k = 9;
            int ar = ta ? k : m;
            int ac = ta ? m : k;
            int br = tb ? n : k;
            int bc = tb ? k : n;
            // contiguous batches
            new Gemm(ta, tb, 3, m, n, k, 1f, ac, (long) ar * ac, bc, (long) br * bc, 0f, n, (long) m * n)
                    .check(ref, dev, r, null, "contiguous");
            // padded leading dimensions and gaps between batches
            new Gemm(ta, tb, 4, m, n, k, -0.5f, ac + 3, (long) ar * (ac + 3) + 2, bc + 5, (long) br * (bc + 5) + 1,
                    0.75f, n + 2, (long) m * (n + 2) + 7).check(ref, dev, r, null, "padded ld");
            // one B for every batch (a shared weight), and one A for every batch
            new Gemm(ta, tb, 3, m, n, k, 1.5f, ac, (long) ar * ac, bc, 0, 1f, n, (long) m * n)
                    .check(ref, dev, r, null, "strideB = 0");
            new Gemm(ta, tb, 5, m, n, k, 1f, ac, 0, bc, (long) br * bc, 0f, n, (long) m * n)
                    .check(ref, dev, r, null, "strideA = 0");
        }
        // larger batches across the tile edges of the device kernels
        new Gemm(false, true, 2, 65, 70, 33, 1f, 33, 65 * 33, 33, 70 * 33, 0f, 70, 65 * 70)
                .check(ref, dev, r, null, "tile edges");
        new Gemm(true, false, 7, 1, 1, 1, 2f, 1, 1, 1, 1, 0.5f, 1, 1).check(ref, dev, r, null, "1x1x1");
        // attention heads: q, k, v are [T, C] with head h in columns h·hs .. h·hs+hs-1 (ld = C,
        // stride = hs); scores S_h = Q_h·K_hᵀ land in [H, T, T], then O_h = P_h·V_h lands back in
        // the columns of head h of a [T, C] output (ldc = C, strideC = hs: interleaved C matrices)
        int tokens = 19;
        int heads = 4;
        int hs = 12;
        int channels = heads * hs;
        new Gemm(false, true, heads, tokens, tokens, hs, (float) (1 / Math.sqrt(hs)), channels, hs, channels, hs,
                0f, tokens, (long) tokens * tokens).check(ref, dev, r, null, "attention scores");
        new Gemm(false, false, heads, tokens, hs, tokens, 1f, tokens, (long) tokens * tokens, channels, hs,
                0f, channels, hs).check(ref, dev, r, null, "attention output");
        // and its backward: dV_h = P_hᵀ·dO_h into interleaved columns, with beta = 1 (accumulate)
        new Gemm(true, false, heads, tokens, hs, tokens, 1f, tokens, (long) tokens * tokens, channels, hs,
                1f, channels, hs).check(ref, dev, r, null, "attention dV");
    }

    /**
     * Products of 1 to 5 rows of C, the shapes of a decode step (one token through a projection or the
     * LM head; a backend may take them on a path of their own), with column counts off every tile
     * width, depths off every vector width, padded leading dimensions, and batches of one-row heads.
     */
    static void fewRows(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(18);
        int[][] mnk = {{1, 1031, 77}, {2, 300, 130}, {3, 513, 33}, {4, 77, 260}, {5, 40, 31}, {1, 3, 1}};
        float[] alphas = {1f, 0.5f, -2f};
        float[] betas = {0f, 1f, 0.25f};
        // every shape in all four transposes; case i pads each stored row by i % 4 elements
        for (int i = 0; i < mnk.length * 4; i++) {
            int[] s = mnk[i / 4];
            boolean ta = (i & 1) != 0;
            boolean tb = (i & 2) != 0;
            int pad = i % 4;
            Gemm g = new Gemm(ta, tb, 1, s[0], s[1], s[2], alphas[i % 3], (ta ? s[0] : s[2]) + pad, 0,
                    (tb ? s[2] : s[1]) + pad, 0, betas[i % 3], s[1] + pad, 0);
            g.check(ref, dev, r, null, g.toString());
        }
        // a decode step's attention: one query row per head against T cached keys, then against the values
        int heads = 3;
        int hs = 8;
        int cached = 37;
        new Gemm(false, true, heads, 1, cached, hs, 0.5f, heads * hs, hs, heads * hs, hs, 0f, cached, cached)
                .check(ref, dev, r, null, "one-row attention scores");
        new Gemm(false, false, heads, 1, hs, cached, 1f, cached, cached, heads * hs, hs, 0f, heads * hs, hs)
                .check(ref, dev, r, null, "one-row attention output");
    }

    /** Host arithmetic: axpy within one rounding of the exact y + alpha·x, scale exact, fill exact. */
    static void level1(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(18);
        for (int n : new int[] {1, 7, 1000, 70_001}) {
            float[] x = random(r, n, 2);
            float[] y = random(r, n, 2);
            float alpha = -1.375f;
            try (Tensor xt = dev.upload(x, n); Tensor yt = dev.upload(y, n)) {
                dev.linalg().axpy(alpha, xt, yt);
                float[] got = dev.read(yt);
                for (int i = 0; i < n; i++) {
                    double exact = (double) alpha * x[i] + y[i];
                    // fused or not, one or two roundings of values below 8: within 2 ulp of the exact sum's magnitude
                    double tol = 2 * Math.ulp((float) Math.max(Math.abs(exact), Math.abs((double) alpha * x[i])));
                    assertTrue(Math.abs(got[i] - exact) <= tol, "axpy n=" + n + " element " + i + ": " + got[i]
                            + " vs exact " + exact);
                }
                dev.linalg().scale(0.1f, xt);
                float[] scaled = new float[n];
                for (int i = 0; i < n; i++) {
                    scaled[i] = 0.1f * x[i]; // one float multiply: correctly rounded everywhere
                }
                assertBits(scaled, dev.read(xt), "scale n=" + n);
                dev.linalg().scale(0f, xt);
                float[] zeros = dev.read(xt);
                for (int i = 0; i < n; i++) {
                    assertTrue(zeros[i] == 0f, "scale by 0, element " + i + ": " + zeros[i]);
                }
                dev.linalg().fill(yt, -2.5f);
                float[] filled = new float[n];
                java.util.Arrays.fill(filled, -2.5f);
                assertBits(filled, dev.read(yt), "fill n=" + n);
                dev.linalg().fill(yt, Float.NaN);
                float[] nan = dev.read(yt);
                for (int i = 0; i < n; i++) {
                    assertTrue(Float.isNaN(nan[i]), "fill with NaN, element " + i + ": " + nan[i]);
                }
            }
        }
    }

    static void views(Device ref, Device dev, Operands.Layout layout) {
        SplittableRandom r = new SplittableRandom(19);
        for (int variant = 0; variant < 4; variant++) {
            boolean ta = (variant & 1) != 0;
            boolean tb = (variant & 2) != 0;
            int m = 17;
            int n = 33;
            int k = 20;
            // matmul of views at offsets (its lda = the view's columns)
            float[] a = random(r, m * k, 1);
            float[] b = random(r, k * n, 1);
            float[] c = random(r, m * n, 1);
            int[][] shapes = {ta ? new int[] {k, m} : new int[] {m, k}, tb ? new int[] {n, k} : new int[] {k, n}, {m, n}};
            Operands.Call call = (d, t) -> d.linalg().matmul(ta, tb, 0.5f, t[0], t[1], 0.25f, t[2]);
            float[][] in = {a, b, c};
            Gemm g = new Gemm(ta, tb, 1, m, n, k, 0.5f, ta ? m : k, 0, tb ? k : n, 0, 0.25f, n, 0);
            String what = "matmul on views ta=" + ta + " tb=" + tb;
            assertClose(Operands.run(ref, in, shapes, 2, call), Operands.runCarved(dev, layout, in, shapes, 2, call, what),
                    g.bound(a, b, c), what);
            new Gemm(ta, tb, 3, 5, 6, 7, 1f, (ta ? 5 : 7) + 1, 50, (tb ? 7 : 6) + 2, 0, 0.5f, 8, 41)
                    .check(ref, dev, r, layout, "matmulBatched on views");
        }
        for (int n : new int[] {1, 9, 1000}) {
            float[] x = random(r, n, 1);
            float[] y = random(r, n, 1);
            float[][] in = {x, y};
            int[][] shapes = {{n}, {n}};
            // y += alpha·x: one rounding or two of the reference's double; compare within 2 ulp
            float[] want = Operands.run(ref, in, shapes, 1, (d, t) -> d.linalg().axpy(0.75f, t[0], t[1]));
            float[] got = Operands.runCarved(dev, layout, in, shapes, 1, (d, t) -> d.linalg().axpy(0.75f, t[0], t[1]), "axpy n=" + n);
            Asserts.assertWithin(want, got, 0x1p-22, 0x1p-23, "axpy on views n=" + n);
            assertBits(Operands.run(ref, in, shapes, 0, (d, t) -> d.linalg().scale(-3f, t[0])),
                    Operands.runCarved(dev, layout, in, shapes, 0, (d, t) -> d.linalg().scale(-3f, t[0]), "scale n=" + n),
                    "scale on views n=" + n);
            assertBits(Operands.run(ref, in, shapes, 1, (d, t) -> d.linalg().fill(t[1], 4.25f)),
                    Operands.runCarved(dev, layout, in, shapes, 1, (d, t) -> d.linalg().fill(t[1], 4.25f), "fill n=" + n),
                    "fill on views n=" + n);
        }
    }

    static void badInput(Device ref, Device dev) {
        LinalgOps o = dev.linalg();
        try (Tensor m23 = dev.allocate(2, 3); Tensor m33 = dev.allocate(3, 3); Tensor m22 = dev.allocate(2, 2);
             Tensor v = dev.allocate(10); Tensor big = dev.allocate(100); Tensor ints = dev.allocate(DType.INT32, 2, 3)) {
            expect(IllegalArgumentException.class, "inner dimensions", () -> o.matmul(false, false, 1f, m23, m22, 0f, m23));
            expect(IllegalArgumentException.class, "c has shape", () -> o.matmul(false, false, 1f, m23, m33, 0f, m22));
            expect(IllegalArgumentException.class, "alpha", () -> o.matmul(false, false, Float.NaN, m23, m33, 0f, m23));
            expect(IllegalArgumentException.class, "beta", () -> o.matmul(false, false, 1f, m23, m33, Float.POSITIVE_INFINITY, m23));
            expect(IllegalArgumentException.class, "matrix", () -> o.matmul(false, false, 1f, v, m33, 0f, m23));
            expect(IllegalArgumentException.class, "overlap", () -> o.matmul(false, false, 1f, m33, m33, 0f, m33));
            expect(IllegalArgumentException.class, "overlap",
                    () -> o.matmul(false, false, 1f, big.view(0, 2, 3), big.view(6, 3, 3), 0f, big.view(14, 2, 3)));
            expect(IllegalArgumentException.class, "a is an int32 tensor", () -> o.matmul(false, false, 1f, ints, m33, 0f, m23));
            expect(IllegalArgumentException.class, "b is an int32 tensor", () -> o.matmul(false, true, 1f, m23, ints, 0f, m22));
            // batched: counts, leading dimensions, strides, extents, overlapping C matrices
            Tensor a = big.view(0, 30);
            Tensor b = big.view(30, 30);
            Tensor c = big.view(60, 40);
            expect(IllegalArgumentException.class, "batch", () -> o.matmulBatched(false, false, 0, 2, 2, 2, 1f, a, 2, 4, b, 2, 4, 0f, c, 2, 4));
            expect(IllegalArgumentException.class, "k", () -> o.matmulBatched(false, false, 1, 2, 2, 0, 1f, a, 2, 4, b, 2, 4, 0f, c, 2, 4));
            expect(IllegalArgumentException.class, "lda", () -> o.matmulBatched(false, false, 2, 2, 2, 3, 1f, a, 2, 6, b, 2, 6, 0f, c, 2, 4));
            expect(IllegalArgumentException.class, "ldc", () -> o.matmulBatched(false, false, 2, 2, 3, 2, 1f, a, 2, 4, b, 3, 6, 0f, c, 2, 6));
            expect(IllegalArgumentException.class, "strideB", () -> o.matmulBatched(false, false, 2, 2, 2, 2, 1f, a, 2, 4, b, 2, -1, 0f, c, 2, 4));
            expect(IllegalArgumentException.class, "reach element", () -> o.matmulBatched(false, false, 3, 3, 3, 3, 1f, a, 3, 12, b, 3, 0, 0f, c, 3, 9));
            expect(IllegalArgumentException.class, "strideC", () -> o.matmulBatched(false, false, 3, 2, 2, 2, 1f, a, 2, 4, b, 2, 4, 0f, c, 2, 2));
            expect(IllegalArgumentException.class, "overlap", () -> o.matmulBatched(false, false, 1, 2, 2, 2, 1f, a, 2, 4, big.view(28, 4), 2, 0, 0f, big.view(26, 4), 2, 0));
            expect(IllegalArgumentException.class, "c is an int32 tensor", () -> o.matmulBatched(false, false, 1, 2, 3, 2, 1f, a, 2, 0, b, 3, 0, 0f, ints, 3, 0));
            // level 1
            expect(IllegalArgumentException.class, "y", () -> o.axpy(1f, v, m23));
            expect(IllegalArgumentException.class, "alpha", () -> o.axpy(Float.NaN, v, big.view(0, 10)));
            expect(IllegalArgumentException.class, "overlap", () -> o.axpy(1f, big.view(0, 10), big.view(5, 10)));
            expect(IllegalArgumentException.class, "y is an int32 tensor", () -> o.axpy(1f, big.view(0, 6), ints));
            expect(IllegalArgumentException.class, "alpha", () -> o.scale(Float.NEGATIVE_INFINITY, v));
            expect(IllegalArgumentException.class, "x is an int32 tensor", () -> o.scale(2f, ints));
            expect(IllegalArgumentException.class, "x is an int32 tensor", () -> o.fill(ints, 1f));
            expect(IllegalArgumentException.class, "x", () -> o.fill(null, 1f));
            try (Tensor foreign = ref.allocate(2, 3)) {
                expect(IllegalArgumentException.class, "belongs to device", () -> o.matmul(false, false, 1f, m23, m33, 0f, foreign));
            }
        }
    }

    static void closed(Device ref, Device dev) {
        LinalgOps o = dev.linalg();
        Tensor a = dev.allocate(2, 2);
        Tensor b = dev.allocate(2, 2);
        Tensor c = dev.allocate(2, 2);
        c.close();
        expect(IllegalStateException.class, "closed", () -> o.matmul(false, false, 1f, a, b, 0f, c));
        expect(IllegalStateException.class, "closed", () -> o.axpy(1f, a, c));
        expect(IllegalStateException.class, "closed", () -> o.fill(c, 1f));
        dev.close();
        expect(IllegalStateException.class, "closed", () -> o.matmulBatched(false, false, 1, 2, 2, 2, 1f, a, 2, 0, b, 2, 0, 0f, a, 2, 0));
        expect(IllegalStateException.class, "closed", () -> o.scale(2f, a));
    }

    static void allocations(Device ref, Device dev) {
        try (Tensor a = dev.allocate(70, 90); Tensor b = dev.allocate(90, 80); Tensor c = dev.allocate(70, 80);
             Tensor x = dev.allocate(3000); Tensor y = dev.allocate(3000)) {
            assertNoAllocations(dev, "linalg ops", () -> {
                LinalgOps o = dev.linalg();
                o.matmul(false, false, 1f, a, b, 0f, c);
                o.matmul(true, true, 1f, a.view(0, 90, 70), b.view(0, 80, 90), 0.5f, c.view(0, 70, 80));
                o.matmulBatched(false, true, 4, 10, 20, 30, 1f, a, 90, 30, b, 30, 0, 1f, c, 80, 20);
                o.axpy(2f, x, y);
                o.scale(0.5f, y);
                o.fill(x, 1f);
            });
        }
    }
}
