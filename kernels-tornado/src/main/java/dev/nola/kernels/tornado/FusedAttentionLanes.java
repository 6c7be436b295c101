package dev.nola.kernels.tornado;

import static dev.nola.kernels.tornado.Lanes.load16;
import static dev.nola.kernels.tornado.Lanes.splat;
import static dev.nola.kernels.tornado.NnKernels.slotGet;
import static dev.nola.kernels.tornado.NnKernels.slotSet;

import dev.nola.kernels.tornado.NnParams.FusedAttention;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.vectors.Float16;

/**
 * The fused attention's forward ({@link FusedAttentionKernels#nnFusedAttentionForward}: the same
 * work-items, the same online softmax) for CPU devices and head sizes hs of 16, 32, 48 or 64
 * ({@link #fits}), with a head's row held in four {@link Float16} registers instead of walked element by
 * element through memory: each score is four float16 products added lane-wise, then across the lanes;
 * out accumulates in registers and is stored once per work-item. PoCL keeps explicit float16
 * arithmetic as 512-bit vectors ({@link Lanes}).
 *
 * <p>Chunk u of a row is its elements 16u .. 16u + 15; below four chunks (hs < 64) the chunks past the
 * last read the last one again and are multiplied by 0 where they enter the score (a 0 weight, exact
 * for finite inputs), and are never stored. Float order: each score adds its four chunks' products
 * pairwise, then the sixteen lanes pairwise, within the contract's tolerance as the OpenCL backend's
 * own tiles. The backward kernels written the same way did not build: TornadoVM stops inlining past a
 * size ("Unable to build sketch for method: set"), so they stay scalar.
 */
final class FusedAttentionLanes {

    private FusedAttentionLanes() {
    }

    /** Whether these kernels take head size hs (on CPU devices). */
    static boolean fits(int hs) {
        return hs % 16 == 0 && hs >= 16 && hs <= 64;
    }

    /** Forward: a query row (b, h, i) per work-item (global B·NH·T); out and lse through the slots o0, o1. */
    static void nnFusedAttentionForwardLanes(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray q, FloatArray k,
                                             FloatArray v, FloatArray o0, FloatArray o1) {
        int id = ctx.globalIdx;
        if (id < FusedAttentionKernels.queryRows(ip)) {
            int ck = ip.get(FusedAttention.CK);
            int hs = ip.get(FusedAttention.C) / ip.get(FusedAttention.NH);
            int nc = hs / 16;
            int u1 = Math.min(1, nc - 1) * 16;
            int u2 = Math.min(2, nc - 1) * 16;
            int u3 = Math.min(3, nc - 1) * 16;
            int len = FusedAttentionKernels.visibleKeys(ip, id);
            float scale = fp.get(0);
            int row = FusedAttentionKernels.queryRow(ip, id);
            int kvSeq = FusedAttentionKernels.keyHead(ip, id);
            int qi = ip.get(FusedAttention.Q) + row;
            int kOff = ip.get(FusedAttention.K) + kvSeq;
            int vOff = ip.get(FusedAttention.V) + kvSeq;
            Float16 q0 = load16(q, qi);
            Float16 q1 = Float16.mult(load16(q, qi + u1), splat(weight(nc, 1)));
            Float16 q2 = Float16.mult(load16(q, qi + u2), splat(weight(nc, 2)));
            Float16 q3 = Float16.mult(load16(q, qi + u3), splat(weight(nc, 3)));
            Float16 a0 = splat(0f);
            Float16 a1 = splat(0f);
            Float16 a2 = splat(0f);
            Float16 a3 = splat(0f);
            float m = 0f;
            float l = 0f;
            for (int j = 0; j < len; j++) {
                int kj = kOff + j * ck;
                int vj = vOff + j * ck;
                float s = rowDot(q0, q1, q2, q3, load16(k, kj), load16(k, kj + u1), load16(k, kj + u2), load16(k, kj + u3)) * scale;
                // the first key sets the running maximum (no -∞ constant: out and l are still 0)
                if (j == 0) {
                    m = s;
                }
                float f = 1f;
                if (s > m) {
                    f = TornadoMath.exp(m - s);
                    l = l * f;
                    m = s;
                }
                float p = TornadoMath.exp(s - m);
                l = l + p;
                // out·f (exact when f = 1) + p·v_j
                Float16 fv = splat(f);
                Float16 pv = splat(p);
                a0 = Float16.add(Float16.mult(a0, fv), Float16.mult(pv, load16(v, vj)));
                a1 = Float16.add(Float16.mult(a1, fv), Float16.mult(pv, load16(v, vj + u1)));
                a2 = Float16.add(Float16.mult(a2, fv), Float16.mult(pv, load16(v, vj + u2)));
                a3 = Float16.add(Float16.mult(a3, fv), Float16.mult(pv, load16(v, vj + u3)));
            }
            Float16 inv = splat(1f / l);
            float[] t = new float[64];
            put16(t, 0, Float16.mult(a0, inv));
            put16(t, 16, Float16.mult(a1, inv));
            put16(t, 32, Float16.mult(a2, inv));
            put16(t, 48, Float16.mult(a3, inv));
            int outSlot = ip.get(FusedAttention.SLOT0);
            int o = ip.get(FusedAttention.OUT) + row;
            for (int d = 0; d < hs; d++) {
                slotSet(o0, o1, outSlot, o + d, t[d]);
            }
            slotSet(o0, o1, ip.get(FusedAttention.SLOT1), ip.get(FusedAttention.LSE) + id, m + TornadoMath.log(l));
        }
    }

    /** 1 for a chunk u that a row of nc chunks has, 0 for one past its end. */
    private static float weight(int nc, int u) {
        float w = 0f;
        if (u < nc) {
            w = 1f;
        }
        return w;
    }

    /** The dot product of two four-chunk rows: the chunks' products added pairwise, then the lanes pairwise. */
    private static float rowDot(Float16 a0, Float16 a1, Float16 a2, Float16 a3, Float16 b0, Float16 b1, Float16 b2, Float16 b3) {
        Float16 s = Float16.add(Float16.add(Float16.mult(a0, b0), Float16.mult(a1, b1)),
                Float16.add(Float16.mult(a2, b2), Float16.mult(a3, b3)));
        return Lanes.sum16(s);
    }

    /** t[i .. i + 15] = the lanes of s. */
    private static void put16(float[] t, int i, Float16 s) {
        t[i] = s.getS0();
        t[i + 1] = s.getS1();
        t[i + 2] = s.getS2();
        t[i + 3] = s.getS3();
        t[i + 4] = s.getS4();
        t[i + 5] = s.getS5();
        t[i + 6] = s.getS6();
        t[i + 7] = s.getS7();
        t[i + 8] = s.getS8();
        t[i + 9] = s.getS9();
        t[i + 10] = s.getS10();
        t[i + 11] = s.getS11();
        t[i + 12] = s.getS12();
        t[i + 13] = s.getS13();
        t[i + 14] = s.getS14();
        t[i + 15] = s.getS15();
    }
}
