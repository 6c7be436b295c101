package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.NnMath.S;
import static dev.nola.kernels.cpu.NnMath.V;
import static dev.nola.kernels.cpu.SegmentAccess.ORDER;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Fused attention on the cpu: one task per (sequence, KV head) covers the query heads of its group,
 * one query row at a time, and keeps nothing of size T × T. The task packs its keys (and, backward,
 * its values) transposed into {@code [hs, T']} (T' = T rounded up to the vector length) so that the
 * scores of V keys are V lanes of broadcast-fmas over hs, with no horizontal sums; rows of v and k
 * are read in place for the products with the probabilities.
 *
 * <p>Forward: the keys in blocks of {@link #KEY_BLOCK}, with the online softmax (running maximum m
 * and sum l, the output row rescaled by exp(m_old − m_new) when a block raises the maximum); it
 * writes out and lse = m + log l. For T ≤ {@link #KEY_BLOCK} that is one block, the exact two-pass
 * softmax. Backward (FlashAttention-2's order, a row at a time): p = exp(s − lse), dp = dout·vᵀ,
 * D = dout·out, ds = p·(dp − D); dq_i += scale·ds·k, and dk, dv gather into the task's own
 * {@code [T, hs]} accumulators, added into dk and dv once the group is done.
 *
 * <p>Deterministic: a row's result depends only on its inputs, and the task's accumulators add the
 * group's heads and rows in ascending order, whatever the threads.
 */
final class AttentionKernels {

    /** Keys per block of the forward's online softmax; a row's scores in a block stay in L1. */
    static final int KEY_BLOCK = 256;

    private AttentionKernels() {
    }

    /** The geometry of one call: hs, the widths of q (c) and of k and v (ck), the group and T. */
    record Heads(int t, int c, int ck, int hs, int group, float scale, boolean causal) {

        /** T rounded up to the vector length: the row length of a packed [hs, T'] block. */
        int padded() {
            return (t + V - 1) / V * V;
        }

        /** Keys visible from query row i. */
        int visible(int i) {
            return causal ? i + 1 : t;
        }
    }

    /** A task's buffers: packed keys and values, a score row, a second row, an output row and the dk, dv accumulators. */
    static final class Scratch {
        final int t;
        final int hs;
        final MemorySegment kt;
        final MemorySegment vt;
        final MemorySegment s;
        final MemorySegment dp;
        final MemorySegment row;
        final MemorySegment dk;
        final MemorySegment dv;

        Scratch(Heads h, boolean backward) {
            int tp = h.padded();
            t = h.t();
            hs = h.hs();
            kt = SegmentAccess.scratch(h.hs() * tp);
            s = SegmentAccess.scratch(tp);
            row = SegmentAccess.scratch(h.hs() + V);
            vt = backward ? SegmentAccess.scratch(h.hs() * tp) : null;
            dp = backward ? SegmentAccess.scratch(tp) : null;
            dk = backward ? SegmentAccess.scratch(h.t() * h.hs()) : null;
            dv = backward ? SegmentAccess.scratch(h.t() * h.hs()) : null;
        }
    }

    /** This thread's scratch for the geometry h, reused while the geometry stays. */
    private static final ThreadLocal<Scratch[]> SCRATCH = ThreadLocal.withInitial(() -> new Scratch[2]);

    private static Scratch scratch(Heads h, boolean backward) {
        Scratch[] held = SCRATCH.get();
        int i = backward ? 1 : 0;
        Scratch s = held[i];
        if (s == null || s.t != h.t() || s.hs != h.hs()) {
            s = new Scratch(h, backward);
            held[i] = s;
        }
        return s;
    }

    /** An operand of the call: its storage and its element offset. */
    record Operand(MemorySegment m, int at) {
    }

    /** The forward of sequence bb's KV head g and the query heads of its group: out and lse written. */
    static void forward(int bb, int g, Operand q, Operand k, Operand v, Operand out, Operand lse, Heads h) {
        Scratch sc = scratch(h, false);
        int t = h.t();
        int kv = k.at() + bb * t * h.ck() + g * h.hs();
        pack(k.m(), kv, h.ck(), h, sc.kt);
        int vo = v.at() + bb * t * h.ck() + g * h.hs();
        int nh = h.c() / h.hs();
        for (int hh = g * h.group(); hh < (g + 1) * h.group(); hh++) {
            for (int i = 0; i < t; i++) {
                int row = (bb * t + i) * h.c() + hh * h.hs();
                float l = forwardRow(q.m(), q.at() + row, v.m(), vo, out.m(), out.at() + row, i, h, sc);
                lse.m().setAtIndex(JAVA_FLOAT, lse.at() + (long) (bb * nh + hh) * t + i, l);
            }
        }
    }

    /** The backward of sequence bb's KV head g: dq's rows of the group's heads, and dk, dv of the head. */
    static void backward(int bb, int g, Operand dout, Operand q, Operand k, Operand v, Operand out, Operand lse, Operand dq,
                         Operand dk, Operand dv, Heads h) {
        Scratch sc = scratch(h, true);
        int t = h.t();
        int kvOff = bb * t * h.ck() + g * h.hs();
        pack(k.m(), k.at() + kvOff, h.ck(), h, sc.kt);
        pack(v.m(), v.at() + kvOff, h.ck(), h, sc.vt);
        SegmentAccess.fill(sc.dk, 0, (long) t * h.hs(), 0f);
        SegmentAccess.fill(sc.dv, 0, (long) t * h.hs(), 0f);
        int nh = h.c() / h.hs();
        for (int hh = g * h.group(); hh < (g + 1) * h.group(); hh++) {
            for (int i = 0; i < t; i++) {
                int row = (bb * t + i) * h.c() + hh * h.hs();
                float l = lse.m().getAtIndex(JAVA_FLOAT, lse.at() + (long) (bb * nh + hh) * t + i);
                backwardRow(dout.m(), dout.at() + row, q.m(), q.at() + row, k.m(), k.at() + kvOff, out.m(), out.at() + row, l,
                        dq.m(), dq.at() + row, i, h, sc);
            }
        }
        addInto(sc.dk, h, dk.m(), dk.at() + kvOff, h.ck());
        addInto(sc.dv, h, dv.m(), dv.at() + kvOff, h.ck());
    }

    /** dst[d·T' + j] = src[so + j·ld + d] for j &lt; T, d &lt; hs: the head's rows transposed (padding stays 0). */
    static void pack(MemorySegment src, int so, int ld, Heads h, MemorySegment dst) {
        int tp = h.padded();
        for (int j = 0; j < h.t(); j++) {
            int r = so + j * ld;
            for (int d = 0; d < h.hs(); d++) {
                dst.setAtIndex(JAVA_FLOAT, (long) d * tp + j, src.getAtIndex(JAVA_FLOAT, r + d));
            }
        }
    }

    /**
     * s[j] = x_i·key_j for from ≤ j &lt; to from a packed [hs, T'] block, at s[j − from]; lanes past to
     * (up to the vector) hold the next keys' products or 0 and are never read as scores.
     */
    static void scores(MemorySegment x, int xo, MemorySegment packed, int from, int to, Heads h, MemorySegment s) {
        int tp = h.padded();
        int hs = h.hs();
        int j = from;
        for (; j + 4 * V <= to; j += 4 * V) {
            FloatVector a0 = FloatVector.zero(S);
            FloatVector a1 = FloatVector.zero(S);
            FloatVector a2 = FloatVector.zero(S);
            FloatVector a3 = FloatVector.zero(S);
            for (int d = 0; d < hs; d++) {
                FloatVector xd = FloatVector.broadcast(S, x.getAtIndex(JAVA_FLOAT, xo + d));
                long at = 4L * ((long) d * tp + j);
                a0 = FloatVector.fromMemorySegment(S, packed, at, ORDER).fma(xd, a0);
                a1 = FloatVector.fromMemorySegment(S, packed, at + 4L * V, ORDER).fma(xd, a1);
                a2 = FloatVector.fromMemorySegment(S, packed, at + 8L * V, ORDER).fma(xd, a2);
                a3 = FloatVector.fromMemorySegment(S, packed, at + 12L * V, ORDER).fma(xd, a3);
            }
            long o = 4L * (j - from);
            a0.intoMemorySegment(s, o, ORDER);
            a1.intoMemorySegment(s, o + 4L * V, ORDER);
            a2.intoMemorySegment(s, o + 8L * V, ORDER);
            a3.intoMemorySegment(s, o + 12L * V, ORDER);
        }
        for (; j < to; j += V) {
            FloatVector a = FloatVector.zero(S);
            for (int d = 0; d < hs; d++) {
                a = FloatVector.fromMemorySegment(S, packed, 4L * ((long) d * tp + j), ORDER)
                        .fma(FloatVector.broadcast(S, x.getAtIndex(JAVA_FLOAT, xo + d)), a);
            }
            a.intoMemorySegment(s, 4L * (j - from), ORDER);
        }
    }

    /** acc[d] = f·acc[d] + Σ_j p[j]·rows[ro + (from + j)·ld + d] for j &lt; n, d &lt; hs (acc in the row scratch). */
    static void weightedRows(MemorySegment p, int n, MemorySegment rows, int ro, int ld, int from, Heads h, float f,
                             MemorySegment acc) {
        int hs = h.hs();
        for (int d = 0; d < hs; d += V) {
            FloatVector a = FloatVector.fromMemorySegment(S, acc, 4L * d, ORDER).mul(f);
            if (d + V <= hs) {
                for (int j = 0; j < n; j++) {
                    a = FloatVector.fromMemorySegment(S, rows, 4L * (ro + (long) (from + j) * ld + d), ORDER)
                            .fma(FloatVector.broadcast(S, p.getAtIndex(JAVA_FLOAT, j)), a);
                }
            } else {
                var m = S.indexInRange(d, hs);
                for (int j = 0; j < n; j++) {
                    a = FloatVector.fromMemorySegment(S, rows, 4L * (ro + (long) (from + j) * ld + d), ORDER, m)
                            .fma(FloatVector.broadcast(S, p.getAtIndex(JAVA_FLOAT, j)), a);
                }
            }
            a.intoMemorySegment(acc, 4L * d, ORDER);
        }
    }

    /** acc[j·hs + d] += w[j]·x[xo + d] for j &lt; n, d &lt; hs: a rank-one update of a [T, hs] accumulator. */
    static void rankOne(MemorySegment w, int n, float f, MemorySegment x, int xo, Heads h, MemorySegment acc) {
        int hs = h.hs();
        int full = S.loopBound(hs);
        for (int j = 0; j < n; j++) {
            float wj = f * w.getAtIndex(JAVA_FLOAT, j);
            if (wj == 0f) {
                continue;
            }
            FloatVector b = FloatVector.broadcast(S, wj);
            long base = (long) j * hs;
            int d = 0;
            for (; d < full; d += V) {
                long at = 4L * (base + d);
                FloatVector.fromMemorySegment(S, x, 4L * (xo + d), ORDER).fma(b, FloatVector.fromMemorySegment(S, acc, at, ORDER))
                        .intoMemorySegment(acc, at, ORDER);
            }
            for (; d < hs; d++) {
                long at = base + d;
                acc.setAtIndex(JAVA_FLOAT, at, Math.fma(x.getAtIndex(JAVA_FLOAT, xo + d), wj, acc.getAtIndex(JAVA_FLOAT, at)));
            }
        }
    }

    /**
     * Forward of query row i of one head: q at qo, its keys packed in sc.kt, values from vo at ld ck;
     * writes the output row at oo and returns lse.
     */
    static float forwardRow(MemorySegment q, int qo, MemorySegment v, int vo, MemorySegment out, int oo, int i, Heads h,
                            Scratch sc) {
        int len = h.visible(i);
        float m = Float.NEGATIVE_INFINITY;
        double l = 0;
        SegmentAccess.fill(sc.row, 0, h.hs(), 0f);
        for (int from = 0; from < len; from += KEY_BLOCK) {
            int n = Math.min(KEY_BLOCK, len - from);
            scores(q, qo, sc.kt, from, from + n, h, sc.s);
            float mb = NnMath.maxScaled(sc.s, 0, n, h.scale());
            float mNew = Math.max(m, mb);
            // The first block finds acc and l at 0, so its factor (0 for m = −∞) changes nothing.
            float f = m == Float.NEGATIVE_INFINITY ? 0f : (float) StrictMath.exp((double) m - mNew);
            l = l * f + NnMath.expShifted(sc.s, 0, sc.s, 0, n, h.scale(), mNew);
            weightedRows(sc.s, n, v, vo, h.ck(), from, h, f, sc.row);
            m = mNew;
        }
        float inv = (float) (1.0 / l);
        int hs = h.hs();
        int full = S.loopBound(hs);
        int d = 0;
        for (; d < full; d += V) {
            FloatVector.fromMemorySegment(S, sc.row, 4L * d, ORDER).mul(inv).intoMemorySegment(out, 4L * (oo + d), ORDER);
        }
        for (; d < hs; d++) {
            out.setAtIndex(JAVA_FLOAT, oo + d, sc.row.getAtIndex(JAVA_FLOAT, d) * inv);
        }
        return (float) (m + Math.log(l));
    }

    /**
     * Backward of query row i of one head, with the group's keys and values packed in sc.kt and sc.vt:
     * adds into dq's row at dqo and into the task's dk, dv accumulators. k rows at ko (ld ck).
     */
    static void backwardRow(MemorySegment dout, int go, MemorySegment q, int qo, MemorySegment k, int ko, MemorySegment out,
                            int oo, float lse, MemorySegment dq, int dqo, int i, Heads h, Scratch sc) {
        int len = h.visible(i);
        int hs = h.hs();
        float rowTerm = (float) NnMath.dot(dout, go, out, oo, hs);
        scores(q, qo, sc.kt, 0, len, h, sc.s);
        NnMath.expShifted(sc.s, 0, sc.s, 0, len, h.scale(), lse);
        scores(dout, go, sc.vt, 0, len, h, sc.dp);
        // dv_j += p_j·dout_i, before ds overwrites dp
        rankOne(sc.s, len, 1f, dout, go, h, sc.dv);
        // ds_j = p_j·(dp_j − D), into dp
        int full = S.loopBound(len);
        int j = 0;
        for (; j < full; j += V) {
            FloatVector p = FloatVector.fromMemorySegment(S, sc.s, 4L * j, ORDER);
            p.mul(FloatVector.fromMemorySegment(S, sc.dp, 4L * j, ORDER).sub(rowTerm)).intoMemorySegment(sc.dp, 4L * j, ORDER);
        }
        for (; j < len; j++) {
            sc.dp.setAtIndex(JAVA_FLOAT, j, sc.s.getAtIndex(JAVA_FLOAT, j) * (sc.dp.getAtIndex(JAVA_FLOAT, j) - rowTerm));
        }
        rankOne(sc.dp, len, h.scale(), q, qo, h, sc.dk);
        // dq_i += scale·Σ_j ds_j·k_j: the row scratch from dq's row, then back
        SegmentAccess.fill(sc.row, 0, hs, 0f);
        weightedRows(sc.dp, len, k, ko, h.ck(), 0, h, 0f, sc.row);
        int fullD = S.loopBound(hs);
        int d = 0;
        for (; d < fullD; d += V) {
            FloatVector.fromMemorySegment(S, sc.row, 4L * d, ORDER)
                    .fma(FloatVector.broadcast(S, h.scale()), FloatVector.fromMemorySegment(S, dq, 4L * (dqo + d), ORDER))
                    .intoMemorySegment(dq, 4L * (dqo + d), ORDER);
        }
        for (; d < hs; d++) {
            dq.setAtIndex(JAVA_FLOAT, dqo + d, Math.fma(sc.row.getAtIndex(JAVA_FLOAT, d), h.scale(), dq.getAtIndex(JAVA_FLOAT, dqo + d)));
        }
    }

    /** dst[do + j·ld + d] += acc[j·hs + d] for j &lt; T, d &lt; hs: a task's accumulator into dk or dv. */
    static void addInto(MemorySegment acc, Heads h, MemorySegment dst, int dOff, int ld) {
        int hs = h.hs();
        int full = S.loopBound(hs);
        for (int j = 0; j < h.t(); j++) {
            long a = (long) j * hs;
            long o = dOff + (long) j * ld;
            int d = 0;
            for (; d < full; d += V) {
                FloatVector.fromMemorySegment(S, acc, 4L * (a + d), ORDER).add(FloatVector.fromMemorySegment(S, dst, 4L * (o + d), ORDER))
                        .intoMemorySegment(dst, 4L * (o + d), ORDER);
            }
            for (; d < hs; d++) {
                dst.setAtIndex(JAVA_FLOAT, o + d, acc.getAtIndex(JAVA_FLOAT, a + d) + dst.getAtIndex(JAVA_FLOAT, o + d));
            }
        }
    }
}
