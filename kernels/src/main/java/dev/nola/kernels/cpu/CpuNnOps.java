package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.NnMath.S;
import static dev.nola.kernels.cpu.NnMath.V;
import static dev.nola.kernels.cpu.SegmentAccess.ORDER;
import static dev.nola.kernels.host.HostTensor.at;
import static dev.nola.kernels.host.HostTensor.segment;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.nola.kernels.AbstractNnOps;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;

/**
 * The nn family on the cpu backend: Vector API row kernels ({@link LayerNormKernels},
 * {@link RmsNormKernels}, {@link GeluKernels}, {@link SwigluKernels}, {@link SoftmaxKernels} on the exp
 * and sums of {@link NnMath}, and {@link RopeKernels}) spread over rows or element ranges on the
 * common fork-join pool; every view is addressed from its offset. Attention, grouped-query heads
 * included, is the default composition (the cpu {@link Sgemm} through {@code matmulBatched},
 * parallel over heads, around {@link #softmaxForward}).
 *
 * <p>Deterministic: no result depends on how work is split among threads. Column sums over rows (the
 * bias, layernorm and RMSNorm weight gradients) go through per-range partials whose ranges depend
 * only on the row length, added in range order; the embedding gradients are split by columns, each
 * column adding its tokens in ascending order (bit-identical to the reference); RoPE is the
 * reference's float operations (bit-identical); everything else writes disjoint elements.
 */
public final class CpuNnOps extends AbstractNnOps {

    /** Elements of work per parallel task; below it a kernel runs on the calling thread. */
    private static final int GRAIN = 1 << 14;
    /** Columns per task of the embedding backward (a multiple of the vector length). */
    private static final int COLUMN_BLOCK = Math.max(V, 64 / V * V);

    public CpuNnOps(Device device) {
        super(device);
    }

    // ---------------------------------------------------------------- parallel helpers

    private interface Range {
        void run(int from, int to);
    }

    private static void forEach(int count, IntConsumer body) {
        IntStream r = IntStream.range(0, count);
        (count > 1 ? r.parallel() : r).forEach(body);
    }

    /** Rows per task for rows of {@code rowLength} elements; a function of the row length only. */
    private static int rowsPerTask(int rowLength) {
        return Math.max(1, GRAIN / Math.max(1, rowLength));
    }

    /** body(from, to) over [0, rows) in ranges of {@link #rowsPerTask} rows, in parallel when there are several. */
    private static void rows(int rows, int rowLength, Range body) {
        int per = rowsPerTask(rowLength);
        forEach((rows + per - 1) / per, i -> body.run(i * per, Math.min(rows, (i + 1) * per)));
    }

    /** body(from, to) over elements [0, n) in ranges of 4·GRAIN. */
    private static void elements(long n, Range body) {
        int per = 4 * GRAIN;
        forEach((int) ((n + per - 1) / per), i -> body.run(i * per, (int) Math.min(n, (long) (i + 1) * per)));
    }

    // ---------------------------------------------------------------- encoder

    @Override
    protected void doEncoderForward(Tensor ids, Tensor wte, Tensor wpe, Tensor out, int n, int t, int c) {
        MemorySegment id = segment(ids);
        int io = at(ids);
        MemorySegment te = wte == null ? null : segment(wte);
        boolean half = wte != null && wte.dtype() == DType.BF16; // a frozen table: rows widened exactly as loaded
        int teo = wte == null ? 0 : at(wte);
        MemorySegment pe = wpe == null ? null : segment(wpe);
        int peo = wpe == null ? 0 : at(wpe);
        MemorySegment o = segment(out);
        int oo = at(out);
        rows(n, c, (from, to) -> {
            int full = S.loopBound(c);
            for (int r = from; r < to; r++) {
                int orow = oo + r * c;
                int prow = peo + (r % t) * c;
                if (te == null) {
                    SegmentAccess.copy(pe, prow, o, orow, c);
                    continue;
                }
                int trow = teo + id.getAtIndex(JAVA_INT, io + r) * c;
                if (pe == null && !half) {
                    SegmentAccess.copy(te, trow, o, orow, c);
                    continue;
                }
                int j = 0;
                if (pe == null) { // a bfloat16 table without positions: widened rows copied
                    for (; j < full; j += V) {
                        SegmentAccess.widenHalves(te, trow + j).intoMemorySegment(o, 4L * (orow + j), ORDER);
                    }
                    for (; j < c; j++) {
                        o.setAtIndex(JAVA_FLOAT, orow + j, SegmentAccess.widenHalf(te, trow + j));
                    }
                    continue;
                }
                for (; j < full; j += V) { // one loop per case: no vector merged across a branch
                    SegmentAccess.load(te, half, trow + j).add(FloatVector.fromMemorySegment(S, pe, 4L * (prow + j), ORDER))
                            .intoMemorySegment(o, 4L * (orow + j), ORDER);
                }
                for (; j < c; j++) {
                    o.setAtIndex(JAVA_FLOAT, orow + j, SegmentAccess.get(te, half, trow + j) + pe.getAtIndex(JAVA_FLOAT, prow + j));
                }
            }
        });
    }

