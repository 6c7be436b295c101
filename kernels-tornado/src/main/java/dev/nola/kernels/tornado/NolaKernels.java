package dev.nola.kernels.tornado;

import static dev.nola.kernels.tornado.RandomKernels.P_COUNT;
import static dev.nola.kernels.tornado.RandomKernels.P_DOMAIN;
import static dev.nola.kernels.tornado.RandomKernels.P_FROM;
import static dev.nola.kernels.tornado.RandomKernels.P_K0;
import static dev.nola.kernels.tornado.RandomKernels.P_K1;
import static dev.nola.kernels.tornado.RandomKernels.P_N;
import static dev.nola.kernels.tornado.RandomKernels.P_SIZE;
import static dev.nola.kernels.tornado.RandomKernels.P_STREAM;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.vectors.Float8;
import uk.ac.manchester.tornado.api.types.vectors.Int4;

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
 * <p>Parameters: mix {@code ip = {k, n, tile width, offset flag}}; generated kernels use
 * {@link RandomKernels}' layout (k in {@code P_COUNT}); gradients {@code ip = {k, n}}; each followed by
 * the element offset of every array argument in order (views: {@code x[offset + i]}).
 */
final class NolaKernels {

    /** mix parameters: k, n, tile width, offset flag, then the offsets of c, basis, offset, out. */
    static final int MIX_K = 0;
    static final int MIX_N = 1;
    static final int MIX_TILE = 2;
    static final int MIX_FROM = 3;
    static final int MIX_PARAMS = 4;
    /** Coefficient gradient parameters: k, n, then the offsets of basis, grad, out. */
    static final int GRADIENT_K = 0;
    static final int GRADIENT_N = 1;
    static final int GRADIENT_PARAMS = 2;

    private NolaKernels() {
    }

    /**
     * Adds c[co..co+k-1] times rows 0..k-1 of the basis (row stride n) onto out[e0..e1) in place, row
     * by row: every element still sees i = 0..k-1 in ascending order
     * ({@code out[e] = fma(c[i], basis[i·n+e], out[e])}), while the work-item streams each basis row
     * segment in memory order and its tile of out stays in the first-level cache. e0 and e1 index out
     * (its offset included); bo is the index in basis of row 0's element for e0.
     */
    private static void accumulateTile(FloatArray c, int co, FloatArray basis, int bo, FloatArray out, int k, int n,
                                       int e0, int e1) {
        int shift = bo - e0;
        // four rows per pass: one load and one store of out[e] serve four fmas, still in order i..i+3
        int k4 = k - k % 4;
        for (int i = 0; i < k4; i += 4) {
            float c0 = c.get(co + i);
            float c1 = c.get(co + i + 1);
            float c2 = c.get(co + i + 2);
            float c3 = c.get(co + i + 3);
            int r0 = i * n + shift;
            int r1 = r0 + n;
            int r2 = r1 + n;
            int r3 = r2 + n;
            for (int e = e0; e < e1; e++) {
                float a = out.get(e);
                a = c0 * basis.get(r0 + e) + a;
                a = c1 * basis.get(r1 + e) + a;
                a = c2 * basis.get(r2 + e) + a;
                a = c3 * basis.get(r3 + e) + a;
                out.set(e, a);
            }
        }
        for (int i = k4; i < k; i++) {
            float ci = c.get(co + i);
            int row = i * n + shift;
            for (int e = e0; e < e1; e++) {
                out.set(e, ci * basis.get(row + e) + out.get(e));
            }
        }
    }

    /**
     * out[e] = (ip[3] != 0 ? offset[e] : 0) + Σ c[i]·basis[i·n+e] (not named mix: that is an OpenCL
     * built-in). Work-item t owns the column tile [t·w, min((t+1)·w, n)), w = ip[2]. In place when
     * offset is out: each work-item reads its own elements before it writes them. Global size ceil(n/w).
     */
    static void mixTiles(KernelContext ctx, IntArray ip, FloatArray c, FloatArray basis, FloatArray offset, FloatArray out) {
        int k = ip.get(MIX_K);
        int n = ip.get(MIX_N);
        int w = ip.get(MIX_TILE);
        boolean from = ip.get(MIX_FROM) != 0;
        int t0 = ctx.globalIdx * w;
        if (t0 < n) {
            int fo = ip.get(MIX_PARAMS + 2);
            int oo = ip.get(MIX_PARAMS + 3);
            int e1 = Math.min(t0 + w, n);
            for (int e = t0; e < e1; e++) {
                float v = 0f;
                if (from) {
                    v = offset.get(fo + e);
                }
                out.set(oo + e, v);
            }
            accumulateTile(c, ip.get(MIX_PARAMS), basis, ip.get(MIX_PARAMS + 1) + t0, out, k, n, oo + t0, oo + e1);
        }
    }

