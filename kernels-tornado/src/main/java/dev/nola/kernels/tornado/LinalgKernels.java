package dev.nola.kernels.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.vectors.Float8;

/**
 * The linalg op family as TornadoVM kernels: the sgemm contract (on CPU devices op(B) packed into
 * panels, then register blocks of C; elsewhere one work-item per element of C; no cross-work-item
 * reduction either way), and the element-wise level-1 updates (axpy, scale, fill).
 * Transposes and the leading dimensions of A and B are strides, so one kernel serves all four cases.
 *
 * <p>sgemm parameters: {@code ip = {m, n, k, sa0, sa1, sb0, sb1, betaNonZero, batch, ldc, strideA,
 * strideB, strideC, offset of a, of b, of c}} with op(A)[i][p] = a[oa + z·strideA + i·sa0 + p·sa1],
 * op(B)[p][j] = b[ob + z·strideB + p·sb0 + j·sb1] and C[i][j] = c[oc + z·strideC + i·ldc + j] for
 * batch z; {@code fp = {alpha, beta}}. The CPU sgemm adds the packed floats per batch
 * ({@link #P_PACKED}) before the offsets of a, b, the panels and c. Level-1 parameters: {@code ip = {n, offsets}},
 * {@code fp = {alpha or value}}.
 */
final class LinalgKernels {

    // the int parameter layout, shared by these kernels and TornadoLinalgOps
    static final int P_M = 0;
    static final int P_N = 1;
    static final int P_K = 2;
    static final int P_SA0 = 3;
    static final int P_SA1 = 4;
    static final int P_SB0 = 5;
    static final int P_SB1 = 6;
    static final int P_READ_C = 7;
    static final int P_BATCH = 8;
    static final int P_LDC = 9;
    static final int P_STRIDE_A = 10;
    static final int P_STRIDE_B = 11;
    static final int P_STRIDE_C = 12;
    /** sgemm parameters before the offsets of a, b, c. */
    static final int MATMUL_PARAMS = 13;
    /** Level-1 parameters: n, then the offsets. */
    static final int P_COUNT = 0;
    static final int LEVEL1_PARAMS = 1;

    private LinalgKernels() {
    }

    /** C = alpha·op(A)·op(B) + beta·C for every batch; C is not read when beta is 0. Global size batch·m·n. */
    static void matmul(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray a, FloatArray b, FloatArray c) {
        int idx = ctx.globalIdx;
        int m = ip.get(P_M);
        int n = ip.get(P_N);
        int mn = m * n;
        if (idx < ip.get(P_BATCH) * mn) {
            int k = ip.get(P_K);
            int sa0 = ip.get(P_SA0);
            int sa1 = ip.get(P_SA1);
            int sb0 = ip.get(P_SB0);
            int sb1 = ip.get(P_SB1);
            int z = idx / mn;
            int r = idx - z * mn;
            int i = r / n;
            int j = r - i * n;
            float acc = 0f;
            int ai = ip.get(MATMUL_PARAMS) + z * ip.get(P_STRIDE_A) + i * sa0;
            int bj = ip.get(MATMUL_PARAMS + 1) + z * ip.get(P_STRIDE_B) + j * sb1;
            for (int p = 0; p < k; p++) {
                acc = a.get(ai + p * sa1) * b.get(p * sb0 + bj) + acc;
            }
            int o = ip.get(MATMUL_PARAMS + 2) + z * ip.get(P_STRIDE_C) + i * ip.get(P_LDC) + j;
            float v = fp.get(0) * acc;
            if (ip.get(P_READ_C) != 0) {
                v = fp.get(1) * c.get(o) + v;
            }
            c.set(o, v);
        }
    }

    /** Columns of a packed panel of op(B). */
    static final int PANEL = 16;
    /** Rows of C per work-item of {@link #matmulPanel}. */
    static final int PANEL_ROWS = 6;
    /** Packed floats per batch in the CPU sgemm's parameters (ceil(n/16)·16·k). */
    static final int P_PACKED = 13;
    /** CPU sgemm parameters before the offsets of a, b, the packed panels and c. */
    static final int PANEL_PARAMS = 14;

    /**
     * The CPU sgemm's first task: op(B) of every batch packed into column panels of {@value #PANEL},
     * {@code packed[z·P + (q·k + p)·16 + j] = op(B)_z(p, 16q + j)}, zeros past n (P = ip[P_PACKED]), so
     * that {@link #matmulPanel} streams each panel in address order. One work-item per (z, q, p).
     * Global size batch·ceil(n/16)·k.
     */
    static void packPanels(KernelContext ctx, IntArray ip, FloatArray b, FloatArray packed) {
        int id = ctx.globalIdx;
        int n = ip.get(P_N);
        int k = ip.get(P_K);
        int perBatch = ((n + PANEL - 1) / PANEL) * k;
        if (id < ip.get(P_BATCH) * perBatch) {
            int z = id / perBatch;
            int r = id - z * perBatch;
            int q = r / k;
            int p = r - q * k;
            int sb1 = ip.get(P_SB1);
            int bp = ip.get(PANEL_PARAMS + 1) + z * ip.get(P_STRIDE_B) + p * ip.get(P_SB0);
            int dst = ip.get(PANEL_PARAMS + 2) + z * ip.get(P_PACKED) + r * PANEL;
            for (int j = 0; j < PANEL; j++) {
                int col = q * PANEL + j;
                float v = 0f;
                if (col < n) {
                    v = b.get(bp + col * sb1);
                }
                packed.set(dst + j, v);
            }
        }
    }