    @Override
    protected void doEncoderBackward(Tensor ids, Tensor dout, Tensor dwte, Tensor dwpe, int n, int t, int c) {
        MemorySegment id = segment(ids);
        int io = at(ids);
        MemorySegment g = segment(dout);
        int go = at(dout);
        MemorySegment te = dwte == null ? null : segment(dwte);
        int teo = dwte == null ? 0 : at(dwte);
        MemorySegment pe = dwpe == null ? null : segment(dwpe);
        int peo = dwpe == null ? 0 : at(dwpe);
        int blocks = (c + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
        IntConsumer block = bi -> {
            int j0 = bi * COLUMN_BLOCK;
            int width = Math.min(COLUMN_BLOCK, c - j0);
            int full = S.loopBound(width);
            for (int r = 0; r < n; r++) {
                int grow = go + r * c + j0;
                if (te != null) {
                    addRow(g, grow, te, teo + id.getAtIndex(JAVA_INT, io + r) * c + j0, width, full);
                }
                if (pe != null) {
                    addRow(g, grow, pe, peo + (r % t) * c + j0, width, full);
                }
            }
        };
        if ((long) n * c >= GRAIN) {
            forEach(blocks, block);
        } else {
            for (int bi = 0; bi < blocks; bi++) {
                block.accept(bi);
            }
        }
    }

    /** dst[d + j] += src[s + j] for j &lt; width ({@code full} = the vector part of width). */
    private static void addRow(MemorySegment src, int s, MemorySegment dst, int d, int width, int full) {
        int j = 0;
        for (; j < full; j += V) {
            FloatVector.fromMemorySegment(S, dst, 4L * (d + j), ORDER).add(FloatVector.fromMemorySegment(S, src, 4L * (s + j), ORDER)).intoMemorySegment(dst, 4L * (d + j), ORDER);
        }
        for (; j < width; j++) {
            dst.setAtIndex(JAVA_FLOAT, d + j, dst.getAtIndex(JAVA_FLOAT, d + j) + (src.getAtIndex(JAVA_FLOAT, s + j)));
        }
    }

    // ---------------------------------------------------------------- layernorm

    @Override
    protected void doLayerNormForward(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean,
                                      Tensor rstd, int n, int c) {
        rows(n, c, (from, to) -> LayerNormKernels.forward(segment(x), at(x), segment(weight), at(weight), segment(bias),
                at(bias), eps, segment(out), at(out), segment(mean), at(mean), segment(rstd), at(rstd), c, from, to));
    }

    @Override
    protected void doLayerNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor mean, Tensor rstd,
                                       Tensor dx, Tensor dweight, Tensor dbias, int n, int c) {
        int per = rowsPerTask(c);
        int tasks = (n + per - 1) / per;
        // Per task: its dweight partial at [2c·i, 2c·i + c), its dbias partial after it.
        try (ScratchPool.Buffer held = dweight == null && dbias == null ? null : ScratchPool.take(2 * c * tasks)) {
            MemorySegment partial = held == null ? null : held.segment;
            forEach(tasks, i -> LayerNormKernels.backward(segment(dout), at(dout), segment(x), at(x), segment(weight),
                    at(weight), segment(mean), at(mean), segment(rstd), at(rstd), segment(dx), at(dx),
                    dweight == null ? null : partial, 2 * c * i, dbias == null ? null : partial, 2 * c * i + c, c,
                    i * per, Math.min(n, (i + 1) * per)));
            if (dweight != null) {
                addPartials(partial, 0, 2 * c, tasks, segment(dweight), at(dweight), c);
            }
            if (dbias != null) {
                addPartials(partial, c, 2 * c, tasks, segment(dbias), at(dbias), c);
            }
        }
    }

