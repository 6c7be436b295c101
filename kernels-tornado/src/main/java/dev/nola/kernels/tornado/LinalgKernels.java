package dev.nola.kernels.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The linalg op family as TornadoVM kernels: the sgemm contract for GPUs and other non-CPU devices
 * (one work-item per element of C, no cross-work-item reduction; CPU devices use {@link SgemmKernels}),
 * and the element-wise level-1 updates (axpy, scale, fill).
 * Transposes and the leading dimensions of A and B are strides, so one kernel serves all four cases.
 *
 * <p>sgemm parameters: {@code ip = {m, n, k, sa0, sa1, sb0, sb1, betaNonZero, batch, ldc, strideA,
 * strideB, strideC, offset of a, of b, of c}} with op(A)[i][p] = a[oa + z·strideA + i·sa0 + p·sa1],
 * op(B)[p][j] = b[ob + z·strideB + p·sb0 + j·sb1] and C[i][j] = c[oc + z·strideC + i·ldc + j] for
 * batch z; {@code fp = {alpha, beta}}. Level-1 parameters: {@code ip = {n, offsets}},
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
