package dev.nola.kernels.tornado;

import static dev.nola.kernels.tornado.RandomKernels.P_COUNT;
import static dev.nola.kernels.tornado.RandomKernels.P_DOMAIN;
import static dev.nola.kernels.tornado.RandomKernels.P_K0;
import static dev.nola.kernels.tornado.RandomKernels.P_K1;
import static dev.nola.kernels.tornado.RandomKernels.P_N;
import static dev.nola.kernels.tornado.RandomKernels.P_STREAM;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The nola op family as TornadoVM kernels: mix, fused generate-and-mix, coefficient gradients.
 *
 * <p>Mixing keeps the contract's order and rounding: each work-item owns output elements and runs
 * i = 0..k-1 in ascending order, {@code acc = c[i] * b + acc}. TornadoVM's compiler turns that
 * multiply-add into one OpenCL {@code fma(c[i], b, acc)} (its default FMA fusion), which is exactly
 * the contract's {@code Math.fma}; {@code Math.fma} itself is not accepted by TornadoVM 5.2's
 * OpenCL backend. The plans compile with {@code -cl-std=CL1.2} only (no {@code -cl-fast-relaxed-math}
 * or {@code -cl-mad-enable}, TornadoVM's defaults), so the device compiler may not reassociate or
 * replace the fma by a less precise mad. The contract tests check the bits.
 *
 * <p>The generated variants compute one Philox block per (4 elements, matrix) and round the basis
 * element ({@code u·scale}) before the fma, as basis-then-mix does. Gradients give each work-item one
 * whole dot product (no cross-work-item reduction: TornadoVM's reductions are unreliable on PoCL).
 *
 * <p>Parameters: mix {@code ip = {k, n}}; generated kernels use {@link RandomKernels}' layout
 * (k in {@code P_COUNT}); gradients {@code ip = {k, n}}.
 */
final class NolaKernels {

    private NolaKernels() {
    }

    /** out[e] = Σ c[i]·basis[i·n+e] from 0 (not named mix: that is an OpenCL built-in). Global size n. */
    static void mixFromZero(KernelContext ctx, IntArray ip, FloatArray c, FloatArray basis, FloatArray out) {
        int e = ctx.globalIdx;
        int k = ip.get(0);
        int n = ip.get(1);
        if (e < n) {
            float acc = 0f;
            for (int i = 0; i < k; i++) {
                acc = c.get(i) * basis.get(i * n + e) + acc;
            }
            out.set(e, acc);
        }
    }

    /** out[e] = offset[e] + Σ c[i]·basis[i·n+e]. Global size n. */
    static void mixOffset(KernelContext ctx, IntArray ip, FloatArray c, FloatArray basis, FloatArray offset, FloatArray out) {
        int e = ctx.globalIdx;
        int k = ip.get(0);
        int n = ip.get(1);
        if (e < n) {
            float acc = offset.get(e);
            for (int i = 0; i < k; i++) {
                acc = c.get(i) * basis.get(i * n + e) + acc;
            }
            out.set(e, acc);
        }
    }

    /** out[e] += Σ c[i]·basis[i·n+e] (offset is out). Global size n. */
    static void mixInPlace(KernelContext ctx, IntArray ip, FloatArray c, FloatArray basis, FloatArray out) {
        int e = ctx.globalIdx;
        int k = ip.get(0);
        int n = ip.get(1);
        if (e < n) {
            float acc = out.get(e);
            for (int i = 0; i < k; i++) {
                acc = c.get(i) * basis.get(i * n + e) + acc;
            }
            out.set(e, acc);
        }
    }

    /** Fused generate-and-mix from 0. Global size ceil(n/4). */
    static void mixGenerated(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray c, FloatArray out) {
        int q = ctx.globalIdx;
        int k = ip.get(P_COUNT);
        int n = ip.get(P_N);
        int e = 4 * q;
        if (e < n) {
            float scale = fp.get(0);
            float a0 = 0f;
            float a1 = 0f;
            float a2 = 0f;
            float a3 = 0f;
            if (e + 1 < n) {
                a1 = 0f;
            }
            if (e + 2 < n) {
                a2 = 0f;
            }
            if (e + 3 < n) {
                a3 = 0f;
            }
            for (int i = 0; i < k; i++) {
                int c0 = q;
                int c1 = i;
                int c2 = ip.get(P_STREAM);
                int c3 = ip.get(P_DOMAIN);
                int k0 = ip.get(P_K0);
                int k1 = ip.get(P_K1);
                for (int round = 0; round < 10; round++) {
                    long p0 = 0xD2511F53L * (((long) c0) & 0xFFFFFFFFL);
                    long p1 = 0xCD9E8D57L * (((long) c2) & 0xFFFFFFFFL);
                    int hi0 = (int) (p0 >> 32);
                    int lo0 = (int) p0;
                    int hi1 = (int) (p1 >> 32);
                    int lo1 = (int) p1;
                    c0 = hi1 ^ c1 ^ k0;
                    c1 = lo1;
                    c2 = hi0 ^ c3 ^ k1;
                    c3 = lo0;
                    k0 += 0x9E3779B9;
                    k1 += 0xBB67AE85;
                }
                float ci = c.get(i);
                // the basis element is rounded (u·scale) before the fused multiply-add, as in basis-then-mix
                a0 = ci * (RandomKernels.uniform(c0) * scale) + a0;
                a1 = ci * (RandomKernels.uniform(c1) * scale) + a1;
                a2 = ci * (RandomKernels.uniform(c2) * scale) + a2;
                a3 = ci * (RandomKernels.uniform(c3) * scale) + a3;
            }
            out.set(e, a0);
            if (e + 1 < n) {
                out.set(e + 1, a1);
            }
            if (e + 2 < n) {
                out.set(e + 2, a2);
            }
            if (e + 3 < n) {
                out.set(e + 3, a3);
            }
        }
    }

    /** Fused generate-and-mix onto a separate offset. Global size ceil(n/4). */
    static void mixGeneratedOffset(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray c, FloatArray offset,
                                   FloatArray out) {
        int q = ctx.globalIdx;
        int k = ip.get(P_COUNT);
        int n = ip.get(P_N);
        int e = 4 * q;
        if (e < n) {
            float scale = fp.get(0);
            float a0 = offset.get(e);
            float a1 = 0f;
            float a2 = 0f;
            float a3 = 0f;
            if (e + 1 < n) {
                a1 = offset.get(e + 1);
            }
            if (e + 2 < n) {
                a2 = offset.get(e + 2);
            }
            if (e + 3 < n) {
                a3 = offset.get(e + 3);
            }
            for (int i = 0; i < k; i++) {
                int c0 = q;
                int c1 = i;
                int c2 = ip.get(P_STREAM);
                int c3 = ip.get(P_DOMAIN);
                int k0 = ip.get(P_K0);
                int k1 = ip.get(P_K1);
                for (int round = 0; round < 10; round++) {
                    long p0 = 0xD2511F53L * (((long) c0) & 0xFFFFFFFFL);
                    long p1 = 0xCD9E8D57L * (((long) c2) & 0xFFFFFFFFL);
                    int hi0 = (int) (p0 >> 32);
                    int lo0 = (int) p0;
                    int hi1 = (int) (p1 >> 32);
                    int lo1 = (int) p1;
                    c0 = hi1 ^ c1 ^ k0;
                    c1 = lo1;
                    c2 = hi0 ^ c3 ^ k1;
                    c3 = lo0;
                    k0 += 0x9E3779B9;
                    k1 += 0xBB67AE85;
                }
                float ci = c.get(i);
                // the basis element is rounded (u·scale) before the fused multiply-add, as in basis-then-mix
                a0 = ci * (RandomKernels.uniform(c0) * scale) + a0;
                a1 = ci * (RandomKernels.uniform(c1) * scale) + a1;
                a2 = ci * (RandomKernels.uniform(c2) * scale) + a2;
                a3 = ci * (RandomKernels.uniform(c3) * scale) + a3;
            }
            out.set(e, a0);
            if (e + 1 < n) {
                out.set(e + 1, a1);
            }
            if (e + 2 < n) {
                out.set(e + 2, a2);
            }
            if (e + 3 < n) {
                out.set(e + 3, a3);
            }
        }
    }

    /** Fused generate-and-mix onto out itself. Global size ceil(n/4). */
    static void mixGeneratedInPlace(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray c, FloatArray out) {
        int q = ctx.globalIdx;
        int k = ip.get(P_COUNT);
        int n = ip.get(P_N);
        int e = 4 * q;
        if (e < n) {
            float scale = fp.get(0);
            float a0 = out.get(e);
            float a1 = 0f;
            float a2 = 0f;
            float a3 = 0f;
            if (e + 1 < n) {
                a1 = out.get(e + 1);
            }
            if (e + 2 < n) {
                a2 = out.get(e + 2);
            }
            if (e + 3 < n) {
                a3 = out.get(e + 3);
            }
            for (int i = 0; i < k; i++) {
                int c0 = q;
                int c1 = i;
                int c2 = ip.get(P_STREAM);
                int c3 = ip.get(P_DOMAIN);
                int k0 = ip.get(P_K0);
                int k1 = ip.get(P_K1);
                for (int round = 0; round < 10; round++) {
                    long p0 = 0xD2511F53L * (((long) c0) & 0xFFFFFFFFL);
                    long p1 = 0xCD9E8D57L * (((long) c2) & 0xFFFFFFFFL);
                    int hi0 = (int) (p0 >> 32);
                    int lo0 = (int) p0;
                    int hi1 = (int) (p1 >> 32);
                    int lo1 = (int) p1;
                    c0 = hi1 ^ c1 ^ k0;
                    c1 = lo1;
                    c2 = hi0 ^ c3 ^ k1;
                    c3 = lo0;
                    k0 += 0x9E3779B9;
                    k1 += 0xBB67AE85;
                }
                float ci = c.get(i);
                // the basis element is rounded (u·scale) before the fused multiply-add, as in basis-then-mix
                a0 = ci * (RandomKernels.uniform(c0) * scale) + a0;
                a1 = ci * (RandomKernels.uniform(c1) * scale) + a1;
                a2 = ci * (RandomKernels.uniform(c2) * scale) + a2;
                a3 = ci * (RandomKernels.uniform(c3) * scale) + a3;
            }
            out.set(e, a0);
            if (e + 1 < n) {
                out.set(e + 1, a1);
            }
            if (e + 2 < n) {
                out.set(e + 2, a2);
            }
            if (e + 3 < n) {
                out.set(e + 3, a3);
            }
        }
    }

    /** out[i] = Σ_e basis[i·n+e]·grad[e], one work-item per i. Global size k. */
    static void coefficientGradient(KernelContext ctx, IntArray ip, FloatArray basis, FloatArray grad, FloatArray out) {
        int i = ctx.globalIdx;
        int k = ip.get(0);
        int n = ip.get(1);
        if (i < k) {
            float acc = 0f;
            int row = i * n;
            for (int e = 0; e < n; e++) {
                acc = basis.get(row + e) * grad.get(e) + acc;
            }
            out.set(i, acc);
        }
    }

    /** out[i] = Σ_e (u·scale)·grad[e] over matrix i generated on the fly. Global size k. */
    static void coefficientGradientGenerated(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray grad, FloatArray out) {
        int i = ctx.globalIdx;
        int k = ip.get(P_COUNT);
        int n = ip.get(P_N);
        if (i < k) {
            float scale = fp.get(0);
            float acc = 0f;
            int blocks = (n + 3) / 4;
            for (int q = 0; q < blocks; q++) {
                int c0 = q;
                int c1 = i;
                int c2 = ip.get(P_STREAM);
                int c3 = ip.get(P_DOMAIN);
                int k0 = ip.get(P_K0);
                int k1 = ip.get(P_K1);
                for (int round = 0; round < 10; round++) {
                    long p0 = 0xD2511F53L * (((long) c0) & 0xFFFFFFFFL);
                    long p1 = 0xCD9E8D57L * (((long) c2) & 0xFFFFFFFFL);
                    int hi0 = (int) (p0 >> 32);
                    int lo0 = (int) p0;
                    int hi1 = (int) (p1 >> 32);
                    int lo1 = (int) p1;
                    c0 = hi1 ^ c1 ^ k0;
                    c1 = lo1;
                    c2 = hi0 ^ c3 ^ k1;
                    c3 = lo0;
                    k0 += 0x9E3779B9;
                    k1 += 0xBB67AE85;
                }
                int e = 4 * q;
                acc = (RandomKernels.uniform(c0) * scale) * grad.get(e) + acc;
                if (e + 1 < n) {
                    acc = (RandomKernels.uniform(c1) * scale) * grad.get(e + 1) + acc;
                }
                if (e + 2 < n) {
                    acc = (RandomKernels.uniform(c2) * scale) * grad.get(e + 2) + acc;
                }
                if (e + 3 < n) {
                    acc = (RandomKernels.uniform(c3) * scale) * grad.get(e + 3) + acc;
                }
            }
            out.set(i, acc);
        }
    }
}