    /** out[o + j] += Σ_i p[p0 + i·stride + j] over i &lt; count, in ascending i. */
    private static void addPartials(MemorySegment p, int p0, int stride, int count, MemorySegment out, int o, int c) {
        int full = S.loopBound(c);
        int j = 0;
        for (; j < full; j += V) {
            FloatVector acc = FloatVector.fromMemorySegment(S, p, 4L * (p0 + j), ORDER);
            for (int i = 1; i < count; i++) {
                acc = acc.add(FloatVector.fromMemorySegment(S, p, 4L * (p0 + i * stride + j), ORDER));
            }
            acc.add(FloatVector.fromMemorySegment(S, out, 4L * (o + j), ORDER)).intoMemorySegment(out, 4L * (o + j), ORDER);
        }
        for (; j < c; j++) {
            float acc = p.getAtIndex(JAVA_FLOAT, p0 + j);
            for (int i = 1; i < count; i++) {
                acc += p.getAtIndex(JAVA_FLOAT, p0 + i * stride + j);
            }
            out.setAtIndex(JAVA_FLOAT, o + j, acc + out.getAtIndex(JAVA_FLOAT, o + j));
        }
    }

    // ---------------------------------------------------------------- elementwise

    @Override
    protected void doGeluForward(Gelu kind, Tensor x, Tensor out, long n) {
        elements(n, (from, to) -> GeluKernels.forward(kind, segment(x), at(x) + from, segment(out), at(out) + from, to - from));
    }

    @Override
    protected void doGeluBackward(Gelu kind, Tensor x, Tensor dout, Tensor dx, long n) {
        elements(n, (from, to) -> GeluKernels.backward(kind, segment(x), at(x) + from, segment(dout), at(dout) + from,
                segment(dx), at(dx) + from, to - from));
    }

    @Override
    protected void doBiasForward(Tensor x, Tensor bias, int n, int c) {
        MemorySegment xv = segment(x);
        int xo = at(x);
        MemorySegment b = segment(bias);
        int bo = at(bias);
        rows(n, c, (from, to) -> {
            int full = S.loopBound(c);
            for (int r = from; r < to; r++) {
                addRow(b, bo, xv, xo + r * c, c, full);
            }
        });
    }

    @Override
    protected void doBiasBackward(Tensor dout, Tensor dbias, int n, int c) {
        MemorySegment g = segment(dout);
        int go = at(dout);
        int per = rowsPerTask(c);
        int tasks = (n + per - 1) / per;
        try (ScratchPool.Buffer held = ScratchPool.take(c * tasks)) {
            MemorySegment partial = held.segment;
            forEach(tasks, i -> {
                int full = S.loopBound(c);
                for (int r = i * per, end = Math.min(n, (i + 1) * per); r < end; r++) {
                    addRow(g, go + r * c, partial, i * c, c, full);
                }
            });
            addPartials(partial, 0, c, tasks, segment(dbias), at(dbias), c);
        }
    }

    @Override
    protected void doResidualForward(Tensor a, Tensor b, Tensor out, long n) {
        MemorySegment av = segment(a);
        MemorySegment bv = segment(b);
        MemorySegment o = segment(out);
        int ao = at(a);
        int bo = at(b);
        int oo = at(out);
        elements(n, (from, to) -> {
            int j = from;
            for (int bound = from + S.loopBound(to - from); j < bound; j += V) {
                FloatVector.fromMemorySegment(S, av, 4L * (ao + j), ORDER).add(FloatVector.fromMemorySegment(S, bv, 4L * (bo + j), ORDER)).intoMemorySegment(o, 4L * (oo + j), ORDER);
            }
            for (; j < to; j++) {
                o.setAtIndex(JAVA_FLOAT, oo + j, av.getAtIndex(JAVA_FLOAT, ao + j) + bv.getAtIndex(JAVA_FLOAT, bo + j));
            }
        });
    }

    // ---------------------------------------------------------------- softmax

    @Override
    protected void doSoftmaxForward(Tensor x, Tensor out, float scale, boolean causal, int rows, int l) {
        MemorySegment xv = segment(x);
        MemorySegment o = segment(out);
        int xo = at(x);
        int oo = at(out);
        rows(rows, l, (from, to) -> {
            for (int r = from; r < to; r++) {
                int len = causal ? r % l + 1 : l;
                SoftmaxKernels.softmaxRow(xv, xo + r * l, o, oo + r * l, len, l, scale);
            }
        });
    }

    @Override
    protected void doSoftmaxBackward(Tensor y, Tensor dy, Tensor dx, float scale, int rows, int l) {
        MemorySegment yv = segment(y);
        MemorySegment g = segment(dy);
        MemorySegment d = segment(dx);
        int yo = at(y);
        int go = at(dy);
        int dOff = at(dx);
        rows(rows, l, (from, to) -> {
            for (int r = from; r < to; r++) {
                SoftmaxKernels.softmaxBackwardRow(yv, yo + r * l, g, go + r * l, d, dOff + r * l, l, scale);
            }
        });
    }

