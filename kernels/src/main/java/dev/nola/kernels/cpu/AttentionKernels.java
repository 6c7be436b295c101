package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.NnMath.S;
import static dev.nola.kernels.cpu.NnMath.V;
import static dev.nola.kernels.cpu.SegmentAccess.ORDER;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import jdk.incubator.vector.FloatVector;

/**
 * Fused attention on the cpu: one task per (sequence, KV head) covers the query heads of its group,
 * {@link #ROWS} query rows at a time, and keeps nothing of size T × T. The task packs its keys (and,
 * backward, its values) transposed into {@code [hs, T']} (T' = T rounded up to two vectors) so that
 * the scores of 2V keys for four rows are broadcast-fmas over hs, with no horizontal sums; rows of v
 * and k are read in place for the products with the probabilities, each load serving the four rows.
 *
 * <p>Forward: the keys in blocks of {@link #KEY_BLOCK}, with the online softmax (running maximum m
 * and sum l, the output row rescaled by exp(m_old − m_new) when a block raises the maximum); it
 * writes out and lse = m + log l. For T ≤ {@link #KEY_BLOCK} that is one block, the exact two-pass
 * softmax. Backward (FlashAttention-2's): p = exp(s − lse), dp = dout·vᵀ, D = dout·out,
 * ds = p·(dp − D); dq_i += scale·ds·k, and dk, dv gather into the task's own {@code [T, hs]}
 * accumulators, added into dk and dv once the group is done.
 *
 * <p>Every vector loop is a small method of its own: C2 left the Vector API unintrinsified (30×
 * slower) when the two-vector product was inlined into its caller, and the task loops, compiled late
 * by OSR, must hold no vector code (it allocates in the interpreter and C1).
 *
 * <p>Deterministic: a row's result depends only on its inputs (padding rows of a block add zeros), and
 * the task's accumulators add the group's heads and rows in ascending order, whatever the threads.
 */
final class AttentionKernels {

    /** Keys per block of the forward's online softmax; a row's scores in a block stay in L1. */
    static final int KEY_BLOCK = 256;

    private AttentionKernels() {
    }

    /** The geometry of one call: hs, the widths of q (c) and of k and v (ck), the group and T. */
    record Heads(int t, int c, int ck, int hs, int group, float scale, boolean causal) {

        /** T rounded up to two vectors (the keys a score step covers): the row length of a packed [hs, T'] block. */
        int padded() {
            return (t + 2 * V - 1) / (2 * V) * (2 * V);
        }

        /** Keys visible from query row i. */
        int visible(int i) {
            return causal ? i + 1 : t;
        }
    }

    /** Query rows per block: the score, probability and gradient products share each load of a key or value among them. */
    static final int ROWS = 4;

    /**
     * A task's buffers: packed keys and values, {@link #ROWS} score rows and as many second rows
     * ([ROWS, T']), {@link #ROWS} output rows ([ROWS, hs']) and the dk, dv accumulators ([T, hs]).
     */
    static final class Scratch {
        final int t;
        final int hs;
        /** hs rounded up to the vector length: the stride of the output rows. */
        final int hsp;
        final MemorySegment kt;
        final MemorySegment vt;
        final MemorySegment s;
        final MemorySegment dp;
        final MemorySegment row;
        final MemorySegment dk;
        final MemorySegment dv;
        final float[] m = new float[ROWS];
        final double[] l = new double[ROWS];
        final float[] f = new float[ROWS];
        final int[] len = new int[ROWS];
        final int[] off = new int[ROWS];
        final int[] off2 = new int[ROWS];

        /** The pool buffers behind the segments, given back by {@link #free}. */
        private final List<ScratchPool.Buffer> held = new ArrayList<>(7);

        Scratch(Heads h, boolean backward) {
            int tp = h.padded();
            t = h.t();
            hs = h.hs();
            hsp = (hs + V - 1) / V * V;
            kt = buffer(h.hs() * tp);
            s = buffer(ROWS * tp);
            row = buffer(ROWS * hsp);
            vt = backward ? buffer(h.hs() * tp) : null;
            dp = backward ? buffer(ROWS * tp) : null;
            dk = backward ? buffer(h.t() * h.hs()) : null;
            dv = backward ? buffer(h.t() * h.hs()) : null;
        }

