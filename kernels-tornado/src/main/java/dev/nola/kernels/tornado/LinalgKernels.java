package dev.nola.kernels.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.vectors.Float8;

/**
 * The linalg op family as TornadoVM kernels: the sgemm contract, one work-item per element of C
 * (no cross-work-item reduction), and the element-wise level-1 updates (axpy, scale, fill).
 * Transposes and the leading dimensions of A and B are strides, so one kernel serves all four cases.
 *
 * <p>sgemm parameters: {@code ip = {m, n, k, sa0, sa1, sb0, sb1, betaNonZero}} with
 * op(A)[i][p] = a[i·sa0 + p·sa1] and op(B)[p][j] = b[p·sb0 + j·sb1]; {@code fp = {alpha, beta}}.
 * C is dense ([m, n], row stride n). Level-1 parameters: {@code ip = {n}}, {@code fp = {alpha or value}}.
 */
final class LinalgKernels {

    static final int P_SIZE = 8;

    private LinalgKernels() {
    }

    /** C = alpha·op(A)·op(B) + beta·C; C is not read when beta is 0. Global size m·n. */
    static void matmul(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray a, FloatArray b, FloatArray c) {
        int idx = ctx.globalIdx;
        int m = ip.get(0);
        int n = ip.get(1);
        if (idx < m * n) {
            int k = ip.get(2);
            int sa0 = ip.get(3);
            int sa1 = ip.get(4);
            int sb0 = ip.get(5);
            int sb1 = ip.get(6);
            int i = idx / n;
            int j = idx - i * n;
            float acc = 0f;
            int ai = i * sa0;
            int bj = j * sb1;
            for (int p = 0; p < k; p++) {
                acc = a.get(ai + p * sa1) * b.get(p * sb0 + bj) + acc;
            }
            float v = fp.get(0) * acc;
            if (ip.get(7) != 0) {
                v = fp.get(1) * c.get(idx) + v;
            }
            c.set(idx, v);
        }
    }

    /** Rows of C per work-item in {@link #matmulBlock}. */
    static final int BLOCK_M = 8;
    /** Columns of C per work-item in {@link #matmulBlock}. */
    static final int BLOCK_N = 8;

