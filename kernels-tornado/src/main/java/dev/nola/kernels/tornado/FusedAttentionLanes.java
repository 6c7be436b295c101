package dev.nola.kernels.tornado;

import static dev.nola.kernels.tornado.Lanes.fma16;
import static dev.nola.kernels.tornado.Lanes.fmaSplat16;
import static dev.nola.kernels.tornado.Lanes.load16;
import static dev.nola.kernels.tornado.Lanes.splat;
import static dev.nola.kernels.tornado.Lanes.sum16;
import static dev.nola.kernels.tornado.NnKernels.slotGet;
import static dev.nola.kernels.tornado.NnKernels.slotSet;

import dev.nola.kernels.tornado.NnParams.FusedAttention;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.vectors.Float16;

/**
 * The fused attention ({@link FusedAttentionKernels}: the same work-items, the same online softmax,
 * the same gradients) for CPU devices and head sizes hs of 16, 32, 48 or 64 ({@link #fits}), in
 * sixteen-lane chunks of a head's row. The forward holds a head's row in four {@link Float16} registers instead of walked element by
 * element through memory: each score is four float16 products added lane-wise, then across the lanes;
 * out accumulates in registers and is stored once per work-item. PoCL keeps explicit float16
 * arithmetic as 512-bit vectors ({@link Lanes}).
 *
 * <p>Chunk u of a row is its elements 16u .. 16u + 15; below four chunks (hs < 64) the chunks past the
 * last read the last one again and are multiplied by 0 where they enter the score (a 0 weight, exact
 * for finite inputs), and are never stored. Float order: each score adds its four chunks' products
 * pairwise, then the sixteen lanes pairwise, within the contract's tolerance as the OpenCL backend's
 * own tiles. out·f + p·v_j and the row term's sum are one fma per lane ({@link Lanes#fmaSplat16},
 * {@link Lanes#fma16}; PoCL packs them into 512-bit fma: the forward's key loop 174 → 170 instructions,
 * 4 {@code vmulps} and 4 {@code vaddps} fewer, the row term's 10 → 9, read with {@code objdump -d} from
 * PoCL's kernel cache). The backward query and key kernels keep a product and a sum: there PoCL did not
 * pack the helpers' lanes (dq's update came out as 16 scalar fma, dk's and dv's as 32 scalar and 32
 * 256-bit ones, the score's chunk loop 16 → 61 instructions with permutes).
 *
 * <p>The backward in three kernels, each small enough for TornadoVM to inline whole: written as one
 * unrolled kernel per side, as the forward is, they did not build (TornadoVM stops inlining past a
 * size and then fails on the call left over, "Unable to build sketch for method: set"). So the
 * backward walks a row's chunks in a loop rather than holding them in named registers, and the row
 * term D_i = dout_i·out_i, which the key side needs for every (i, j), is a pass of its own:
 * <ul>
 *   <li>{@link #nnFusedAttentionRowTermLanes}: D [B, NH, T], a work-item per query row;</li>
 *   <li>{@link #nnFusedAttentionBackwardQueryLanes}: dq, a work-item per query row, accumulated in dq
 *       in the scalar kernel's order (key j ascending);</li>
 *   <li>{@link #nnFusedAttentionBackwardKeyLanes}: dk and dv, a work-item per key row of a key/value
 *       head, accumulated in two private rows in the scalar kernel's order, then stored once.</li>
 * </ul>
 * Each score and dout_i·v_j adds its chunks' products lane-wise in chunk order, then the lanes pairwise.
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
                a0 = fmaSplat16(p, load16(v, vj), Float16.mult(a0, fv));
                a1 = fmaSplat16(p, load16(v, vj + u1), Float16.mult(a1, fv));
                a2 = fmaSplat16(p, load16(v, vj + u2), Float16.mult(a2, fv));
                a3 = fmaSplat16(p, load16(v, vj + u3), Float16.mult(a3, fv));
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

    /** Backward, first: the row term D_i = dout_i·out_i of query row (b, h, i) per work-item (global B·NH·T). */
    static void nnFusedAttentionRowTermLanes(KernelContext ctx, IntArray ip, FloatArray dout, FloatArray out,
                                             FloatArray rowTerm) {
        int id = ctx.globalIdx;
        if (id < FusedAttentionKernels.queryRows(ip)) {
            int hs = ip.get(FusedAttention.C) / ip.get(FusedAttention.NH);
            int row = FusedAttentionKernels.queryRow(ip, id);
            int gi = ip.get(FusedAttention.DOUT) + row;
            int oi = ip.get(FusedAttention.OUT) + row;
            Float16 acc = splat(0f);
            for (int u = 0; u < hs; u += 16) {
                acc = fma16(load16(dout, gi + u), load16(out, oi + u), acc);
            }
            rowTerm.set(ip.get(FusedAttention.ROW_TERM) + id, sum16(acc));
        }
    }

    /**
     * Backward, the query side: a query row (b, h, i) per work-item (global B·NH·T),
     * dq_i += Σ_j scale·p_ij·(dout_i·v_j − D_i)·k_j, with D from {@link #nnFusedAttentionRowTermLanes}.
     */
    static void nnFusedAttentionBackwardQueryLanes(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray dout,
                                                   FloatArray q, FloatArray k, FloatArray v, FloatArray rowTerm,
                                                   FloatArray lse, FloatArray dq) {
        int id = ctx.globalIdx;
        if (id < FusedAttentionKernels.queryRows(ip)) {
            int ck = ip.get(FusedAttention.CK);
            int hs = ip.get(FusedAttention.C) / ip.get(FusedAttention.NH);
            int len = FusedAttentionKernels.visibleKeys(ip, id);
            float scale = fp.get(0);
            int row = FusedAttentionKernels.queryRow(ip, id);
            int kvSeq = FusedAttentionKernels.keyHead(ip, id);
            int qi = ip.get(FusedAttention.Q) + row;
            int gi = ip.get(FusedAttention.DOUT) + row;
            int dqi = ip.get(FusedAttention.DQ) + row;
            int kOff = ip.get(FusedAttention.K) + kvSeq;
            int vOff = ip.get(FusedAttention.V) + kvSeq;
            float rt = rowTerm.get(ip.get(FusedAttention.ROW_TERM) + id);
            float lr = lse.get(ip.get(FusedAttention.LSE) + id);
            for (int j = 0; j < len; j++) {
                int kj = kOff + j * ck;
                int vj = vOff + j * ck;
                Float16 sv = splat(0f);
                Float16 pv = splat(0f);
                for (int u = 0; u < hs; u += 16) {
                    sv = Float16.add(sv, Float16.mult(load16(q, qi + u), load16(k, kj + u)));
                    pv = Float16.add(pv, Float16.mult(load16(dout, gi + u), load16(v, vj + u)));
                }
                Float16 ds = splat(scale * TornadoMath.exp(scale * sum16(sv) - lr) * (sum16(pv) - rt));
                for (int u = 0; u < hs; u += 16) {
                    Lanes.store16(dq, dqi + u, Float16.add(Float16.mult(ds, load16(k, kj + u)), load16(dq, dqi + u)));
                }
            }
        }
    }

    /**
     * Backward, the key side: a key row (b, g, j) of a key/value head per work-item (global B·KVH·T), over
     * the group's query heads ascending, then the queries that see key j ascending,
     * dv_j += p_ij·dout_i and dk_j += scale·p_ij·(dout_i·v_j − D_i)·q_i, through the slots o0, o1.
     */
    static void nnFusedAttentionBackwardKeyLanes(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray dout, FloatArray q,
                                                 FloatArray k, FloatArray v, FloatArray rowTerm, FloatArray lse,
                                                 FloatArray o0, FloatArray o1) {
        int id = ctx.globalIdx;
        int t = ip.get(FusedAttention.T);
        int c = ip.get(FusedAttention.C);
        int nh = ip.get(FusedAttention.NH);
        int ck = ip.get(FusedAttention.CK);
        int hs = c / nh;
        int kvh = ck / hs;
        if (id < ip.get(FusedAttention.B) * kvh * t) {
            int rep = nh / kvh;
            int bg = id / t;
            int j = id - bg * t;
            int b = bg / kvh;
            int g = bg - b * kvh;
            int first = 0;
            if (ip.get(FusedAttention.CAUSAL) != 0) {
                first = j;
            }
            float scale = fp.get(0);
            int dkSlot = ip.get(FusedAttention.SLOT0);
            int dvSlot = ip.get(FusedAttention.SLOT1);
            int kvRow = b * t * ck + g * hs + j * ck;
            int kj = ip.get(FusedAttention.K) + kvRow;
            int vj = ip.get(FusedAttention.V) + kvRow;
            int dkj = ip.get(FusedAttention.DK) + kvRow;
            int dvj = ip.get(FusedAttention.DV) + kvRow;
            float[] dkRow = new float[64];
            float[] dvRow = new float[64];
            for (int d = 0; d < hs; d++) {
                dkRow[d] = slotGet(o0, o1, dkSlot, dkj + d);
                dvRow[d] = slotGet(o0, o1, dvSlot, dvj + d);
            }
            for (int r = 0; r < rep; r++) {
                int h = g * rep + r;
                int statRow = (b * nh + h) * t;
                int lseRow = ip.get(FusedAttention.LSE) + statRow;
                int rtRow = ip.get(FusedAttention.ROW_TERM) + statRow;
                for (int i = first; i < t; i++) {
                    int row = b * t * c + h * hs + i * c;
                    int qi = ip.get(FusedAttention.Q) + row;
                    int gi = ip.get(FusedAttention.DOUT) + row;
                    Float16 sv = splat(0f);
                    Float16 pv = splat(0f);
                    for (int u = 0; u < hs; u += 16) {
                        sv = Float16.add(sv, Float16.mult(load16(q, qi + u), load16(k, kj + u)));
                        pv = Float16.add(pv, Float16.mult(load16(dout, gi + u), load16(v, vj + u)));
                    }
                    float p = TornadoMath.exp(scale * sum16(sv) - lse.get(lseRow + i));
                    Float16 pp = splat(p);
                    Float16 ds = splat(scale * p * (sum16(pv) - rowTerm.get(rtRow + i)));
                    for (int u = 0; u < hs; u += 16) {
                        put16(dvRow, u, Float16.add(Float16.mult(pp, load16(dout, gi + u)), get16(dvRow, u)));
                        put16(dkRow, u, Float16.add(Float16.mult(ds, load16(q, qi + u)), get16(dkRow, u)));
                    }
                }
            }
            for (int d = 0; d < hs; d++) {
                slotSet(o0, o1, dkSlot, dkj + d, dkRow[d]);
                slotSet(o0, o1, dvSlot, dvj + d, dvRow[d]);
            }
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

    /** t[i .. i + 15] as lanes. */
    private static Float16 get16(float[] t, int i) {
        return new Float16(t[i], t[i + 1], t[i + 2], t[i + 3], t[i + 4], t[i + 5], t[i + 6], t[i + 7], t[i + 8], t[i + 9],
                t[i + 10], t[i + 11], t[i + 12], t[i + 13], t[i + 14], t[i + 15]);
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
