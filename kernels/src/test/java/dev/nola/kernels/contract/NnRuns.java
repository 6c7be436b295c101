package dev.nola.kernels.contract;

import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.Arrays;

/**
 * What the nn checks share: a call on operands that reads several outputs (tensors of their own or
 * carved views, sentinels checked), int32 operands (ids, targets) as tensors or as views inside a
 * buffer of out-of-range values, and host arithmetic in double for the tolerances' bounds.
 */
final class NnRuns {

    /**
     * The value around a carved int32 operand: far outside every table, so a kernel that ignores the
     * view's offset indexes out of bounds (the reference throws) instead of reading a plausible row.
     */
    static final int INT_SENTINEL = 1 << 30;

    private NnRuns() {
    }

    /**
     * Uploads the operands (plain when layout is null, else carved), runs the call and returns the
     * operands numbered {@code outs}; with a layout, also checks that nothing around the views changed.
     */
    static float[][] run(Device d, Operands.Layout layout, float[][] data, int[][] shapes, Operands.Call call, String what,
                         int... outs) {
        try (Operands o = layout == null ? Operands.plain(d, data, shapes) : Operands.carved(d, layout, data, shapes)) {
            call.call(d, o.tensors());
            float[][] r = new float[outs.length][];
            for (int i = 0; i < outs.length; i++) {
                r[i] = o.read(outs[i]);
            }
            if (layout != null) {
                o.assertSentinels(what + " (" + layout + ")");
            }
            return r;
        }
    }

    /** An int32 operand: its buffer (closed with it) and the tensor the op sees (the buffer, or a view of it). */
    record Ints(Tensor buffer, Tensor tensor) implements AutoCloseable {
        @Override
        public void close() {
            buffer.close();
        }
    }

    /**
     * {@code values} on d: a tensor of its own (layout null), or a view at {@link Operands#PAD}
     * ({@code OFFSET}) or 0 ({@code FROM_ZERO}) of a buffer whose other elements are {@link #INT_SENTINEL}.
     */
    static Ints ints(Device d, Operands.Layout layout, int[] values) {
        if (layout == null) {
            Tensor t = d.upload(values, values.length);
            return new Ints(t, t);
        }
        int at = layout == Operands.Layout.OFFSET ? Operands.PAD : 0;
        int[] all = new int[values.length + 2 * Operands.PAD];
        Arrays.fill(all, INT_SENTINEL);
        System.arraycopy(values, 0, all, at, values.length);
        Tensor buffer = d.upload(all, all.length);
        return new Ints(buffer, buffer.view(at, values.length));
    }