    /**
     * C = alpha·op(A)·op(B) + beta·C, each work-item a BLOCK_M x 8 block of C held in BLOCK_M
     * {@link Float8} accumulators (OpenCL {@code float8}, one vector register each): per step p it
     * loads BLOCK_M values of op(A) and one row segment of op(B) and does BLOCK_M vector multiply-adds.
     * Row blocks vary fastest between neighbouring work-items, so the column panel of B a run of them
     * walks stays in cache. Edge blocks clamp their loads to the last row/column and skip the stores
     * outside C. Global size ceil(m/BLOCK_M)·ceil(n/8).
     */
    static void matmulBlock(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray a, FloatArray b, FloatArray c) {
        int id = ctx.globalIdx;
        int m = ip.get(0);
        int n = ip.get(1);
        int mb = (m + BLOCK_M - 1) / BLOCK_M;
        int nb = (n + BLOCK_N - 1) / BLOCK_N;
        if (id < mb * nb) {
            int k = ip.get(2);
            int sa0 = ip.get(3);
            int sa1 = ip.get(4);
            int sb0 = ip.get(5);
            int sb1 = ip.get(6);
            int bj = id / mb;
            int i0 = (id - bj * mb) * BLOCK_M;
            int j0 = bj * BLOCK_N;
            int ra0 = Math.min(i0 + 0, m - 1) * sa0;
            int ra1 = Math.min(i0 + 1, m - 1) * sa0;
            int ra2 = Math.min(i0 + 2, m - 1) * sa0;
            int ra3 = Math.min(i0 + 3, m - 1) * sa0;
            int ra4 = Math.min(i0 + 4, m - 1) * sa0;
            int ra5 = Math.min(i0 + 5, m - 1) * sa0;
            int ra6 = Math.min(i0 + 6, m - 1) * sa0;
            int ra7 = Math.min(i0 + 7, m - 1) * sa0;
            int cb0 = Math.min(j0 + 0, n - 1) * sb1;
            int cb1 = Math.min(j0 + 1, n - 1) * sb1;
            int cb2 = Math.min(j0 + 2, n - 1) * sb1;
            int cb3 = Math.min(j0 + 3, n - 1) * sb1;
            int cb4 = Math.min(j0 + 4, n - 1) * sb1;
            int cb5 = Math.min(j0 + 5, n - 1) * sb1;
            int cb6 = Math.min(j0 + 6, n - 1) * sb1;
            int cb7 = Math.min(j0 + 7, n - 1) * sb1;
            Float8 c0 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 c1 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 c2 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 c3 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 c4 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 c5 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 c6 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 c7 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            for (int p = 0; p < k; p++) {
                int pa = p * sa1;
                int pb = p * sb0;
                Float8 bv = new Float8(b.get(pb + cb0), b.get(pb + cb1), b.get(pb + cb2), b.get(pb + cb3), b.get(pb + cb4), b.get(pb + cb5), b.get(pb + cb6), b.get(pb + cb7));
                c0 = Float8.add(c0, Float8.mult(bv, a.get(ra0 + pa)));
                c1 = Float8.add(c1, Float8.mult(bv, a.get(ra1 + pa)));
                c2 = Float8.add(c2, Float8.mult(bv, a.get(ra2 + pa)));
                c3 = Float8.add(c3, Float8.mult(bv, a.get(ra3 + pa)));
                c4 = Float8.add(c4, Float8.mult(bv, a.get(ra4 + pa)));
                c5 = Float8.add(c5, Float8.mult(bv, a.get(ra5 + pa)));
                c6 = Float8.add(c6, Float8.mult(bv, a.get(ra6 + pa)));
                c7 = Float8.add(c7, Float8.mult(bv, a.get(ra7 + pa)));
            }
            float alpha = fp.get(0);
            float beta = fp.get(1);
            boolean readC = ip.get(7) != 0;
            storeRow(c, c0, i0 + 0, j0, m, n, alpha, beta, readC);
            storeRow(c, c1, i0 + 1, j0, m, n, alpha, beta, readC);
            storeRow(c, c2, i0 + 2, j0, m, n, alpha, beta, readC);
            storeRow(c, c3, i0 + 3, j0, m, n, alpha, beta, readC);
            storeRow(c, c4, i0 + 4, j0, m, n, alpha, beta, readC);
            storeRow(c, c5, i0 + 5, j0, m, n, alpha, beta, readC);
            storeRow(c, c6, i0 + 6, j0, m, n, alpha, beta, readC);
            storeRow(c, c7, i0 + 7, j0, m, n, alpha, beta, readC);
        }
    }

    /** Writes alpha·v (+ beta·C) to C[row][j0..j0+7], skipping a row at or past m and columns at or past n. */
    private static void storeRow(FloatArray c, Float8 v, int row, int j0, int m, int n, float alpha, float beta,
                                 boolean readC) {
        if (row < m) {
            int o = row * n + j0;
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
        if (i < ip.get(0)) {
            y.set(i, fp.get(0) * x.get(i) + y.get(i));
        }
    }

    /** x[i] = alpha·x[i] for i &lt; n ({@code ip[0]}), alpha in {@code fp[0]}; one work-item per element. */
    static void scaleElements(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray x) {
        int i = ctx.globalIdx;
        if (i < ip.get(0)) {
            x.set(i, fp.get(0) * x.get(i));
        }
    }

    /** x[i] = value for i &lt; n ({@code ip[0]}), value (any float, NaN included) in {@code fp[0]}; one work-item per element. */
    static void fillElements(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray x) {
        int i = ctx.globalIdx;
        if (i < ip.get(0)) {
            x.set(i, fp.get(0));
        }
    }
}