    /**
     * The CPU sgemm's second task: C = alpha·op(A)·op(B) + beta·C, each work-item a
     * {@value #PANEL_ROWS} x 16 block of C in twelve {@link Float8} accumulators (OpenCL {@code float8}
     * registers): per step p one row of the packed panel (two contiguous float8 loads) and six values
     * of op(A), twelve vector multiply-adds (a multiply and an add: {@code Float8} has no fma; within the
     * contract's tolerance). Row blocks vary fastest, so the work-items of a work-group share one panel
     * in cache. Rows past m read row m-1 and are not stored. Global size batch·ceil(n/16)·ceil(m/6).
     */
    static void matmulPanel(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray a, FloatArray packed, FloatArray c) {
        int id = ctx.globalIdx;
        int m = ip.get(P_M);
        int n = ip.get(P_N);
        int rowBlocks = (m + PANEL_ROWS - 1) / PANEL_ROWS;
        int perBatch = ((n + PANEL - 1) / PANEL) * rowBlocks;
        if (id < ip.get(P_BATCH) * perBatch) {
            int k = ip.get(P_K);
            int sa0 = ip.get(P_SA0);
            int sa1 = ip.get(P_SA1);
            int z = id / perBatch;
            int r = id - z * perBatch;
            int q = r / rowBlocks;
            int i0 = (r - q * rowBlocks) * PANEL_ROWS;
            int ao = ip.get(PANEL_PARAMS) + z * ip.get(P_STRIDE_A);
            int ra0 = ao + Math.min(i0, m - 1) * sa0;
            int ra1 = ao + Math.min(i0 + 1, m - 1) * sa0;
            int ra2 = ao + Math.min(i0 + 2, m - 1) * sa0;
            int ra3 = ao + Math.min(i0 + 3, m - 1) * sa0;
            int ra4 = ao + Math.min(i0 + 4, m - 1) * sa0;
            int ra5 = ao + Math.min(i0 + 5, m - 1) * sa0;
            int panel = ip.get(PANEL_PARAMS + 2) + z * ip.get(P_PACKED) + q * k * PANEL;
            Float8 lo0 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 lo1 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 lo2 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 lo3 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 lo4 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 lo5 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 hi0 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 hi1 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 hi2 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 hi3 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 hi4 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 hi5 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            for (int p = 0; p < k; p++) {
                int pb = panel + p * PANEL;
                Float8 b0 = new Float8(packed.get(pb), packed.get(pb + 1), packed.get(pb + 2), packed.get(pb + 3),
                        packed.get(pb + 4), packed.get(pb + 5), packed.get(pb + 6), packed.get(pb + 7));
                Float8 b1 = new Float8(packed.get(pb + 8), packed.get(pb + 9), packed.get(pb + 10), packed.get(pb + 11),
                        packed.get(pb + 12), packed.get(pb + 13), packed.get(pb + 14), packed.get(pb + 15));
                int pa = p * sa1;
                float x0 = a.get(ra0 + pa);
                float x1 = a.get(ra1 + pa);
                float x2 = a.get(ra2 + pa);
                float x3 = a.get(ra3 + pa);
                float x4 = a.get(ra4 + pa);
                float x5 = a.get(ra5 + pa);
                lo0 = Float8.add(lo0, Float8.mult(b0, x0));
                hi0 = Float8.add(hi0, Float8.mult(b1, x0));
                lo1 = Float8.add(lo1, Float8.mult(b0, x1));
                hi1 = Float8.add(hi1, Float8.mult(b1, x1));
                lo2 = Float8.add(lo2, Float8.mult(b0, x2));
                hi2 = Float8.add(hi2, Float8.mult(b1, x2));
                lo3 = Float8.add(lo3, Float8.mult(b0, x3));
                hi3 = Float8.add(hi3, Float8.mult(b1, x3));
                lo4 = Float8.add(lo4, Float8.mult(b0, x4));
                hi4 = Float8.add(hi4, Float8.mult(b1, x4));
                lo5 = Float8.add(lo5, Float8.mult(b0, x5));
                hi5 = Float8.add(hi5, Float8.mult(b1, x5));
            }
            float alpha = fp.get(0);
            float beta = fp.get(1);
            boolean readC = ip.get(P_READ_C) != 0;
            int co = ip.get(PANEL_PARAMS + 3) + z * ip.get(P_STRIDE_C);
            int ldc = ip.get(P_LDC);
            int j0 = q * PANEL;
            storeRow(c, lo0, co, ldc, i0, j0, m, n, alpha, beta, readC);
            storeRow(c, hi0, co, ldc, i0, j0 + 8, m, n, alpha, beta, readC);
            storeRow(c, lo1, co, ldc, i0 + 1, j0, m, n, alpha, beta, readC);
            storeRow(c, hi1, co, ldc, i0 + 1, j0 + 8, m, n, alpha, beta, readC);
            storeRow(c, lo2, co, ldc, i0 + 2, j0, m, n, alpha, beta, readC);
            storeRow(c, hi2, co, ldc, i0 + 2, j0 + 8, m, n, alpha, beta, readC);
            storeRow(c, lo3, co, ldc, i0 + 3, j0, m, n, alpha, beta, readC);
            storeRow(c, hi3, co, ldc, i0 + 3, j0 + 8, m, n, alpha, beta, readC);
            storeRow(c, lo4, co, ldc, i0 + 4, j0, m, n, alpha, beta, readC);
            storeRow(c, hi4, co, ldc, i0 + 4, j0 + 8, m, n, alpha, beta, readC);
            storeRow(c, lo5, co, ldc, i0 + 5, j0, m, n, alpha, beta, readC);
            storeRow(c, hi5, co, ldc, i0 + 5, j0 + 8, m, n, alpha, beta, readC);
        }
    }

