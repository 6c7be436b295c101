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
 * <p>sgemm parameters: {@code ip = {m, n, k, sa0, sa1, sb0, sb1, betaNonZero, batch, ldc, strideA,
 * strideB, strideC, offset of a, of b, of c}} with op(A)[i][p] = a[oa + z·strideA + i·sa0 + p·sa1],
 * op(B)[p][j] = b[ob + z·strideB + p·sb0 + j·sb1] and C[i][j] = c[oc + z·strideC + i·ldc + j] for
 * batch z; {@code fp = {alpha, beta}}. Level-1 parameters: {@code ip = {n, offsets}},
 * {@code fp = {alpha or value}}.
 */
final class LinalgKernels {

    static final int P_READ_C = 7;
    static final int P_BATCH = 8;
    static final int P_LDC = 9;
    static final int P_STRIDE_A = 10;
    static final int P_STRIDE_B = 11;
    static final int P_STRIDE_C = 12;
    /** sgemm parameters before the offsets of a, b, c. */
    static final int MATMUL_PARAMS = 13;
    /** Level-1 parameters (n) before the offsets. */
    static final int LEVEL1_PARAMS = 1;

    private LinalgKernels() {
    }

    /** C = alpha·op(A)·op(B) + beta·C for every batch; C is not read when beta is 0. Global size batch·m·n. */
    static void matmul(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray a, FloatArray b, FloatArray c) {
        int idx = ctx.globalIdx;
        int m = ip.get(0);
        int n = ip.get(1);
        int mn = m * n;
        if (idx < ip.get(P_BATCH) * mn) {
            int k = ip.get(2);
            int sa0 = ip.get(3);
            int sa1 = ip.get(4);
            int sb0 = ip.get(5);
            int sb1 = ip.get(6);
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
     * outside C. Global size batch·ceil(m/BLOCK_M)·ceil(n/8).
     */
    static void matmulBlock(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray a, FloatArray b, FloatArray c) {
        int id = ctx.globalIdx;
        int m = ip.get(0);
        int n = ip.get(1);
        int mb = (m + BLOCK_M - 1) / BLOCK_M;
        int nb = (n + BLOCK_N - 1) / BLOCK_N;
        if (id < ip.get(P_BATCH) * mb * nb) {
            int k = ip.get(2);
            int sa0 = ip.get(3);
            int sa1 = ip.get(4);
            int sb0 = ip.get(5);
            int sb1 = ip.get(6);
            int z = id / (mb * nb);
            int rest = id - z * mb * nb;
            int bj = rest / mb;
            int i0 = (rest - bj * mb) * BLOCK_M;
            int j0 = bj * BLOCK_N;
            int ao = ip.get(MATMUL_PARAMS) + z * ip.get(P_STRIDE_A);
            int bo = ip.get(MATMUL_PARAMS + 1) + z * ip.get(P_STRIDE_B);
            int ra0 = ao + Math.min(i0 + 0, m - 1) * sa0;
            int ra1 = ao + Math.min(i0 + 1, m - 1) * sa0;
            int ra2 = ao + Math.min(i0 + 2, m - 1) * sa0;
            int ra3 = ao + Math.min(i0 + 3, m - 1) * sa0;
            int ra4 = ao + Math.min(i0 + 4, m - 1) * sa0;
            int ra5 = ao + Math.min(i0 + 5, m - 1) * sa0;
            int ra6 = ao + Math.min(i0 + 6, m - 1) * sa0;
            int ra7 = ao + Math.min(i0 + 7, m - 1) * sa0;
            int cb0 = bo + Math.min(j0 + 0, n - 1) * sb1;
            int cb1 = bo + Math.min(j0 + 1, n - 1) * sb1;
            int cb2 = bo + Math.min(j0 + 2, n - 1) * sb1;
            int cb3 = bo + Math.min(j0 + 3, n - 1) * sb1;
            int cb4 = bo + Math.min(j0 + 4, n - 1) * sb1;
            int cb5 = bo + Math.min(j0 + 5, n - 1) * sb1;
            int cb6 = bo + Math.min(j0 + 6, n - 1) * sb1;
            int cb7 = bo + Math.min(j0 + 7, n - 1) * sb1;
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
            boolean readC = ip.get(P_READ_C) != 0;
            int co = ip.get(MATMUL_PARAMS + 2) + z * ip.get(P_STRIDE_C);
            int ldc = ip.get(P_LDC);
            storeRow(c, c0, co, ldc, i0 + 0, j0, m, n, alpha, beta, readC);
            storeRow(c, c1, co, ldc, i0 + 1, j0, m, n, alpha, beta, readC);
            storeRow(c, c2, co, ldc, i0 + 2, j0, m, n, alpha, beta, readC);
            storeRow(c, c3, co, ldc, i0 + 3, j0, m, n, alpha, beta, readC);
            storeRow(c, c4, co, ldc, i0 + 4, j0, m, n, alpha, beta, readC);
            storeRow(c, c5, co, ldc, i0 + 5, j0, m, n, alpha, beta, readC);
            storeRow(c, c6, co, ldc, i0 + 6, j0, m, n, alpha, beta, readC);
            storeRow(c, c7, co, ldc, i0 + 7, j0, m, n, alpha, beta, readC);
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
        if (i < ip.get(0)) {
            int yi = ip.get(2) + i;
            y.set(yi, fp.get(0) * x.get(ip.get(1) + i) + y.get(yi));
        }
    }

    /** x[i] = alpha·x[i] for i &lt; n ({@code ip[0]}), alpha in {@code fp[0]}; one work-item per element. */
    static void scaleElements(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray x) {
        int i = ctx.globalIdx;
        if (i < ip.get(0)) {
            int xi = ip.get(1) + i;
            x.set(xi, fp.get(0) * x.get(xi));
        }
    }

    /** x[i] = value for i &lt; n ({@code ip[0]}), value (any float, NaN included) in {@code fp[0]}; one work-item per element. */
    static void fillElements(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray x) {
        int i = ctx.globalIdx;
        if (i < ip.get(0)) {
            x.set(ip.get(1) + i, fp.get(0));
        }
    }
}
