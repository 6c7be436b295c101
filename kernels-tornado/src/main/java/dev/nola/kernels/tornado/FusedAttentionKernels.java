package dev.nola.kernels.tornado;

import static dev.nola.kernels.tornado.NnKernels.slotGet;
import static dev.nola.kernels.tornado.NnKernels.slotSet;

import dev.nola.kernels.tornado.NnParams.FusedAttention;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The fused attention ({@code NnOps.fusedAttentionForward/Backward}) as TornadoVM kernels: the
 * online softmax, keeping of the probabilities only the row statistic lse [B, NH, T], so nothing of
 * size T × T exists on the device. The same three kernels as the OpenCL backend's
 * {@code fused_attention_*}, in the same float order:
 * <ul>
 *   <li>forward, a work-item per query row (b, h, i): the keys j it sees (j ≤ i when causal) in
 *       ascending order, the running maximum m and sum l, out rescaled by e^(m_old − m) when m grows,
 *       then out /= l and lse = m + log l;</li>
 *   <li>backward, query side, a work-item per (b, h, i): dq_i += scale·Σ_j p_ij·(dout_i·v_j − D_i)·k_j,
 *       p_ij = e^(scale·q_i·k_j − lse_i), D_i = dout_i·out_i;</li>
 *   <li>backward, key side, a work-item per key row (b, g, j) of a key/value head: over the group's query
 *       heads ascending, then the queries that see key j ascending, dv_j += p_ij·dout_i and
 *       dk_j += scale·p_ij·(dout_i·v_j − D_i)·q_i.</li>
 * </ul>
 * Grouped-query heads as the plain attention: k and v are KVH·hs wide ({@link FusedAttention#CK}),
 * query head h reads KV head h / (NH / KVH). Every sum in a fixed order, no atomics. Operand offsets
 * and sizes in {@code ip} ({@link FusedAttention}), the scale 1/√hs in {@code fp[0]}; outputs through
 * output slots as in {@link NnKernels}.
 */
final class FusedAttentionKernels {

    private FusedAttentionKernels() {
    }

    /** B·NH·T, the query rows. */
    static int queryRows(IntArray ip) {
        return ip.get(FusedAttention.B) * ip.get(FusedAttention.NH) * ip.get(FusedAttention.T);
    }

    /** The element index of query row id = (b, h, i) (B·NH·T order) in a q-shaped array: (b·T + i)·C + h·hs. */
    static int queryRow(IntArray ip, int id) {
        int t = ip.get(FusedAttention.T);
        int c = ip.get(FusedAttention.C);
        int nh = ip.get(FusedAttention.NH);
        int bh = id / t;
        int b = bh / nh;
        return (b * t + id - bh * t) * c + (bh - b * nh) * (c / nh);
    }

    /** The element index of key 0 of query row id's KV head h / (NH / KVH) in a k-shaped array. */
    static int keyHead(IntArray ip, int id) {
        int t = ip.get(FusedAttention.T);
        int nh = ip.get(FusedAttention.NH);
        int ck = ip.get(FusedAttention.CK);
        int hs = ip.get(FusedAttention.C) / nh;
        int bh = id / t;
        int b = bh / nh;
        return b * t * ck + ((bh - b * nh) / (nh / (ck / hs))) * hs;
    }

    /** The keys query row id sees: i + 1 when causal, else T. */
    static int visibleKeys(IntArray ip, int id) {
        int t = ip.get(FusedAttention.T);
        int len = t;
        if (ip.get(FusedAttention.CAUSAL) != 0) {
            len = id - (id / t) * t + 1;
        }
        return len;
    }

    /** Forward, a query row (b, h, i) per work-item (global B·NH·T); out and lse through the slots o0, o1. */
    static void nnFusedAttentionForward(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray q, FloatArray k,
                                        FloatArray v, FloatArray o0, FloatArray o1) {
        int id = ctx.globalIdx;
        if (id < queryRows(ip)) {
            int ck = ip.get(FusedAttention.CK);
            int hs = ip.get(FusedAttention.C) / ip.get(FusedAttention.NH);
            int len = visibleKeys(ip, id);
            float scale = fp.get(0);
            int row = queryRow(ip, id);
            int kvSeq = keyHead(ip, id);
            int outSlot = ip.get(FusedAttention.SLOT0);
            int qi = ip.get(FusedAttention.Q) + row;
            int kOff = ip.get(FusedAttention.K) + kvSeq;
            int vOff = ip.get(FusedAttention.V) + kvSeq;
            int o = ip.get(FusedAttention.OUT) + row;
            for (int d = 0; d < hs; d++) {
                slotSet(o0, o1, outSlot, o + d, 0f);
            }
            float m = 0f;
            float l = 0f;
            for (int j = 0; j < len; j++) {
                int kj = kOff + j * ck;
                int vj = vOff + j * ck;
                float s = 0f;
                for (int d = 0; d < hs; d++) {
                    s = q.get(qi + d) * k.get(kj + d) + s;
                }
                s = s * scale;
                // the first key sets the running maximum (no -∞ constant: out and l are still 0)
                if (j == 0) {
                    m = s;
                }
                if (s > m) {
                    float f = TornadoMath.exp(m - s);
                    l = l * f;
                    for (int d = 0; d < hs; d++) {
                        slotSet(o0, o1, outSlot, o + d, slotGet(o0, o1, outSlot, o + d) * f);
                    }
                    m = s;
                }
                float p = TornadoMath.exp(s - m);
                l = l + p;
                for (int d = 0; d < hs; d++) {
                    slotSet(o0, o1, outSlot, o + d, p * v.get(vj + d) + slotGet(o0, o1, outSlot, o + d));
                }
            }
            float inv = 1f / l;
            for (int d = 0; d < hs; d++) {
                slotSet(o0, o1, outSlot, o + d, slotGet(o0, o1, outSlot, o + d) * inv);
            }
            slotSet(o0, o1, ip.get(FusedAttention.SLOT1), ip.get(FusedAttention.LSE) + id, m + TornadoMath.log(l));
        }
    }

    /** Backward, the query side: a query row (b, h, i) per work-item (global B·NH·T), dq accumulated. */
    static void nnFusedAttentionBackwardQuery(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray dout, FloatArray q,
                                              FloatArray k, FloatArray v, FloatArray out, FloatArray lse, FloatArray dq) {
        int id = ctx.globalIdx;
        if (id < queryRows(ip)) {
            int ck = ip.get(FusedAttention.CK);
            int hs = ip.get(FusedAttention.C) / ip.get(FusedAttention.NH);
            int len = visibleKeys(ip, id);
            float scale = fp.get(0);
            int row = queryRow(ip, id);
            int kvSeq = keyHead(ip, id);
            int qi = ip.get(FusedAttention.Q) + row;
            int gi = ip.get(FusedAttention.DOUT) + row;
            int oi = ip.get(FusedAttention.OUT) + row;
            int dqi = ip.get(FusedAttention.DQ) + row;
            int kOff = ip.get(FusedAttention.K) + kvSeq;
            int vOff = ip.get(FusedAttention.V) + kvSeq;
            float rowTerm = 0f;
            for (int d = 0; d < hs; d++) {
                rowTerm = dout.get(gi + d) * out.get(oi + d) + rowTerm;
            }
            float lr = lse.get(ip.get(FusedAttention.LSE) + id);
            for (int j = 0; j < len; j++) {
                int kj = kOff + j * ck;
                int vj = vOff + j * ck;
                float s = 0f;
                float dp = 0f;
                for (int d = 0; d < hs; d++) {
                    s = q.get(qi + d) * k.get(kj + d) + s;
                    dp = dout.get(gi + d) * v.get(vj + d) + dp;
                }
                float ds = scale * TornadoMath.exp(scale * s - lr) * (dp - rowTerm);
                for (int d = 0; d < hs; d++) {
                    dq.set(dqi + d, ds * k.get(kj + d) + dq.get(dqi + d));
                }
            }
        }
    }

    /**
     * Backward, the key side: a key row (b, g, j) of a key/value head per work-item (global B·KVH·T),
     * dk and dv accumulated through the slots o0, o1.
     */
    static void nnFusedAttentionBackwardKey(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray dout, FloatArray q,
                                            FloatArray k, FloatArray v, FloatArray out, FloatArray lse, FloatArray o0,
                                            FloatArray o1) {
        int id = ctx.globalIdx;
        int bs = ip.get(FusedAttention.B);
        int t = ip.get(FusedAttention.T);
        int c = ip.get(FusedAttention.C);
        int nh = ip.get(FusedAttention.NH);
        int ck = ip.get(FusedAttention.CK);
        int hs = c / nh;
        int kvh = ck / hs;
        if (id < bs * kvh * t) {
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
            for (int r = 0; r < rep; r++) {
                int h = g * rep + r;
                int lseRow = ip.get(FusedAttention.LSE) + (b * nh + h) * t;
                for (int i = first; i < t; i++) {
                    int row = b * t * c + h * hs + i * c;
                    int qi = ip.get(FusedAttention.Q) + row;
                    int gi = ip.get(FusedAttention.DOUT) + row;
                    int oi = ip.get(FusedAttention.OUT) + row;
                    float s = 0f;
                    float dp = 0f;
                    float rowTerm = 0f;
                    for (int d = 0; d < hs; d++) {
                        s = q.get(qi + d) * k.get(kj + d) + s;
                        dp = dout.get(gi + d) * v.get(vj + d) + dp;
                        rowTerm = dout.get(gi + d) * out.get(oi + d) + rowTerm;
                    }
                    float p = TornadoMath.exp(scale * s - lse.get(lseRow + i));
                    float ds = scale * p * (dp - rowTerm);
                    for (int d = 0; d < hs; d++) {
                        slotSet(o0, o1, dvSlot, dvj + d, p * dout.get(gi + d) + slotGet(o0, o1, dvSlot, dvj + d));
                        slotSet(o0, o1, dkSlot, dkj + d, ds * q.get(qi + d) + slotGet(o0, o1, dkSlot, dkj + d));
                    }
                }
            }
        }
    }
}