        private MemorySegment buffer(int floats) {
            ScratchPool.Buffer b = ScratchPool.take(floats);
            held.add(b);
            return b.segment;
        }

        void free() {
            held.forEach(ScratchPool.Buffer::close);
        }
    }

    /**
     * Idle scratch sets, forward's and backward's, shared by all threads; a task takes one and gives
     * it back. Not thread-locals: the common pool's workers lose theirs whenever they go idle (see
     * {@link SgemmBuffers}), so a set was built anew for most calls.
     */
    @SuppressWarnings("unchecked")
    private static final ConcurrentLinkedDeque<Scratch>[] IDLE = new ConcurrentLinkedDeque[] {
            new ConcurrentLinkedDeque<Scratch>(), new ConcurrentLinkedDeque<Scratch>()};
    /** Idle sets kept per kind: the cores here and a caller, with room to spare. */
    private static final int KEPT = 16;

    /** An idle set for the geometry h, or a new one (an idle set of another geometry is freed). */
    private static Scratch take(Heads h, boolean backward) {
        Scratch s = IDLE[backward ? 1 : 0].pollFirst();
        if (s != null && (s.t != h.t() || s.hs != h.hs())) {
            s.free();
            s = null;
        }
        return s != null ? s : new Scratch(h, backward);
    }

    private static void give(Scratch s, boolean backward) {
        var idle = IDLE[backward ? 1 : 0];
        if (idle.size() < KEPT) {
            idle.addFirst(s);
        } else {
            s.free();
        }
    }

    /** An operand of the call: its storage and its element offset. */
    record Operand(MemorySegment m, int at) {
    }

    /** The forward of sequence bb's KV head g and the query heads of its group: out and lse written. */
    static void forward(int bb, int g, Operand q, Operand k, Operand v, Operand out, Operand lse, Heads h) {
        Scratch sc = take(h, false);
        try {
            forward(bb, g, q, k, v, out, lse, h, sc);
        } finally {
            give(sc, false);
        }
    }

    private static void forward(int bb, int g, Operand q, Operand k, Operand v, Operand out, Operand lse, Heads h, Scratch sc) {
        int t = h.t();
        pack(k.m(), k.at() + bb * t * h.ck() + g * h.hs(), h.ck(), h, sc.kt);
        int vo = v.at() + bb * t * h.ck() + g * h.hs();
        int nh = h.c() / h.hs();
        for (int hh = g * h.group(); hh < (g + 1) * h.group(); hh++) {
            for (int i0 = 0; i0 < t; i0 += ROWS) {
                int rows = block(bb, hh, i0, h, sc);
                for (int r = 0; r < ROWS; r++) {
                    sc.off2[r] = q.at() + sc.off[r];
                }
                forwardBlock(q.m(), v.m(), vo, h, sc);
                for (int r = 0; r < rows; r++) {
                    int oo = out.at() + sc.off[r];
                    float inv = (float) (1.0 / sc.l[r]);
                    scaleInto(sc.row, r * sc.hsp, inv, out.m(), oo, h.hs());
                    lse.m().setAtIndex(JAVA_FLOAT, lse.at() + (long) (bb * nh + hh) * t + i0 + r, (float) (sc.m[r] + StrictMath.log(sc.l[r])));
                }
            }
        }
    }

    /**
     * Sets up the block of query rows i0 .. i0 + ROWS − 1 of head hh: each row's offset in a [B, T, C]
     * tensor (sc.off) and visible keys (sc.len); rows past T repeat the last row with no keys, so they
     * add nothing. Returns the block's real rows.
     */
    private static int block(int bb, int hh, int i0, Heads h, Scratch sc) {
        int t = h.t();
        int rows = Math.min(ROWS, t - i0);
        for (int r = 0; r < ROWS; r++) {
            int i = Math.min(i0 + r, t - 1);
            sc.off[r] = (bb * t + i) * h.c() + hh * h.hs();
            sc.len[r] = r < rows ? h.visible(i) : 0;
        }
        return rows;
    }

    private static int maxLen(Scratch sc) {
        int n = 0;
        for (int r = 0; r < ROWS; r++) {
            n = Math.max(n, sc.len[r]);
        }
        return n;
    }