    /**
     * Fused generate-and-mix: out[e] = (ip[P_FROM] != 0 ? offset[e] : 0) + Σ c[i]·(u_i[e]·scale), one
     * Philox block (4 elements) per work-item and matrix. The basis element is rounded (u·scale) before
     * the fused multiply-add, as in basis-then-mix. In place when offset is out. Offsets of c, offset
     * and out from {@code ip[P_SIZE]}. Global size ceil(n/4).
     */
    static void mixGenerated(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray c, FloatArray offset, FloatArray out) {
        int q = ctx.globalIdx;
        int k = ip.get(P_COUNT);
        int n = ip.get(P_N);
        int e = 4 * q;
        if (e < n) {
            int co = ip.get(P_SIZE);
            int fo = ip.get(P_SIZE + 1) + e;
            int oo = ip.get(P_SIZE + 2) + e;
            float scale = fp.get(0);
            float a0 = 0f;
            float a1 = 0f;
            float a2 = 0f;
            float a3 = 0f;
            if (ip.get(P_FROM) != 0) {
                a0 = offset.get(fo);
                if (e + 1 < n) {
                    a1 = offset.get(fo + 1);
                }
                if (e + 2 < n) {
                    a2 = offset.get(fo + 2);
                }
                if (e + 3 < n) {
                    a3 = offset.get(fo + 3);
                }
            }
            int stream = ip.get(P_STREAM);
            int domain = ip.get(P_DOMAIN);
            int k0 = ip.get(P_K0);
            int k1 = ip.get(P_K1);
            for (int i = 0; i < k; i++) {
                Int4 w = RandomKernels.philox(q, i, stream, domain, k0, k1);
                float ci = c.get(co + i);
                a0 = ci * (RandomKernels.uniform(w.getX()) * scale) + a0;
                a1 = ci * (RandomKernels.uniform(w.getY()) * scale) + a1;
                a2 = ci * (RandomKernels.uniform(w.getZ()) * scale) + a2;
                a3 = ci * (RandomKernels.uniform(w.getW()) * scale) + a3;
            }
            out.set(oo, a0);
            if (e + 1 < n) {
                out.set(oo + 1, a1);
            }
            if (e + 2 < n) {
                out.set(oo + 2, a2);
            }
            if (e + 3 < n) {
                out.set(oo + 3, a3);
            }
        }
    }

    /**
     * out[i] = Σ_e basis[i·n+e]·grad[e], one work-item per row i. Eight partial sums over e mod 8 in one
     * {@link Float8} (an OpenCL {@code float8} register: PoCL does not vectorise a work-item whose body
     * loops), then summed pairwise: a fixed order, within the contract's tolerance. Global size k.
     */
    static void coefficientGradient(KernelContext ctx, IntArray ip, FloatArray basis, FloatArray grad, FloatArray out) {
        int i = ctx.globalIdx;
        int k = ip.get(GRADIENT_K);
        int n = ip.get(GRADIENT_N);
        if (i < k) {
            int row = ip.get(GRADIENT_PARAMS) + i * n;
            int go = ip.get(GRADIENT_PARAMS + 1);
            Float8 acc = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            int n8 = n - n % 8;
            for (int e = 0; e < n8; e += 8) {
                int r = row + e;
                int g = go + e;
                Float8 bv = new Float8(basis.get(r), basis.get(r + 1), basis.get(r + 2), basis.get(r + 3), basis.get(r + 4),
                        basis.get(r + 5), basis.get(r + 6), basis.get(r + 7));
                Float8 gv = new Float8(grad.get(g), grad.get(g + 1), grad.get(g + 2), grad.get(g + 3), grad.get(g + 4),
                        grad.get(g + 5), grad.get(g + 6), grad.get(g + 7));
                acc = Float8.add(acc, Float8.mult(bv, gv));
            }
            float a0 = acc.getS0();
            for (int e = n8; e < n; e++) {
                a0 = basis.get(row + e) * grad.get(go + e) + a0;
            }
            out.set(ip.get(GRADIENT_PARAMS + 2) + i,
                    ((a0 + acc.getS1()) + (acc.getS2() + acc.getS3())) + ((acc.getS4() + acc.getS5()) + (acc.getS6() + acc.getS7())));
        }
    }

    /** out[i] = Σ_e (u·scale)·grad[e] over matrix i generated on the fly; offsets of grad, out from ip[P_SIZE]. Global size k. */
    static void coefficientGradientGenerated(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray grad, FloatArray out) {
        int i = ctx.globalIdx;
        int k = ip.get(P_COUNT);
        int n = ip.get(P_N);
        if (i < k) {
            int go = ip.get(P_SIZE);
            float scale = fp.get(0);
            float acc = 0f;
            int blocks = (n + 3) / 4;
            int stream = ip.get(P_STREAM);
            int domain = ip.get(P_DOMAIN);
            int k0 = ip.get(P_K0);
            int k1 = ip.get(P_K1);
            for (int q = 0; q < blocks; q++) {
                Int4 w = RandomKernels.philox(q, i, stream, domain, k0, k1);
                int e = 4 * q;
                acc = (RandomKernels.uniform(w.getX()) * scale) * grad.get(go + e) + acc;
                if (e + 1 < n) {
                    acc = (RandomKernels.uniform(w.getY()) * scale) * grad.get(go + e + 1) + acc;
                }
                if (e + 2 < n) {
                    acc = (RandomKernels.uniform(w.getZ()) * scale) * grad.get(go + e + 2) + acc;
                }
                if (e + 3 < n) {
                    acc = (RandomKernels.uniform(w.getW()) * scale) * grad.get(go + e + 3) + acc;
                }
            }
            out.set(ip.get(P_SIZE + 1) + i, acc);
        }
    }
}
