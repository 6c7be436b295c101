package dev.nola.kernels.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The linalg op family as TornadoVM kernels: the sgemm contract, one work-item per element of C
 * (no cross-work-item reduction). Transposes are strides, so one kernel serves all four cases.
 *
 * <p>Parameters: {@code ip = {m, n, k, sa0, sa1, sb0, sb1, betaNonZero}} with
 * op(A)[i][p] = a[i·sa0 + p·sa1] and op(B)[p][j] = b[p·sb0 + j·sb1]; {@code fp = {alpha, beta}}.
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
}