    /**
     * The online softmax of a block of query rows (q at sc.off2, sc.len keys each) over its keys in
     * blocks of {@link #KEY_BLOCK}: leaves Σ exp(s − m)·v in the output rows, m in sc.m and the sum in sc.l.
     */
    private static void forwardBlock(MemorySegment q, MemorySegment v, int vo, Heads h, Scratch sc) {
        int tp = h.padded();
        int all = maxLen(sc);
        SegmentAccess.fill(sc.row, 0, (long) ROWS * sc.hsp, 0f);
        for (int r = 0; r < ROWS; r++) {
            sc.m[r] = Float.NEGATIVE_INFINITY;
            sc.l[r] = 0;
        }
        for (int from = 0; from < all; from += KEY_BLOCK) {
            int n = Math.min(KEY_BLOCK, all - from);
            scores(q, sc.off2, sc.kt, from, from + n, h, sc.s);
            for (int r = 0; r < ROWS; r++) {
                int nr = Math.clamp(sc.len[r] - from, 0, n);
                int so = r * tp;
                if (nr == 0) {
                    SegmentAccess.fill(sc.s, so, so + n, 0f);
                    sc.f[r] = 1f;
                    continue;
                }
                float mNew = Math.max(sc.m[r], NnMath.maxScaled(sc.s, so, nr, h.scale()));
                // The first block finds the output and the sum at 0, so its factor (0 for m = −∞) changes nothing.
                float f = sc.m[r] == Float.NEGATIVE_INFINITY ? 0f : (float) StrictMath.exp((double) sc.m[r] - mNew);
                sc.l[r] = sc.l[r] * f + NnMath.expShifted(sc.s, so, sc.s, so, nr, h.scale(), mNew);
                SegmentAccess.fill(sc.s, so + nr, so + n, 0f);
                sc.f[r] = f;
                sc.m[r] = mNew;
            }
            weightedRows(sc.s, n, v, vo, h.ck(), from, h, sc.f, sc.row, sc.hsp);
        }
    }

    /** dst[do + d] = f·src[so + d] for d &lt; n. */
    private static void scaleInto(MemorySegment src, int so, float f, MemorySegment dst, int dOff, int n) {
        int full = S.loopBound(n);
        int d = 0;
        for (; d < full; d += V) {
            FloatVector.fromMemorySegment(S, src, 4L * (so + d), ORDER).mul(f).intoMemorySegment(dst, 4L * (dOff + d), ORDER);
        }
        for (; d < n; d++) {
            dst.setAtIndex(JAVA_FLOAT, dOff + d, src.getAtIndex(JAVA_FLOAT, so + d) * f);
        }
    }

    /** The backward of sequence bb's KV head g: dq's rows of the group's heads, and dk, dv of the head. */
    static void backward(int bb, int g, Operand dout, Operand q, Operand k, Operand v, Operand out, Operand lse, Operand dq,
                         Operand dk, Operand dv, Heads h) {
        Scratch sc = take(h, true);
        try {
            backward(bb, g, dout, q, k, v, out, lse, dq, dk, dv, h, sc);
        } finally {
            give(sc, true);
        }
    }