    /** n ids in [0, v), some repeated (so gradients of one row gather several tokens). */
    static int[] ids(java.util.SplittableRandom r, int n, int v) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = i % 3 == 2 ? ids[i - 1] : r.nextInt(v);
        }
        return ids;
    }

    static double[] abs(float[] a) {
        double[] b = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = Math.abs(a[i]);
        }
        return b;
    }

    /** a + b, element by element (a new array). */
    static double[] plus(double[] a, double[] b) {
        double[] c = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            c[i] = a[i] + b[i];
        }
        return c;
    }

    static double maxAbs(float[] a) {
        double m = 0;
        for (float x : a) {
            m = Math.max(m, Math.abs(x));
        }
        return m;
    }

    static float[] filled(int n, float value) {
        float[] a = new float[n];
        Arrays.fill(a, value);
        return a;
    }

    /** Row-wise softmax of logits [n, v] in double: what cross-entropy's gradient is made of. */
    static double[] softmaxRows(float[] logits, int n, int v) {
        double[] p = new double[logits.length];
        for (int i = 0; i < n; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < v; j++) {
                max = Math.max(max, logits[i * v + j]);
            }
            double sum = 0;
            for (int j = 0; j < v; j++) {
                p[i * v + j] = Math.exp(logits[i * v + j] - max);
                sum += p[i * v + j];
            }
            for (int j = 0; j < v; j++) {
                p[i * v + j] /= sum;
            }
        }
        return p;
    }

    /**
     * A bound on every term of attention's backward pass, per element of dq, dk and dv (returned in
     * that order): the same products as the pass with every factor replaced by its absolute value
     * (datt = |dout|·|v|ᵀ, dv = attᵀ·|dout|, dpre = s·att·(datt + Σ att·datt), dq = dpre·|k|,
     * dk = dpreᵀ·|q|), so that any order of the float32 sums is within a few ulp of it times the
     * number of terms. q, k, v and dout are [B, T, C], att [B, NH, T, T].
     */
    static double[][] attentionBackwardBound(float[] q, float[] k, float[] v, float[] att, float[] dout, int b, int t, int c,
                                             int nh) {
        return attentionBackwardBound(q, k, v, att, dout, b, t, c, nh, nh);
    }

    /**
     * {@link #attentionBackwardBound} with grouped-query heads: q and dout [B, T, C], k and v
     * [B, T, KVH·hs] (hs = C / NH), query head h on KV head h / (NH / KVH).
     */
    static double[][] attentionBackwardBound(float[] q, float[] k, float[] v, float[] att, float[] dout, int b, int t, int c,
                                             int nh, int kvh) {
        int hs = c / nh;
        int ck = kvh * hs;
        int group = nh / kvh;
        double s = 1 / Math.sqrt(hs);
        double[] dq = new double[q.length];
        double[] dk = new double[k.length];
        double[] dv = new double[v.length];
        double[][] datt = new double[t][t];
        for (int bb = 0; bb < b; bb++) {
            for (int h = 0; h < nh; h++) {
                int g = h / group;
                for (int i = 0; i < t; i++) {
                    for (int j = 0; j < t; j++) {
                        double sum = 0;
                        for (int d = 0; d < hs; d++) {
                            sum += Math.abs(dout[(bb * t + i) * c + h * hs + d]) * Math.abs(v[(bb * t + j) * ck + g * hs + d]);
                        }
                        datt[i][j] = sum;
                    }
                }
                for (int i = 0; i < t; i++) {
                    int row = ((bb * nh + h) * t + i) * t;
                    double dot = 0;
                    for (int j = 0; j < t; j++) {
                        dot += att[row + j] * datt[i][j];
                    }
                    for (int j = 0; j < t; j++) {
                        double a = att[row + j];
                        double dpre = s * a * (datt[i][j] + dot);
                        for (int d = 0; d < hs; d++) {
                            int ei = (bb * t + i) * c + h * hs + d;
                            int ej = (bb * t + j) * ck + g * hs + d;
                            dq[ei] += dpre * Math.abs(k[ej]);
                            dk[ej] += dpre * Math.abs(q[ei]);
                            dv[ej] += a * Math.abs(dout[ei]);
                        }
                    }
                }
            }
        }
        return new double[][] {dq, dk, dv};
    }

    /** Σ_j att[i, j]·|v[j, :]| per element of attention's output [B, T, C]: the terms of out = att·v (v [B, T, C]). */
    static double[] attentionForwardBound(float[] v, float[] att, int b, int t, int c, int nh) {
        return attentionForwardBound(v, att, b, t, c, nh, nh);
    }

    /** {@link #attentionForwardBound} with v [B, T, KVH·hs], query head h on KV head h / (NH / KVH). */
    static double[] attentionForwardBound(float[] v, float[] att, int b, int t, int c, int nh, int kvh) {
        int hs = c / nh;
        int ck = kvh * hs;
        int group = nh / kvh;
        double[] bound = new double[b * t * c];
        for (int bb = 0; bb < b; bb++) {
            for (int h = 0; h < nh; h++) {
                for (int i = 0; i < t; i++) {
                    for (int j = 0; j < t; j++) {
                        double a = att[((bb * nh + h) * t + i) * t + j];
                        for (int d = 0; d < hs; d++) {
                            bound[(bb * t + i) * c + h * hs + d] += a * Math.abs(v[(bb * t + j) * ck + h / group * hs + d]);
                        }
                    }
                }
            }
        }
        return bound;
    }

    /** The arrays one after another: q, k and v as one planar [3, B, T, C] buffer holds them. */
    static float[] concat(float[]... parts) {
        int n = 0;
        for (float[] p : parts) {
            n += p.length;
        }
        float[] all = new float[n];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }

    /** Part {@code i} of {@code parts} equal parts of a (a planar buffer's q, k or v). */
    static float[] part(float[] a, int i, int parts) {
        int n = a.length / parts;
        return Arrays.copyOfRange(a, i * n, (i + 1) * n);
    }

    /**
     * q, k and v of an attention call: operands first .. first + 2 when they are tensors of their own,
     * or the three [B, T, C] views of the planar [3, B, T, C] operand {@code first} (the layout a model
     * allocates them in, and the fused c_attn projection writes).
     */
    static Tensor[] qkv(Tensor[] x, int first, boolean planar) {
        if (!planar) {
            return new Tensor[] {x[first], x[first + 1], x[first + 2]};
        }
        int[] s = x[first].shape();
        int n = s[1] * s[2] * s[3];
        return new Tensor[] {x[first].view(0, s[1], s[2], s[3]), x[first].view(n, s[1], s[2], s[3]),
                x[first].view(2L * n, s[1], s[2], s[3])};
    }
}
