package dev.nola.kernels.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.vectors.Int4;

/**
 * The random op family as TornadoVM kernels: Philox4x32-10 basis generation, bit-identical to
 * {@link dev.nola.kernels.Philox}.
 *
 * <p>Written for TornadoVM's compiler: only int/long/float arithmetic on locals, no arrays other
 * than the off-heap arguments, no {@code >>>} on int (TornadoVM emits it as a signed shift; the
 * uniform mapping masks instead); the Philox rounds are one static helper ({@link #philox}) that
 * TornadoVM inlines into each kernel, returning the block as an {@link Int4}. Per-call values travel in small {@link IntArray}/{@link FloatArray}
 * parameter buffers, so a new seed or size never recompiles the kernel.
 *
 * <p>Parameter layout shared by the generating kernels ({@code ip}): 0 seed low word, 1 seed high
 * word, 2 stream, 3 domain, 4 first matrix index, 5 count (or k), 6 n (elements per matrix), 7 the
 * fused mix's offset flag, then from {@link #P_SIZE} the element offset of each array argument in
 * order; {@code fp[0]} the scale.
 */
final class RandomKernels {

    static final int P_K0 = 0;
    static final int P_K1 = 1;
    static final int P_STREAM = 2;
    static final int P_DOMAIN = 3;
    static final int P_FIRST = 4;
    static final int P_COUNT = 5;
    static final int P_N = 6;
    /** Fused mix only: 1 when the sums start from the offset operand, 0 when they start from zero. */
    static final int P_FROM = 7;
    static final int P_SIZE = 8;

    private RandomKernels() {
    }

    /**
     * One Philox4x32-10 block at counter (c0, c1, c2, c3) under key (k0, k1), the rounds written once
     * for every generating kernel. TornadoVM inlines it and keeps the {@link Int4} in registers (an
     * OpenCL {@code int4}); the high and low words of each product come from one 64-bit multiply of
     * the zero-extended words.
     */
    static Int4 philox(int c0, int c1, int c2, int c3, int k0, int k1) {
        for (int round = 0; round < 10; round++) {
            long p0 = 0xD2511F53L * (((long) c0) & 0xFFFFFFFFL);
            long p1 = 0xCD9E8D57L * (((long) c2) & 0xFFFFFFFFL);
            c0 = (int) (p1 >> 32) ^ c1 ^ k0;
            c1 = (int) p1;
            c2 = (int) (p0 >> 32) ^ c3 ^ k1;
            c3 = (int) p0;
            k0 += 0x9E3779B9;
            k1 += 0xBB67AE85;
        }
        return new Int4(c0, c1, c2, c3);
    }

    /** The uniform mapping of one Philox word: ((w >>> 8) - 2^23)·2^-23, exact. */
    static float uniform(int w) {
        return (float) (((w >> 8) & 0xFFFFFF) - 0x800000) * 0x1p-23f;
    }

    /**
     * out[o + j·n + e] = element e of matrix first + j (o = ip[P_SIZE]). Work-item q of matrix j computes one Philox block,
     * elements 4q'..4q'+3 with q' = q mod ceil(n/4). Global size: count·ceil(n/4).
     */
    static void basis(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray out) {
        int id = ctx.globalIdx;
        int n = ip.get(P_N);
        int blocks = (n + 3) / 4;
        int count = ip.get(P_COUNT);
        if (id < count * blocks) {
            int j = id / blocks;
            int q = id - j * blocks;
            Int4 w = philox(q, ip.get(P_FIRST) + j, ip.get(P_STREAM), ip.get(P_DOMAIN), ip.get(P_K0), ip.get(P_K1));
            float scale = fp.get(0);
            int base = ip.get(P_SIZE) + j * n + 4 * q;
            int e = 4 * q;
            out.set(base, uniform(w.getX()) * scale);
            if (e + 1 < n) {
                out.set(base + 1, uniform(w.getY()) * scale);
            }
            if (e + 2 < n) {
                out.set(base + 2, uniform(w.getZ()) * scale);
            }
            if (e + 3 < n) {
                out.set(base + 3, uniform(w.getW()) * scale);
            }
        }
    }
}