    private static void backward(int bb, int g, Operand dout, Operand q, Operand k, Operand v, Operand out, Operand lse, Operand dq,
                                 Operand dk, Operand dv, Heads h, Scratch sc) {
        int t = h.t();
        int tp = h.padded();
        int hs = h.hs();
        int kvOff = bb * t * h.ck() + g * hs;
        pack(k.m(), k.at() + kvOff, h.ck(), h, sc.kt);
        pack(v.m(), v.at() + kvOff, h.ck(), h, sc.vt);
        SegmentAccess.fill(sc.dk, 0, (long) t * hs, 0f);
        SegmentAccess.fill(sc.dv, 0, (long) t * hs, 0f);
        int nh = h.c() / hs;
        float[] rowTerm = new float[ROWS];
        for (int hh = g * h.group(); hh < (g + 1) * h.group(); hh++) {
            for (int i0 = 0; i0 < t; i0 += ROWS) {
                int rows = block(bb, hh, i0, h, sc);
                int all = maxLen(sc);
                // p = exp(scale·q·kᵀ − lse), 0 past each row's keys
                for (int r = 0; r < ROWS; r++) {
                    sc.off2[r] = q.at() + sc.off[r];
                }
                scores(q.m(), sc.off2, sc.kt, 0, all, h, sc.s);
                for (int r = 0; r < ROWS; r++) {
                    int so = r * tp;
                    int n = sc.len[r];
                    if (n > 0) {
                        float l = lse.m().getAtIndex(JAVA_FLOAT, lse.at() + (long) (bb * nh + hh) * t + i0 + r);
                        NnMath.expShifted(sc.s, so, sc.s, so, n, h.scale(), l);
                        rowTerm[r] = (float) NnMath.dot(dout.m(), dout.at() + sc.off[r], out.m(), out.at() + sc.off[r], hs);
                    }
                    SegmentAccess.fill(sc.s, so + n, so + tp, 0f);
                }
                // dp = dout·vᵀ; dv += pᵀ·dout
                for (int r = 0; r < ROWS; r++) {
                    sc.off2[r] = dout.at() + sc.off[r];
                }
                scores(dout.m(), sc.off2, sc.vt, 0, all, h, sc.dp);
                rankOne(sc.s, all, 1f, dout.m(), sc.off2, h, sc.dv);
                softmaxGradient(sc.s, sc.dp, rowTerm, all, tp);
                // dk += scale·dsᵀ·q; dq += scale·ds·k
                for (int r = 0; r < ROWS; r++) {
                    sc.off2[r] = q.at() + sc.off[r];
                }
                rankOne(sc.dp, all, h.scale(), q.m(), sc.off2, h, sc.dk);
                SegmentAccess.fill(sc.row, 0, (long) ROWS * sc.hsp, 0f);
                java.util.Arrays.fill(sc.f, 0f);
                weightedRows(sc.dp, all, k.m(), k.at() + kvOff, h.ck(), 0, h, sc.f, sc.row, sc.hsp);
                for (int r = 0; r < rows; r++) {
                    addScaled(sc.row, r * sc.hsp, h.scale(), dq.m(), dq.at() + sc.off[r], hs);
                }
            }
        }
        addInto(sc.dk, h, dk.m(), dk.at() + kvOff, h.ck());
        addInto(sc.dv, h, dv.m(), dv.at() + kvOff, h.ck());
    }

    /**
     * ds = p·(dp − D) per row of the block, into dp (0 where p is), for the keys below all rounded up
     * to the vector. Its own method, like every vector loop here: a caller that runs long in the
     * interpreter or C1 (the task loops) keeps no vector code, which would allocate there.
     */
    private static void softmaxGradient(MemorySegment p, MemorySegment dp, float[] rowTerm, int all, int tp) {
        for (int r = 0; r < ROWS; r++) {
            int so = r * tp;
            FloatVector d = FloatVector.broadcast(S, rowTerm[r]);
            for (int j = 0; j < all; j += V) {
                long at = 4L * (so + j);
                FloatVector.fromMemorySegment(S, p, at, ORDER).mul(FloatVector.fromMemorySegment(S, dp, at, ORDER).sub(d))
                        .intoMemorySegment(dp, at, ORDER);
            }
        }
    }

