package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.NnMath.S;
import static dev.nola.kernels.cpu.NnMath.V;
import static dev.nola.kernels.host.HostTensor.at;
import static dev.nola.kernels.host.HostTensor.floats;
import static dev.nola.kernels.host.HostTensor.ints;

import dev.nola.kernels.AbstractNnOps;
import dev.nola.kernels.BFloat16;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.host.HostTensor;
import java.util.Arrays;
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
        int[] id = ints(ids);
        int io = at(ids);
        if (wte != null && wte.dtype() == DType.BF16) {
            encoderForwardHalf(id, io, wte, wpe, out, n, t, c);
            return;
        }
        float[] te = wte == null ? null : floats(wte);
        int teo = wte == null ? 0 : at(wte);
        float[] pe = wpe == null ? null : floats(wpe);
        int peo = wpe == null ? 0 : at(wpe);
        float[] o = floats(out);
        int oo = at(out);
        rows(n, c, (from, to) -> {
            int full = S.loopBound(c);
            for (int r = from; r < to; r++) {
                int orow = oo + r * c;
                int prow = peo + (r % t) * c;
                if (te == null) {
                    System.arraycopy(pe, prow, o, orow, c);
                    continue;
                }
                int trow = teo + id[io + r] * c;
                if (pe == null) {
                    System.arraycopy(te, trow, o, orow, c);
                    continue;
                }
                int j = 0;
                for (; j < full; j += V) {
                    FloatVector.fromArray(S, te, trow + j).add(FloatVector.fromArray(S, pe, prow + j)).intoArray(o, orow + j);
                }
                for (; j < c; j++) {
                    o[orow + j] = te[trow + j] + pe[prow + j];
                }
            }
        });
    }

    /** The forward with a bfloat16 table: each row widened exactly into out, then the position row added. */
    private void encoderForwardHalf(int[] id, int io, Tensor wte, Tensor wpe, Tensor out, int n, int t, int c) {
        short[] te = HostTensor.halves(wte);
        int teo = at(wte);
        float[] pe = wpe == null ? null : floats(wpe);
        int peo = wpe == null ? 0 : at(wpe);
        float[] o = floats(out);
        int oo = at(out);
        rows(n, c, (from, to) -> {
            for (int r = from; r < to; r++) {
                int orow = oo + r * c;
                BFloat16.widen(te, teo + id[io + r] * c, o, orow, c);
                if (pe != null) {
                    int prow = peo + (r % t) * c;
                    for (int j = 0; j < c; j++) {
                        o[orow + j] += pe[prow + j];
                    }
                }
            }
        });
    }

    @Override
    protected void doEncoderBackward(Tensor ids, Tensor dout, Tensor dwte, Tensor dwpe, int n, int t, int c) {
        int[] id = ints(ids);
        int io = at(ids);
        float[] g = floats(dout);
        int go = at(dout);
        float[] te = dwte == null ? null : floats(dwte);
        int teo = dwte == null ? 0 : at(dwte);
        float[] pe = dwpe == null ? null : floats(dwpe);
        int peo = dwpe == null ? 0 : at(dwpe);
        int blocks = (c + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
        IntConsumer block = bi -> {
            int j0 = bi * COLUMN_BLOCK;
            int width = Math.min(COLUMN_BLOCK, c - j0);
            int full = S.loopBound(width);
            for (int r = 0; r < n; r++) {
                int grow = go + r * c + j0;
                if (te != null) {
                    addRow(g, grow, te, teo + id[io + r] * c + j0, width, full);
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
    private static void addRow(float[] src, int s, float[] dst, int d, int width, int full) {
        int j = 0;
        for (; j < full; j += V) {
            FloatVector.fromArray(S, dst, d + j).add(FloatVector.fromArray(S, src, s + j)).intoArray(dst, d + j);
        }
        for (; j < width; j++) {
            dst[d + j] += src[s + j];
        }
    }

    // ---------------------------------------------------------------- layernorm

    @Override
    protected void doLayerNormForward(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean,
                                      Tensor rstd, int n, int c) {
        rows(n, c, (from, to) -> LayerNormKernels.forward(floats(x), at(x), floats(weight), at(weight), floats(bias),
                at(bias), eps, floats(out), at(out), floats(mean), at(mean), floats(rstd), at(rstd), c, from, to));
    }

    @Override
    protected void doLayerNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor mean, Tensor rstd,
                                       Tensor dx, Tensor dweight, Tensor dbias, int n, int c) {
        int per = rowsPerTask(c);
        int tasks = (n + per - 1) / per;
        // Per task: its dweight partial at [2c·i, 2c·i + c), its dbias partial after it.
        float[] partial = dweight == null && dbias == null ? null : new float[2 * c * tasks];
        forEach(tasks, i -> LayerNormKernels.backward(floats(dout), at(dout), floats(x), at(x), floats(weight),
                at(weight), floats(mean), at(mean), floats(rstd), at(rstd), floats(dx), at(dx),
                dweight == null ? null : partial, 2 * c * i, dbias == null ? null : partial, 2 * c * i + c, c,
                i * per, Math.min(n, (i + 1) * per)));
        if (dweight != null) {
            addPartials(partial, 0, 2 * c, tasks, floats(dweight), at(dweight), c);
        }
        if (dbias != null) {
            addPartials(partial, c, 2 * c, tasks, floats(dbias), at(dbias), c);
        }
    }

    /** out[o + j] += Σ_i p[p0 + i·stride + j] over i &lt; count, in ascending i. */
    private static void addPartials(float[] p, int p0, int stride, int count, float[] out, int o, int c) {
        int full = S.loopBound(c);
        int j = 0;
        for (; j < full; j += V) {
            FloatVector acc = FloatVector.fromArray(S, p, p0 + j);
            for (int i = 1; i < count; i++) {
                acc = acc.add(FloatVector.fromArray(S, p, p0 + i * stride + j));
            }
            acc.add(FloatVector.fromArray(S, out, o + j)).intoArray(out, o + j);
        }
        for (; j < c; j++) {
            float acc = p[p0 + j];
            for (int i = 1; i < count; i++) {
                acc += p[p0 + i * stride + j];
            }
            out[o + j] = acc + out[o + j];
        }
    }

    // ---------------------------------------------------------------- elementwise

    @Override
    protected void doGeluForward(Gelu kind, Tensor x, Tensor out, long n) {
        elements(n, (from, to) -> GeluKernels.forward(kind, floats(x), at(x) + from, floats(out), at(out) + from, to - from));
    }

    @Override
    protected void doGeluBackward(Gelu kind, Tensor x, Tensor dout, Tensor dx, long n) {
        elements(n, (from, to) -> GeluKernels.backward(kind, floats(x), at(x) + from, floats(dout), at(dout) + from,
                floats(dx), at(dx) + from, to - from));
    }

    @Override
    protected void doBiasForward(Tensor x, Tensor bias, int n, int c) {
        float[] xv = floats(x);
        int xo = at(x);
        float[] b = floats(bias);
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
        float[] g = floats(dout);
        int go = at(dout);
        int per = rowsPerTask(c);
        int tasks = (n + per - 1) / per;
        float[] partial = new float[c * tasks];
        forEach(tasks, i -> {
            int full = S.loopBound(c);
            for (int r = i * per, end = Math.min(n, (i + 1) * per); r < end; r++) {
                addRow(g, go + r * c, partial, i * c, c, full);
            }
        });
        addPartials(partial, 0, c, tasks, floats(dbias), at(dbias), c);
    }

    @Override
    protected void doResidualForward(Tensor a, Tensor b, Tensor out, long n) {
        float[] av = floats(a);
        float[] bv = floats(b);
        float[] o = floats(out);
        int ao = at(a);
        int bo = at(b);
        int oo = at(out);
        elements(n, (from, to) -> {
            int j = from;
            for (int bound = from + S.loopBound(to - from); j < bound; j += V) {
                FloatVector.fromArray(S, av, ao + j).add(FloatVector.fromArray(S, bv, bo + j)).intoArray(o, oo + j);
            }
            for (; j < to; j++) {
                o[oo + j] = av[ao + j] + bv[bo + j];
            }
        });
    }

    // ---------------------------------------------------------------- softmax

    @Override
    protected void doSoftmaxForward(Tensor x, Tensor out, float scale, boolean causal, int rows, int l) {
        float[] xv = floats(x);
        float[] o = floats(out);
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
        float[] yv = floats(y);
        float[] g = floats(dy);
        float[] d = floats(dx);
        int yo = at(y);
        int go = at(dy);
        int dOff = at(dx);
        rows(rows, l, (from, to) -> {
            for (int r = from; r < to; r++) {
                SoftmaxKernels.softmaxBackwardRow(yv, yo + r * l, g, go + r * l, d, dOff + r * l, l, scale);
            }
        });
    }

    // ---------------------------------------------------------------- cross-entropy

    @Override
    protected void doCrossEntropyForward(Tensor logits, Tensor targets, Tensor losses, float labelSmoothing,
                                         int ignoreIndex, int n, int v) {
        float[] x = floats(logits);
        int[] tv = ints(targets);
        float[] o = floats(losses);
        int xo = at(logits);
        int to0 = at(targets);
        int oo = at(losses);
        rows(n, v, (from, to) -> {
            for (int r = from; r < to; r++) {
                int target = tv[to0 + r];
                o[oo + r] = target == ignoreIndex ? 0f
                        : SoftmaxKernels.crossEntropyRow(x, xo + r * v, v, target, labelSmoothing);
            }
        });
    }

    @Override
    protected void doCrossEntropyBackward(Tensor logits, Tensor targets, Tensor dlogits, float labelSmoothing,
                                          int ignoreIndex, float lossGradient, int n, int v) {
        float[] x = floats(logits);
        int[] tv = ints(targets);
        float[] d = floats(dlogits);
        int xo = at(logits);
        int to0 = at(targets);
        int dOff = at(dlogits);
        rows(n, v, (from, to) -> {
            for (int r = from; r < to; r++) {
                int target = tv[to0 + r];
                if (target == ignoreIndex) {
                    Arrays.fill(d, dOff + r * v, dOff + (r + 1) * v, 0f);
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
        float[] xv = floats(x);
        float[] o = floats(out);
        int xo = at(x);
        int oo = at(out);
        rows(b, t * c, (from, to) -> {
            int full = S.loopBound(c);
            for (int s = from; s < to; s++) {
                int seq = xo + s * t * c;
                if (kind == Pool.FIRST) {
                    System.arraycopy(xv, seq, o, oo + s * c, c);
                    continue;
                }
                int j = 0;
                for (; j < full; j += V) {
                    FloatVector acc = FloatVector.fromArray(S, xv, seq + j);
                    for (int i = 1; i < t; i++) {
                        acc = acc.add(FloatVector.fromArray(S, xv, seq + i * c + j));
                    }
                    acc.div(t).intoArray(o, oo + s * c + j);
                }
                for (; j < c; j++) {
                    float acc = xv[seq + j];
                    for (int i = 1; i < t; i++) {
                        acc += xv[seq + i * c + j];
                    }
                    o[oo + s * c + j] = acc / t;
                }
            }
        });
    }

    @Override
    protected void doPoolBackward(Pool kind, Tensor dout, Tensor dx, int b, int t, int c) {
        float[] g = floats(dout);
        float[] d = floats(dx);
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
                    FloatVector share = FloatVector.fromArray(S, g, grow + j).div(t);
                    for (int i = 0; i < t; i++) {
                        share.add(FloatVector.fromArray(S, d, seq + i * c + j)).intoArray(d, seq + i * c + j);
                    }
                }
                for (; j < c; j++) {
                    float share = g[grow + j] / t;
                    for (int i = 0; i < t; i++) {
                        d[seq + i * c + j] += share;
                    }
                }
            }
        });
    }

    // ---------------------------------------------------------------- RMSNorm, RoPE, SwiGLU

    @Override
    protected void doRmsNormForward(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd, int n, int c) {
        rows(n, c, (from, to) -> RmsNormKernels.forward(floats(x), at(x), floats(weight), at(weight), eps, floats(out), at(out),
                floats(rstd), at(rstd), c, from, to));
    }

    @Override
    protected void doRmsNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dweight, int n,
                                     int c) {
        int per = rowsPerTask(c);
        int tasks = (n + per - 1) / per;
        // Per task: its dweight partial at [c·i, c·i + c).
        float[] partial = dweight == null ? null : new float[c * tasks];
        forEach(tasks, i -> RmsNormKernels.backward(floats(dout), at(dout), floats(x), at(x), floats(weight), at(weight),
                floats(rstd), at(rstd), floats(dx), at(dx), partial, c * i, c, i * per, Math.min(n, (i + 1) * per)));
        if (dweight != null) {
            addPartials(partial, 0, c, tasks, floats(dweight), at(dweight), c);
        }
    }

    @Override
    protected void doRope(Tensor in, Tensor cos, Tensor sin, Tensor out, boolean transpose, int rows, int t, int w,
                          int headDim, int pos0) {
        rows(rows, w, (from, to) -> RopeKernels.rotate(floats(in), at(in), floats(cos), at(cos), floats(sin), at(sin),
                floats(out), at(out), transpose, t, w, headDim, pos0, from, to));
    }

    @Override
    protected void doSwigluForward(Tensor gate, Tensor up, Tensor out, long n) {
        elements(n, (from, to) -> SwigluKernels.forward(floats(gate), at(gate) + from, floats(up), at(up) + from, floats(out),
                at(out) + from, to - from));
    }

    @Override
    protected void doSwigluBackward(Tensor gate, Tensor up, Tensor dout, Tensor dgate, Tensor dup, long n) {
        elements(n, (from, to) -> SwigluKernels.backward(floats(gate), at(gate) + from, floats(up), at(up) + from, floats(dout),
                at(dout) + from, floats(dgate), at(dgate) + from, floats(dup), at(dup) + from, to - from));
    }
}
