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

    /** Rows of C per work-item in {@link #matmulBlock}. */
    static final int BLOCK_M = 4;
    /** Columns of C per work-item in {@link #matmulBlock}. */
    static final int BLOCK_N = 8;

    /**
     * C = alpha·op(A)·op(B) + beta·C, each work-item a BLOCK_M x BLOCK_N block of C held in 32
     * accumulators: per step p it loads BLOCK_M values of op(A) and BLOCK_N of op(B) and does 32
     * multiply-adds. Row blocks vary fastest between neighbouring work-items, so the column panel of B
     * a run of them walks stays in cache. Edge blocks clamp their loads to the last row/column and
     * skip the stores outside C. Global size ceil(m/BLOCK_M)·ceil(n/BLOCK_N).
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
            int cb0 = Math.min(j0 + 0, n - 1) * sb1;
            int cb1 = Math.min(j0 + 1, n - 1) * sb1;
            int cb2 = Math.min(j0 + 2, n - 1) * sb1;
            int cb3 = Math.min(j0 + 3, n - 1) * sb1;
            int cb4 = Math.min(j0 + 4, n - 1) * sb1;
            int cb5 = Math.min(j0 + 5, n - 1) * sb1;
            int cb6 = Math.min(j0 + 6, n - 1) * sb1;
            int cb7 = Math.min(j0 + 7, n - 1) * sb1;
            float c00 = 0f;
            float c01 = 0f;
            float c02 = 0f;
            float c03 = 0f;
            float c04 = 0f;
            float c05 = 0f;
            float c06 = 0f;
            float c07 = 0f;
            float c10 = 0f;
            float c11 = 0f;
            float c12 = 0f;
            float c13 = 0f;
            float c14 = 0f;
            float c15 = 0f;
            float c16 = 0f;
            float c17 = 0f;
            float c20 = 0f;
            float c21 = 0f;
            float c22 = 0f;
            float c23 = 0f;
            float c24 = 0f;
            float c25 = 0f;
            float c26 = 0f;
            float c27 = 0f;
            float c30 = 0f;
            float c31 = 0f;
            float c32 = 0f;
            float c33 = 0f;
            float c34 = 0f;
            float c35 = 0f;
            float c36 = 0f;
            float c37 = 0f;
            for (int p = 0; p < k; p++) {
                int pa = p * sa1;
                int pb = p * sb0;
                float a0 = a.get(ra0 + pa);
                float a1 = a.get(ra1 + pa);
                float a2 = a.get(ra2 + pa);
                float a3 = a.get(ra3 + pa);
                float b0 = b.get(pb + cb0);
                float b1 = b.get(pb + cb1);
                float b2 = b.get(pb + cb2);
                float b3 = b.get(pb + cb3);
                float b4 = b.get(pb + cb4);
                float b5 = b.get(pb + cb5);
                float b6 = b.get(pb + cb6);
                float b7 = b.get(pb + cb7);
                c00 = a0 * b0 + c00;
                c01 = a0 * b1 + c01;
                c02 = a0 * b2 + c02;
                c03 = a0 * b3 + c03;
                c04 = a0 * b4 + c04;
                c05 = a0 * b5 + c05;
                c06 = a0 * b6 + c06;
                c07 = a0 * b7 + c07;
                c10 = a1 * b0 + c10;
                c11 = a1 * b1 + c11;
                c12 = a1 * b2 + c12;
                c13 = a1 * b3 + c13;
                c14 = a1 * b4 + c14;
                c15 = a1 * b5 + c15;
                c16 = a1 * b6 + c16;
                c17 = a1 * b7 + c17;
                c20 = a2 * b0 + c20;
                c21 = a2 * b1 + c21;
                c22 = a2 * b2 + c22;
                c23 = a2 * b3 + c23;
                c24 = a2 * b4 + c24;
                c25 = a2 * b5 + c25;
                c26 = a2 * b6 + c26;
                c27 = a2 * b7 + c27;
                c30 = a3 * b0 + c30;
                c31 = a3 * b1 + c31;
                c32 = a3 * b2 + c32;
                c33 = a3 * b3 + c33;
                c34 = a3 * b4 + c34;
                c35 = a3 * b5 + c35;
                c36 = a3 * b6 + c36;
                c37 = a3 * b7 + c37;
            }
            float alpha = fp.get(0);
            float beta = fp.get(1);
            boolean readC = ip.get(7) != 0;
            if (i0 + 0 < m) {
                int row = (i0 + 0) * n + j0;
                if (j0 + 0 < n) {
                    float v = alpha * c00;
                    if (readC) {
                        v = beta * c.get(row + 0) + v;
                    }
                    c.set(row + 0, v);
                }
                if (j0 + 1 < n) {
                    float v = alpha * c01;
                    if (readC) {
                        v = beta * c.get(row + 1) + v;
                    }
                    c.set(row + 1, v);
                }
                if (j0 + 2 < n) {
                    float v = alpha * c02;
                    if (readC) {
                        v = beta * c.get(row + 2) + v;
                    }
                    c.set(row + 2, v);
                }
                if (j0 + 3 < n) {
                    float v = alpha * c03;
                    if (readC) {
                        v = beta * c.get(row + 3) + v;
                    }
                    c.set(row + 3, v);
                }
                if (j0 + 4 < n) {
                    float v = alpha * c04;
                    if (readC) {
                        v = beta * c.get(row + 4) + v;
                    }
                    c.set(row + 4, v);
                }
                if (j0 + 5 < n) {
                    float v = alpha * c05;
                    if (readC) {
                        v = beta * c.get(row + 5) + v;
                    }
                    c.set(row + 5, v);
                }
                if (j0 + 6 < n) {
                    float v = alpha * c06;
                    if (readC) {
                        v = beta * c.get(row + 6) + v;
                    }
                    c.set(row + 6, v);
                }
                if (j0 + 7 < n) {
                    float v = alpha * c07;
                    if (readC) {
                        v = beta * c.get(row + 7) + v;
                    }
                    c.set(row + 7, v);
                }
            }
            if (i0 + 1 < m) {
                int row = (i0 + 1) * n + j0;
                if (j0 + 0 < n) {
                    float v = alpha * c10;
                    if (readC) {
                        v = beta * c.get(row + 0) + v;
                    }
                    c.set(row + 0, v);
                }
                if (j0 + 1 < n) {
                    float v = alpha * c11;
                    if (readC) {
                        v = beta * c.get(row + 1) + v;
                    }
                    c.set(row + 1, v);
                }
                if (j0 + 2 < n) {
                    float v = alpha * c12;
                    if (readC) {
                        v = beta * c.get(row + 2) + v;
                    }
                    c.set(row + 2, v);
                }
                if (j0 + 3 < n) {
                    float v = alpha * c13;
                    if (readC) {
                        v = beta * c.get(row + 3) + v;
                    }
                    c.set(row + 3, v);
                }
                if (j0 + 4 < n) {
                    float v = alpha * c14;
                    if (readC) {
                        v = beta * c.get(row + 4) + v;
                    }
                    c.set(row + 4, v);
                }
                if (j0 + 5 < n) {
                    float v = alpha * c15;
                    if (readC) {
                        v = beta * c.get(row + 5) + v;
                    }
                    c.set(row + 5, v);
                }
                if (j0 + 6 < n) {
                    float v = alpha * c16;
                    if (readC) {
                        v = beta * c.get(row + 6) + v;
                    }
                    c.set(row + 6, v);
                }
                if (j0 + 7 < n) {
                    float v = alpha * c17;
                    if (readC) {
                        v = beta * c.get(row + 7) + v;
                    }
                    c.set(row + 7, v);
                }
            }
            if (i0 + 2 < m) {
                int row = (i0 + 2) * n + j0;
                if (j0 + 0 < n) {
                    float v = alpha * c20;
                    if (readC) {
                        v = beta * c.get(row + 0) + v;
                    }
                    c.set(row + 0, v);
                }
                if (j0 + 1 < n) {
                    float v = alpha * c21;
                    if (readC) {
                        v = beta * c.get(row + 1) + v;
                    }
                    c.set(row + 1, v);
                }
                if (j0 + 2 < n) {
                    float v = alpha * c22;
                    if (readC) {
                        v = beta * c.get(row + 2) + v;
                    }
                    c.set(row + 2, v);
                }
                if (j0 + 3 < n) {
                    float v = alpha * c23;
                    if (readC) {
                        v = beta * c.get(row + 3) + v;
                    }
                    c.set(row + 3, v);
                }
                if (j0 + 4 < n) {
                    float v = alpha * c24;
                    if (readC) {
                        v = beta * c.get(row + 4) + v;
                    }
                    c.set(row + 4, v);
                }
                if (j0 + 5 < n) {
                    float v = alpha * c25;
                    if (readC) {
                        v = beta * c.get(row + 5) + v;
                    }
                    c.set(row + 5, v);
                }
                if (j0 + 6 < n) {
                    float v = alpha * c26;
                    if (readC) {
                        v = beta * c.get(row + 6) + v;
                    }
                    c.set(row + 6, v);
                }
                if (j0 + 7 < n) {
                    float v = alpha * c27;
                    if (readC) {
                        v = beta * c.get(row + 7) + v;
                    }
                    c.set(row + 7, v);
                }
            }
            if (i0 + 3 < m) {
                int row = (i0 + 3) * n + j0;
                if (j0 + 0 < n) {
                    float v = alpha * c30;
                    if (readC) {
                        v = beta * c.get(row + 0) + v;
                    }
                    c.set(row + 0, v);
                }
                if (j0 + 1 < n) {
                    float v = alpha * c31;
                    if (readC) {
                        v = beta * c.get(row + 1) + v;
                    }
                    c.set(row + 1, v);
                }
                if (j0 + 2 < n) {
                    float v = alpha * c32;
                    if (readC) {
                        v = beta * c.get(row + 2) + v;
                    }
                    c.set(row + 2, v);
                }
                if (j0 + 3 < n) {
                    float v = alpha * c33;
                    if (readC) {
                        v = beta * c.get(row + 3) + v;
                    }
                    c.set(row + 3, v);
                }
                if (j0 + 4 < n) {
                    float v = alpha * c34;
                    if (readC) {
                        v = beta * c.get(row + 4) + v;
                    }
                    c.set(row + 4, v);
                }
                if (j0 + 5 < n) {
                    float v = alpha * c35;
                    if (readC) {
                        v = beta * c.get(row + 5) + v;
                    }
                    c.set(row + 5, v);
                }
                if (j0 + 6 < n) {
                    float v = alpha * c36;
                    if (readC) {
                        v = beta * c.get(row + 6) + v;
                    }
                    c.set(row + 6, v);
                }
                if (j0 + 7 < n) {
                    float v = alpha * c37;
                    if (readC) {
                        v = beta * c.get(row + 7) + v;
                    }
                    c.set(row + 7, v);
                }
            }
        }
    }
}