    /** Writes alpha·v (+ beta·C) to C[row][j0..j0+7] (c[co + row·ldc + j]), skipping a row at or past m and columns at or past n. */
    private static void storeRow(FloatArray c, Float8 v, int co, int ldc, int row, int j0, int m, int n, float alpha,
                                 float beta, boolean readC) {
        if (row < m) {
            int o = co + row * ldc + j0;
            storeOne(c, o, j0 < n, alpha * v.getS0(), beta, readC);
            storeOne(c, o + 1, j0 + 1 < n, alpha * v.getS1(), beta, readC);
            storeOne(c, o + 2, j0 + 2 < n, alpha * v.getS2(), beta, readC);
            storeOne(c, o + 3, j0 + 3 < n, alpha * v.getS3(), beta, readC);
            storeOne(c, o + 4, j0 + 4 < n, alpha * v.getS4(), beta, readC);
            storeOne(c, o + 5, j0 + 5 < n, alpha * v.getS5(), beta, readC);
            storeOne(c, o + 6, j0 + 6 < n, alpha * v.getS6(), beta, readC);
            storeOne(c, o + 7, j0 + 7 < n, alpha * v.getS7(), beta, readC);
        }
    }

    private static void storeOne(FloatArray c, int o, boolean inside, float v, float beta, boolean readC) {
        if (inside) {
            float r = v;
            if (readC) {
                r = beta * c.get(o) + v;
            }
            c.set(o, r);
        }
    }

    /**
     * y[i] = alpha·x[i] + y[i] for i &lt; n ({@code ip[0]}), alpha in {@code fp[0]}; one work-item per
     * element (global size n). Named so as not to clash with an OpenCL built-in.
     */
    static void axpyElements(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray x, FloatArray y) {
        int i = ctx.globalIdx;
        if (i < ip.get(P_COUNT)) {
            int yi = ip.get(LEVEL1_PARAMS + 1) + i;
            y.set(yi, fp.get(0) * x.get(ip.get(LEVEL1_PARAMS) + i) + y.get(yi));
        }
    }

    /** x[i] = alpha·x[i] for i &lt; n ({@code ip[0]}), alpha in {@code fp[0]}; one work-item per element. */
    static void scaleElements(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray x) {
        int i = ctx.globalIdx;
        if (i < ip.get(P_COUNT)) {
            int xi = ip.get(LEVEL1_PARAMS) + i;
            x.set(xi, fp.get(0) * x.get(xi));
        }
    }

    /** x[i] = value for i &lt; n ({@code ip[0]}), value (any float, NaN included) in {@code fp[0]}; one work-item per element. */
    /** y[i] = x[i] for i &lt; n ({@code ip[0]}): a device-side copy (recorded in a capture); one work-item per element. */
    static void copyElements(KernelContext ctx, IntArray ip, FloatArray x, FloatArray y) {
        int i = ctx.globalIdx;
        if (i < ip.get(P_COUNT)) {
            y.set(ip.get(LEVEL1_PARAMS + 1) + i, x.get(ip.get(LEVEL1_PARAMS) + i));
        }
    }

    static void fillElements(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray x) {
        int i = ctx.globalIdx;
        if (i < ip.get(P_COUNT)) {
            x.set(ip.get(LEVEL1_PARAMS) + i, fp.get(0));
        }
    }
}