    // ---------------------------------------------------------------- fused attention

    private static AttentionKernels.Heads heads(Tensor k, int t, int c, int nh, boolean causal) {
        int hs = c / nh;
        int ck = k.shape()[2];
        return new AttentionKernels.Heads(t, c, ck, hs, nh / (ck / hs), (float) (1.0 / Math.sqrt(hs)), causal);
    }

    private static AttentionKernels.Operand operand(Tensor x) {
        return new AttentionKernels.Operand(segment(x), at(x));
    }

    /** One task per (sequence, KV head), in parallel: {@link AttentionKernels#forward}. */
    @Override
    protected void doFusedAttentionForward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, boolean causal, int b,
                                           int t, int c, int nh) {
        AttentionKernels.Heads h = heads(k, t, c, nh, causal);
        int kvh = h.ck() / h.hs();
        var qa = operand(q);
        var ka = operand(k);
        var va = operand(v);
        var oa = operand(out);
        var la = operand(lse);
        forEach(b * kvh, task -> AttentionKernels.forward(task / kvh, task % kvh, qa, ka, va, oa, la, h));
    }

    /** One task per (sequence, KV head), in parallel, each owning its dk and dv rows: {@link AttentionKernels#backward}. */
    @Override
    protected void doFusedAttentionBackward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dq,
                                            Tensor dk, Tensor dv, boolean causal, int b, int t, int c, int nh) {
        AttentionKernels.Heads h = heads(k, t, c, nh, causal);
        int kvh = h.ck() / h.hs();
        var ga = operand(dout);
        var qa = operand(q);
        var ka = operand(k);
        var va = operand(v);
        var oa = operand(out);
        var la = operand(lse);
        var dqa = operand(dq);
        var dka = operand(dk);
        var dva = operand(dv);
        forEach(b * kvh, task -> AttentionKernels.backward(task / kvh, task % kvh, ga, qa, ka, va, oa, la, dqa, dka, dva, h));
    }

    // ---------------------------------------------------------------- cross-entropy

    @Override
    protected void doCrossEntropyForward(Tensor logits, Tensor targets, Tensor losses, float labelSmoothing,
                                         int ignoreIndex, int n, int v) {
        MemorySegment x = segment(logits);
        MemorySegment tv = segment(targets);
        MemorySegment o = segment(losses);
        int xo = at(logits);
        int to0 = at(targets);
        int oo = at(losses);
        rows(n, v, (from, to) -> {
            for (int r = from; r < to; r++) {
                int target = tv.getAtIndex(JAVA_INT, to0 + r);
                o.setAtIndex(JAVA_FLOAT, oo + r, target == ignoreIndex ? 0f
                        : SoftmaxKernels.crossEntropyRow(x, xo + r * v, v, target, labelSmoothing));
            }
        });
    }

    @Override
    protected void doCrossEntropyBackward(Tensor logits, Tensor targets, Tensor dlogits, float labelSmoothing,
                                          int ignoreIndex, float lossGradient, int n, int v) {
        MemorySegment x = segment(logits);
        MemorySegment tv = segment(targets);
        MemorySegment d = segment(dlogits);
        int xo = at(logits);
        int to0 = at(targets);
        int dOff = at(dlogits);
        rows(n, v, (from, to) -> {
            for (int r = from; r < to; r++) {
                int target = tv.getAtIndex(JAVA_INT, to0 + r);
                if (target == ignoreIndex) {
                    SegmentAccess.fill(d, dOff + r * v, dOff + (r + 1) * v, 0f);
                } else {
                    SoftmaxKernels.crossEntropyBackwardRow(x, xo + r * v, d, dOff + r * v, v, target, labelSmoothing,
                            lossGradient);
                }
            }
        });
    }

    // ---------------------------------------------------------------- pooling

    @Override
    protected void doPoolForward(Pool kind, Tensor x, Tensor out, int b, int t, int c) {
        MemorySegment xv = segment(x);
        MemorySegment o = segment(out);
        int xo = at(x);
        int oo = at(out);
        rows(b, t * c, (from, to) -> {
            int full = S.loopBound(c);
            for (int s = from; s < to; s++) {
                int seq = xo + s * t * c;
                if (kind == Pool.FIRST) {
                    SegmentAccess.copy(xv, seq, o, oo + s * c, c);
                    continue;
                }
                int j = 0;
                for (; j < full; j += V) {
                    FloatVector acc = FloatVector.fromMemorySegment(S, xv, 4L * (seq + j), ORDER);
                    for (int i = 1; i < t; i++) {
                        acc = acc.add(FloatVector.fromMemorySegment(S, xv, 4L * (seq + i * c + j), ORDER));
                    }
                    acc.div(t).intoMemorySegment(o, 4L * (oo + s * c + j), ORDER);
                }
                for (; j < c; j++) {
                    float acc = xv.getAtIndex(JAVA_FLOAT, seq + j);
                    for (int i = 1; i < t; i++) {
                        acc += xv.getAtIndex(JAVA_FLOAT, seq + i * c + j);
                    }
                    o.setAtIndex(JAVA_FLOAT, oo + s * c + j, acc / t);
                }
            }
        });
    }

    @Override
    protected void doPoolBackward(Pool kind, Tensor dout, Tensor dx, int b, int t, int c) {
        MemorySegment g = segment(dout);
        MemorySegment d = segment(dx);
        int go = at(dout);
        int dOff = at(dx);
        rows(b, t * c, (from, to) -> {
            int full = S.loopBound(c);
            for (int s = from; s < to; s++) {
                int grow = go + s * c;
                int seq = dOff + s * t * c;
                if (kind == Pool.FIRST) {
                    addRow(g, grow, d, seq, c, full);
                    continue;
                }
                int j = 0;
                for (; j < full; j += V) {
                    FloatVector share = FloatVector.fromMemorySegment(S, g, 4L * (grow + j), ORDER).div(t);
                    for (int i = 0; i < t; i++) {
                        share.add(FloatVector.fromMemorySegment(S, d, 4L * (seq + i * c + j), ORDER)).intoMemorySegment(d, 4L * (seq + i * c + j), ORDER);
                    }
                }
                for (; j < c; j++) {
                    float share = g.getAtIndex(JAVA_FLOAT, grow + j) / t;
                    for (int i = 0; i < t; i++) {
                        d.setAtIndex(JAVA_FLOAT, seq + i * c + j, d.getAtIndex(JAVA_FLOAT, seq + i * c + j) + (share));
                    }
                }
            }
        });
    }

    // ---------------------------------------------------------------- RMSNorm, RoPE, SwiGLU

    @Override
    protected void doRmsNormForward(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd, int n, int c) {
        rows(n, c, (from, to) -> RmsNormKernels.forward(segment(x), at(x), segment(weight), at(weight), eps, segment(out), at(out),
                segment(rstd), at(rstd), c, from, to));
    }

    @Override
    protected void doRmsNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dweight, int n,
                                     int c) {
        int per = rowsPerTask(c);
        int tasks = (n + per - 1) / per;
        // Per task: its dweight partial at [c·i, c·i + c).
        try (ScratchPool.Buffer held = dweight == null ? null : ScratchPool.take(c * tasks)) {
            MemorySegment partial = held == null ? null : held.segment;
            forEach(tasks, i -> RmsNormKernels.backward(segment(dout), at(dout), segment(x), at(x), segment(weight), at(weight),
                    segment(rstd), at(rstd), segment(dx), at(dx), partial, c * i, c, i * per, Math.min(n, (i + 1) * per)));
            if (dweight != null) {
                addPartials(partial, 0, c, tasks, segment(dweight), at(dweight), c);
            }
        }
    }

    @Override
    protected void doRope(Tensor in, Tensor cos, Tensor sin, Tensor out, boolean transpose, int rows, int t, int w,
                          int headDim, int pos0) {
        rows(rows, w, (from, to) -> RopeKernels.rotate(segment(in), at(in), segment(cos), at(cos), segment(sin), at(sin),
                segment(out), at(out), transpose, t, w, headDim, pos0, from, to));
    }

    @Override
    protected void doSwigluForward(Tensor gate, Tensor up, Tensor out, long n) {
        elements(n, (from, to) -> SwigluKernels.forward(segment(gate), at(gate) + from, segment(up), at(up) + from, segment(out),
                at(out) + from, to - from));
    }

    @Override
    protected void doSwigluBackward(Tensor gate, Tensor up, Tensor dout, Tensor dgate, Tensor dup, long n) {
        elements(n, (from, to) -> SwigluKernels.backward(segment(gate), at(gate) + from, segment(up), at(up) + from, segment(dout),
                at(dout) + from, segment(dgate), at(dgate) + from, segment(dup), at(dup) + from, to - from));
    }
}