    /** dst[do + d] += f·src[so + d] for d &lt; n. */
    private static void addScaled(MemorySegment src, int so, float f, MemorySegment dst, int dOff, int n) {
        int full = S.loopBound(n);
        FloatVector vf = FloatVector.broadcast(S, f);
        int d = 0;
        for (; d < full; d += V) {
            FloatVector.fromMemorySegment(S, src, 4L * (so + d), ORDER).fma(vf, FloatVector.fromMemorySegment(S, dst, 4L * (dOff + d), ORDER))
                    .intoMemorySegment(dst, 4L * (dOff + d), ORDER);
        }
        for (; d < n; d++) {
            dst.setAtIndex(JAVA_FLOAT, dOff + d, Math.fma(src.getAtIndex(JAVA_FLOAT, so + d), f, dst.getAtIndex(JAVA_FLOAT, dOff + d)));
        }
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
     * s[r·T' + j − from] = x_r·key_j for the {@link #ROWS} rows x_r at xo[r] and from ≤ j &lt; to, from a
     * packed [hs, T'] block, two vectors of keys at a time; lanes past to (up to 2V) hold the next
     * keys' products or 0 and are never read as scores.
     */
    static void scores(MemorySegment x, int[] xo, MemorySegment packed, int from, int to, Heads h, MemorySegment s) {
        int tp = h.padded();
        int hs = h.hs();
        int x0 = xo[0], x1 = xo[1], x2 = xo[2], x3 = xo[3];
        for (int j = from; j < to; j += 2 * V) {
            FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
            FloatVector b0 = FloatVector.zero(S), b1 = FloatVector.zero(S), b2 = FloatVector.zero(S), b3 = FloatVector.zero(S);
            for (int d = 0; d < hs; d++) {
                long at = 4L * ((long) d * tp + j);
                FloatVector k0 = FloatVector.fromMemorySegment(S, packed, at, ORDER);
                FloatVector k1 = FloatVector.fromMemorySegment(S, packed, at + 4L * V, ORDER);
                FloatVector y = FloatVector.broadcast(S, x.getAtIndex(JAVA_FLOAT, x0 + d));
                a0 = k0.fma(y, a0);
                b0 = k1.fma(y, b0);
                y = FloatVector.broadcast(S, x.getAtIndex(JAVA_FLOAT, x1 + d));
                a1 = k0.fma(y, a1);
                b1 = k1.fma(y, b1);
                y = FloatVector.broadcast(S, x.getAtIndex(JAVA_FLOAT, x2 + d));
                a2 = k0.fma(y, a2);
                b2 = k1.fma(y, b2);
                y = FloatVector.broadcast(S, x.getAtIndex(JAVA_FLOAT, x3 + d));
                a3 = k0.fma(y, a3);
                b3 = k1.fma(y, b3);
            }
            long o = 4L * (j - from);
            long row = 4L * tp;
            a0.intoMemorySegment(s, o, ORDER);
            b0.intoMemorySegment(s, o + 4L * V, ORDER);
            a1.intoMemorySegment(s, o + row, ORDER);
            b1.intoMemorySegment(s, o + row + 4L * V, ORDER);
            a2.intoMemorySegment(s, o + 2 * row, ORDER);
            b2.intoMemorySegment(s, o + 2 * row + 4L * V, ORDER);
            a3.intoMemorySegment(s, o + 3 * row, ORDER);
            b3.intoMemorySegment(s, o + 3 * row + 4L * V, ORDER);
        }
    }

    /**
     * acc_r[d] = f[r]·acc_r[d] + Σ_j p[r·T' + j]·rows[ro + (from + j)·ld + d] for the {@link #ROWS}
     * rows, j &lt; n, d &lt; hs (acc_r at r·stride): each row vector loaded once for the four.
     */
    static void weightedRows(MemorySegment p, int n, MemorySegment rows, int ro, int ld, int from, Heads h, float[] f,
                             MemorySegment acc, int stride) {
        int hs = h.hs();
        int tp = h.padded();
        long row = 4L * tp;
        long st = 4L * stride;
        int d0 = 0;
        for (; d0 + 2 * V <= hs; d0 += 2 * V) {
            weightedPair(p, n, rows, ro, ld, from, row, f, acc, st, d0);
        }
        for (int d = d0; d < hs; d += V) {
            long a = 4L * d;
            FloatVector a0 = FloatVector.fromMemorySegment(S, acc, a, ORDER).mul(f[0]);
            FloatVector a1 = FloatVector.fromMemorySegment(S, acc, a + st, ORDER).mul(f[1]);
            FloatVector a2 = FloatVector.fromMemorySegment(S, acc, a + 2 * st, ORDER).mul(f[2]);
            FloatVector a3 = FloatVector.fromMemorySegment(S, acc, a + 3 * st, ORDER).mul(f[3]);
            var m = S.indexInRange(d, hs);
            boolean full = d + V <= hs;
            for (int j = 0; j < n; j++) {
                long at = 4L * (ro + (long) (from + j) * ld + d);
                FloatVector y = full ? FloatVector.fromMemorySegment(S, rows, at, ORDER)
                        : FloatVector.fromMemorySegment(S, rows, at, ORDER, m);
                long pj = 4L * j;
                a0 = y.fma(FloatVector.broadcast(S, p.get(JAVA_FLOAT, pj)), a0);
                a1 = y.fma(FloatVector.broadcast(S, p.get(JAVA_FLOAT, pj + row)), a1);
                a2 = y.fma(FloatVector.broadcast(S, p.get(JAVA_FLOAT, pj + 2 * row)), a2);
                a3 = y.fma(FloatVector.broadcast(S, p.get(JAVA_FLOAT, pj + 3 * row)), a3);
            }
            a0.intoMemorySegment(acc, a, ORDER);
            a1.intoMemorySegment(acc, a + st, ORDER);
            a2.intoMemorySegment(acc, a + 2 * st, ORDER);
            a3.intoMemorySegment(acc, a + 3 * st, ORDER);
        }
    }

    /** {@link #weightedRows} for the two vectors of d from d0: the four broadcasts of a key serve eight fmas. */
    private static void weightedPair(MemorySegment p, int n, MemorySegment rows, int ro, int ld, int from, long row, float[] f,
                                     MemorySegment acc, long st, int d0) {
        long a = 4L * d0;
        long b = a + 4L * V;
        FloatVector a0 = FloatVector.fromMemorySegment(S, acc, a, ORDER).mul(f[0]);
        FloatVector a1 = FloatVector.fromMemorySegment(S, acc, a + st, ORDER).mul(f[1]);
        FloatVector a2 = FloatVector.fromMemorySegment(S, acc, a + 2 * st, ORDER).mul(f[2]);
        FloatVector a3 = FloatVector.fromMemorySegment(S, acc, a + 3 * st, ORDER).mul(f[3]);
        FloatVector b0 = FloatVector.fromMemorySegment(S, acc, b, ORDER).mul(f[0]);
        FloatVector b1 = FloatVector.fromMemorySegment(S, acc, b + st, ORDER).mul(f[1]);
        FloatVector b2 = FloatVector.fromMemorySegment(S, acc, b + 2 * st, ORDER).mul(f[2]);
        FloatVector b3 = FloatVector.fromMemorySegment(S, acc, b + 3 * st, ORDER).mul(f[3]);
        for (int j = 0; j < n; j++) {
            long at = 4L * (ro + (long) (from + j) * ld + d0);
            FloatVector y = FloatVector.fromMemorySegment(S, rows, at, ORDER);
            FloatVector z = FloatVector.fromMemorySegment(S, rows, at + 4L * V, ORDER);
            long pj = 4L * j;
            FloatVector p0 = FloatVector.broadcast(S, p.get(JAVA_FLOAT, pj));
            FloatVector p1 = FloatVector.broadcast(S, p.get(JAVA_FLOAT, pj + row));
            FloatVector p2 = FloatVector.broadcast(S, p.get(JAVA_FLOAT, pj + 2 * row));
            FloatVector p3 = FloatVector.broadcast(S, p.get(JAVA_FLOAT, pj + 3 * row));
            a0 = y.fma(p0, a0);
            b0 = z.fma(p0, b0);
            a1 = y.fma(p1, a1);
            b1 = z.fma(p1, b1);
            a2 = y.fma(p2, a2);
            b2 = z.fma(p2, b2);
            a3 = y.fma(p3, a3);
            b3 = z.fma(p3, b3);
        }
        a0.intoMemorySegment(acc, a, ORDER);
        a1.intoMemorySegment(acc, a + st, ORDER);
        a2.intoMemorySegment(acc, a + 2 * st, ORDER);
        a3.intoMemorySegment(acc, a + 3 * st, ORDER);
        b0.intoMemorySegment(acc, b, ORDER);
        b1.intoMemorySegment(acc, b + st, ORDER);
        b2.intoMemorySegment(acc, b + 2 * st, ORDER);
        b3.intoMemorySegment(acc, b + 3 * st, ORDER);
    }

    /**
     * acc[j·hs + d] += f·Σ_r w[r·T' + j]·x[xo[r] + d] for j &lt; n, d &lt; hs: the {@link #ROWS} rows'
     * rank-one updates of a [T, hs] accumulator, each accumulator vector loaded and stored once for the four.
     */
    static void rankOne(MemorySegment w, int n, float f, MemorySegment x, int[] xo, Heads h, MemorySegment acc) {
        int hs = h.hs();
        int tp = h.padded();
        long row = 4L * tp;
        int full = S.loopBound(hs);
        int d0 = 0;
        // two vectors of d per key: the four broadcasts serve eight fmas
        for (; d0 + 2 * V <= hs; d0 += 2 * V) {
            rankOnePair(w, n, f, x, xo, hs, row, acc, d0);
        }
        for (int d = d0; d < full; d += V) {
            FloatVector x0 = FloatVector.fromMemorySegment(S, x, 4L * (xo[0] + d), ORDER).mul(f);
            FloatVector x1 = FloatVector.fromMemorySegment(S, x, 4L * (xo[1] + d), ORDER).mul(f);
            FloatVector x2 = FloatVector.fromMemorySegment(S, x, 4L * (xo[2] + d), ORDER).mul(f);
            FloatVector x3 = FloatVector.fromMemorySegment(S, x, 4L * (xo[3] + d), ORDER).mul(f);
            for (int j = 0; j < n; j++) {
                long at = 4L * ((long) j * hs + d);
                long wj = 4L * j;
                FloatVector a = FloatVector.fromMemorySegment(S, acc, at, ORDER);
                a = x0.fma(FloatVector.broadcast(S, w.get(JAVA_FLOAT, wj)), a);
                a = x1.fma(FloatVector.broadcast(S, w.get(JAVA_FLOAT, wj + row)), a);
                a = x2.fma(FloatVector.broadcast(S, w.get(JAVA_FLOAT, wj + 2 * row)), a);
                a = x3.fma(FloatVector.broadcast(S, w.get(JAVA_FLOAT, wj + 3 * row)), a);
                a.intoMemorySegment(acc, at, ORDER);
            }
        }
        for (int d = full; d < hs; d++) {
            for (int j = 0; j < n; j++) {
                long at = (long) j * hs + d;
                float a = acc.getAtIndex(JAVA_FLOAT, at);
                for (int r = 0; r < ROWS; r++) {
                    a = Math.fma(f * x.getAtIndex(JAVA_FLOAT, xo[r] + d), w.getAtIndex(JAVA_FLOAT, (long) r * tp + j), a);
                }
                acc.setAtIndex(JAVA_FLOAT, at, a);
            }
        }
    }

    /** {@link #rankOne} for the two vectors of d from d0 (its own method, as {@link #weightedPair}). */
    private static void rankOnePair(MemorySegment w, int n, float f, MemorySegment x, int[] xo, int hs, long row,
                                    MemorySegment acc, int d0) {
        FloatVector x0 = FloatVector.fromMemorySegment(S, x, 4L * (xo[0] + d0), ORDER).mul(f);
        FloatVector x1 = FloatVector.fromMemorySegment(S, x, 4L * (xo[1] + d0), ORDER).mul(f);
        FloatVector x2 = FloatVector.fromMemorySegment(S, x, 4L * (xo[2] + d0), ORDER).mul(f);
        FloatVector x3 = FloatVector.fromMemorySegment(S, x, 4L * (xo[3] + d0), ORDER).mul(f);
        FloatVector y0 = FloatVector.fromMemorySegment(S, x, 4L * (xo[0] + d0 + V), ORDER).mul(f);
        FloatVector y1 = FloatVector.fromMemorySegment(S, x, 4L * (xo[1] + d0 + V), ORDER).mul(f);
        FloatVector y2 = FloatVector.fromMemorySegment(S, x, 4L * (xo[2] + d0 + V), ORDER).mul(f);
        FloatVector y3 = FloatVector.fromMemorySegment(S, x, 4L * (xo[3] + d0 + V), ORDER).mul(f);
        for (int j = 0; j < n; j++) {
            long at = 4L * ((long) j * hs + d0);
            long wj = 4L * j;
            FloatVector w0 = FloatVector.broadcast(S, w.get(JAVA_FLOAT, wj));
            FloatVector w1 = FloatVector.broadcast(S, w.get(JAVA_FLOAT, wj + row));
            FloatVector w2 = FloatVector.broadcast(S, w.get(JAVA_FLOAT, wj + 2 * row));
            FloatVector w3 = FloatVector.broadcast(S, w.get(JAVA_FLOAT, wj + 3 * row));
            FloatVector a = FloatVector.fromMemorySegment(S, acc, at, ORDER);
            FloatVector b = FloatVector.fromMemorySegment(S, acc, at + 4L * V, ORDER);
            a = x0.fma(w0, a);
            b = y0.fma(w0, b);
            a = x1.fma(w1, a);
            b = y1.fma(w1, b);
            a = x2.fma(w2, a);
            b = y2.fma(w2, b);
            a = x3.fma(w3, a);
            b = y3.fma(w3, b);
            a.intoMemorySegment(acc, at, ORDER);
            b.intoMemorySegment(acc, at + 4L * V, ORDER);
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
