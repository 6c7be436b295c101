package dev.nola.kernels.tornado;

import static dev.nola.kernels.tornado.NnKernels.put;
import static dev.nola.kernels.tornado.NnKernels.slotPut;
import static dev.nola.kernels.tornado.NnKernels.slotSet3;

import dev.nola.kernels.tornado.NnParams.CrossEntropy;
import dev.nola.kernels.tornado.NnParams.LayerNormBackward;
import dev.nola.kernels.tornado.NnParams.LayerNormForward;
import dev.nola.kernels.tornado.NnParams.RmsNormBackward;
import dev.nola.kernels.tornado.NnParams.RmsNormForward;
import dev.nola.kernels.tornado.NnParams.SoftmaxBackward;
import dev.nola.kernels.tornado.NnParams.SoftmaxForward;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The nn row ops in the GPU shape: one work-group of {@value #GROUP} work-items per row (global
 * rows·{@value #GROUP}, launched by {@link Launch#runGroups}), work-item l taking the columns
 * l, l + {@value #GROUP}, … and the row's sums and maxima a tree in local memory
 * ({@link #groupReduce}), so neighbouring work-items read neighbouring addresses and a
 * row of 50,257 logits is spread over a work-group instead of walked by one work-item. The same
 * operations, parameter layouts ({@link NnParams}) and output slots as the row-per-work-item kernels of
 * {@link NnKernels}, which a CPU device keeps; only the order of the sums differs (a fixed tree, so
 * every run gives the same bits). Layernorm, RMSNorm, softmax and cross-entropy, forward and
 * backward (dx; the parameter gradients are column sums, {@link NnKernels}).
 *
 * <p>Every work-item of a group reaches every barrier: the kernels have no early return, the launch
 * has exactly one group per row, and a row's flags (causal length, ignored target) only select what is
 * stored. An element is read and written by the same work-item after the row's sums, so out may be
 * x (softmax) and dlogits may be logits.
 */
final class NnGroupKernels {

    /** Work-items per row (a power of two, the OpenCL backend's GPU row group). */
    static final int GROUP = 256;

    private NnGroupKernels() {
    }

    /** What {@link #groupReduce} combines: a sum, a maximum, or a maximum that keeps a NaN of either side. */
    static final int SUM = 0;
    static final int MAX = 1;
    static final int MAX_NAN = 2;

    /** a and b combined as {@code mode} says. */
    private static float combine(float a, float b, int mode) {
        float r;
        if (mode == SUM) {
            r = a + b;
        } else {
            r = TornadoMath.max(a, b);
            // OpenCL's fmax drops a NaN; the max-abs reduction must keep it, as the sum of squares does
            if (mode == MAX_NAN) {
                if (a != a) {
                    r = a;
                }
                if (b != b) {
                    r = b;
                }
            }
        }
        return r;
    }

    /**
     * v combined over the work-group ({@link #SUM}, {@link #MAX}, {@link #MAX_NAN}) as a tree in
     * {@code scratch} ({@value #GROUP} floats of local memory): work-item l adds l + s for s = half the
     * group down to 1, so the order is fixed. Every work-item gets the result; every one must call it.
     */
    static float groupReduce(KernelContext ctx, float[] scratch, float v, int mode) {
        int lid = ctx.localIdx;
        scratch[lid] = v;
        ctx.localBarrier();
        for (int s = GROUP / 2; s > 0; s = s / 2) {
            if (lid < s) {
                scratch[lid] = combine(scratch[lid], scratch[lid + s], mode);
            }
            ctx.localBarrier();
        }
        float r = scratch[0];
        // the next reduction may overwrite scratch[0] only once every work-item has read it
        ctx.localBarrier();
        return r;
    }

    private static float groupSum(KernelContext ctx, float[] scratch, float v) {
        return groupReduce(ctx, scratch, v, SUM);
    }

    /**
     * The maximum of scale·x[xr + j] over the row's first len columns, over the group; every
     * work-item starts from column 0 (always among them), so no −∞ constant is needed.
     */
    private static float rowMax(KernelContext ctx, float[] scratch, FloatArray x, int xr, int len, float scale) {
        float pm = scale * x.get(xr);
        for (int j = ctx.localIdx; j < len; j += GROUP) {
            pm = TornadoMath.max(pm, scale * x.get(xr + j));
        }
        return groupReduce(ctx, scratch, pm, MAX);
    }

    /** Σ x[xr + j] over the row's first len columns, over the group. */
    private static float rowSum(KernelContext ctx, float[] scratch, FloatArray x, int xr, int len) {
        float ps = 0f;
        for (int j = ctx.localIdx; j < len; j += GROUP) {
            ps = ps + x.get(xr + j);
        }
        return groupReduce(ctx, scratch, ps, SUM);
    }

    /** Σ e^(scale·x[xr + j] − m) over the row's first len columns, over the group. */
    private static float rowExpSum(KernelContext ctx, float[] scratch, FloatArray x, int xr, int len, float scale, float m) {
        float ps = 0f;
        for (int j = ctx.localIdx; j < len; j += GROUP) {
            ps = ps + TornadoMath.exp(scale * x.get(xr + j) - m);
        }
        return groupReduce(ctx, scratch, ps, SUM);
    }

    /** Layernorm forward as {@link NormLanes#nnLayerNormForwardLanes}, a work-group per row. */
    static void nnLayerNormForwardGroup(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray x, FloatArray w,
                                        FloatArray b, FloatArray o0, FloatArray o1, FloatArray o2) {
        float[] scratch = ctx.allocateFloatLocalArray(GROUP);
        int row = ctx.groupIdx;
        int lid = ctx.localIdx;
        int n = ip.get(LayerNormForward.N);
        int c = ip.get(LayerNormForward.C);
        int xr = ip.get(LayerNormForward.X) + row * c;
        float m = rowSum(ctx, scratch, x, xr, c) / c;
        float sq = 0f;
        for (int j = lid; j < c; j += GROUP) {
            float d = x.get(xr + j) - m;
            sq = d * d + sq;
        }
        float s = 1f / TornadoMath.sqrt(groupSum(ctx, scratch, sq) / c + fp.get(0));
        int wOff = ip.get(LayerNormForward.W);
        int bOff = ip.get(LayerNormForward.B);
        int o = ip.get(LayerNormForward.OUT) + row * c;
        int outSlot = ip.get(LayerNormForward.OUT_SLOT);
        for (int j = lid; j < c; j += GROUP) {
            slotSet3(o0, o1, o2, outSlot, o + j, (x.get(xr + j) - m) * s * w.get(wOff + j) + b.get(bOff + j), n);
        }
        if (lid == 0) {
            slotSet3(o0, o1, o2, ip.get(LayerNormForward.MEAN_SLOT), ip.get(LayerNormForward.MEAN) + row, m, n);
            slotSet3(o0, o1, o2, ip.get(LayerNormForward.RSTD_SLOT), ip.get(LayerNormForward.RSTD) + row, s, n);
        }
    }

    /** Layernorm backward dx as {@link NormLanes#nnLayerNormBackwardLanes}, a work-group per row. */
    static void nnLayerNormBackwardGroup(KernelContext ctx, IntArray ip, FloatArray dout, FloatArray x, FloatArray w,
                                         FloatArray mean, FloatArray rstd, FloatArray dx) {
        float[] scratch = ctx.allocateFloatLocalArray(GROUP);
        int row = ctx.groupIdx;
        int lid = ctx.localIdx;
        int c = ip.get(LayerNormBackward.C);
        int g = ip.get(LayerNormBackward.DOUT) + row * c;
        int xr = ip.get(LayerNormBackward.X) + row * c;
        int wOff = ip.get(LayerNormBackward.W);
        int d = ip.get(LayerNormBackward.DX) + row * c;
        float m = mean.get(ip.get(LayerNormBackward.MEAN) + row);
        float s = rstd.get(ip.get(LayerNormBackward.RSTD) + row);
        float sd = 0f;
        float sdn = 0f;
        for (int j = lid; j < c; j += GROUP) {
            float dn = dout.get(g + j) * w.get(wOff + j);
            sd = sd + dn;
            sdn = dn * ((x.get(xr + j) - m) * s) + sdn;
        }
        float meanD = groupSum(ctx, scratch, sd) / c;
        float meanDN = groupSum(ctx, scratch, sdn) / c;
        for (int j = lid; j < c; j += GROUP) {
            float norm = (x.get(xr + j) - m) * s;
            float dn = dout.get(g + j) * w.get(wOff + j);
            dx.set(d + j, s * (dn - meanD - norm * meanDN) + dx.get(d + j));
        }
    }

    /** RMSNorm forward as {@link NormLanes#nnRmsNormForwardLanes}, a work-group per row. */
    static void nnRmsNormForwardGroup(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray x, FloatArray w,
                                      FloatArray o0, FloatArray o1) {
        float[] scratch = ctx.allocateFloatLocalArray(GROUP);
        int row = ctx.groupIdx;
        int lid = ctx.localIdx;
        int n = ip.get(RmsNormForward.N);
        int c = ip.get(RmsNormForward.C);
        int xr = ip.get(RmsNormForward.X) + row * c;
        float sq = 0f;
        for (int j = lid; j < c; j += GROUP) {
            float v = x.get(xr + j);
            sq = v * v + sq;
        }
        float s = 1f / TornadoMath.sqrt(groupSum(ctx, scratch, sq) / c + fp.get(0));
        int wOff = ip.get(RmsNormForward.W);
        int o = ip.get(RmsNormForward.OUT) + row * c;
        int outSlot = ip.get(RmsNormForward.OUT_SLOT);
        for (int j = lid; j < c; j += GROUP) {
            slotPut(o0, o1, outSlot, o + j, x.get(xr + j) * s * w.get(wOff + j), n);
        }
        if (lid == 0) {
            slotPut(o0, o1, ip.get(RmsNormForward.RSTD_SLOT), ip.get(RmsNormForward.RSTD) + row, s, n);
        }
    }

    /** RMSNorm backward dx as {@link NormLanes#nnRmsNormBackwardLanes}, a work-group per row. */
    static void nnRmsNormBackwardGroup(KernelContext ctx, IntArray ip, FloatArray dout, FloatArray x, FloatArray w,
                                       FloatArray rstd, FloatArray dx) {
        float[] scratch = ctx.allocateFloatLocalArray(GROUP);
        int row = ctx.groupIdx;
        int lid = ctx.localIdx;
        int c = ip.get(RmsNormBackward.C);
        int g = ip.get(RmsNormBackward.DOUT) + row * c;
        int xr = ip.get(RmsNormBackward.X) + row * c;
        int wOff = ip.get(RmsNormBackward.W);
        int d = ip.get(RmsNormBackward.DX) + row * c;
        float s = rstd.get(ip.get(RmsNormBackward.RSTD) + row);
        float sdn = 0f;
        for (int j = lid; j < c; j += GROUP) {
            sdn = dout.get(g + j) * w.get(wOff + j) * (x.get(xr + j) * s) + sdn;
        }
        float meanDN = groupSum(ctx, scratch, sdn) / c;
        for (int j = lid; j < c; j += GROUP) {
            float norm = x.get(xr + j) * s;
            float dn = dout.get(g + j) * w.get(wOff + j);
            dx.set(d + j, s * (dn - norm * meanDN) + dx.get(d + j));
        }
    }

    /** Softmax forward as {@link NnRowLanes#nnSoftmaxForwardLanes}, a work-group per row. */
    static void nnSoftmaxForwardGroup(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray x, FloatArray out) {
        float[] scratch = ctx.allocateFloatLocalArray(GROUP);
        int r = ctx.groupIdx;
        int lid = ctx.localIdx;
        int rows = ip.get(SoftmaxForward.ROWS);
        int l = ip.get(SoftmaxForward.L);
        float scale = fp.get(0);
        int len = l;
        if (ip.get(SoftmaxForward.CAUSAL) != 0) {
            len = r - (r / l) * l + 1;
        }
        int xr = ip.get(SoftmaxForward.X) + r * l;
        int o = ip.get(SoftmaxForward.OUT) + r * l;
        float m = rowMax(ctx, scratch, x, xr, len, scale);
        float sum = rowExpSum(ctx, scratch, x, xr, len, scale, m);
        for (int j = lid; j < l; j += GROUP) {
            float e = 0f;
            if (j < len) {
                e = TornadoMath.exp(scale * x.get(xr + j) - m) / sum;
            }
            put(out, o + j, e, rows);
        }
    }

    /** Softmax backward as {@link NnRowLanes#nnSoftmaxBackwardLanes}, a work-group per row; dx may be dy. */
    static void nnSoftmaxBackwardGroup(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray y, FloatArray dy,
                                       FloatArray dx) {
        float[] scratch = ctx.allocateFloatLocalArray(GROUP);
        int r = ctx.groupIdx;
        int lid = ctx.localIdx;
        int rows = ip.get(SoftmaxBackward.ROWS);
        int l = ip.get(SoftmaxBackward.L);
        float scale = fp.get(0);
        int yr = ip.get(SoftmaxBackward.Y) + r * l;
        int g = ip.get(SoftmaxBackward.DY) + r * l;
        int d = ip.get(SoftmaxBackward.DX) + r * l;
        float pd = 0f;
        for (int j = lid; j < l; j += GROUP) {
            pd = y.get(yr + j) * dy.get(g + j) + pd;
        }
        float dot = groupSum(ctx, scratch, pd);
        for (int j = lid; j < l; j += GROUP) {
            put(dx, d + j, scale * y.get(yr + j) * (dy.get(g + j) - dot), rows);
        }
    }

    /**
     * Cross-entropy forward as {@link NnRowLanes#nnCrossEntropyForwardLanes}, a work-group per row; an
     * ignored row runs the same sums (so every work-item meets every barrier) and stores 0.
     */
    static void nnCrossEntropyForwardGroup(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray logits,
                                           IntArray targets, FloatArray losses) {
        float[] scratch = ctx.allocateFloatLocalArray(GROUP);
        int row = ctx.groupIdx;
        int lid = ctx.localIdx;
        int n = ip.get(CrossEntropy.N);
        int v = ip.get(CrossEntropy.V);
        int xr = ip.get(CrossEntropy.LOGITS) + row * v;
        float a = rowSum(ctx, scratch, logits, xr, v);
        float m = rowMax(ctx, scratch, logits, xr, v, 1f);
        float sum = rowExpSum(ctx, scratch, logits, xr, v, 1f, m);
        if (lid == 0) {
            int t = targets.get(ip.get(CrossEntropy.TARGETS) + row);
            float loss = 0f;
            if (t != ip.get(CrossEntropy.IGNORE)) {
                loss = NnKernels.crossEntropyLoss(logits.get(xr + t), m, sum, a / v, fp.get(0));
            }
            put(losses, ip.get(CrossEntropy.OUT) + row, loss, n);
        }
    }

    /**
     * Cross-entropy backward as {@link NnRowLanes#nnCrossEntropyBackwardLanes}, a work-group per row:
     * dlogits[j] = g·(e^(x[j] − max)/Σ − q[j]), 0 for an ignored row; dlogits may be logits.
     */
    static void nnCrossEntropyBackwardGroup(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray logits,
                                            IntArray targets, FloatArray dlogits) {
        float[] scratch = ctx.allocateFloatLocalArray(GROUP);
        int row = ctx.groupIdx;
        int lid = ctx.localIdx;
        int n = ip.get(CrossEntropy.N);
        int v = ip.get(CrossEntropy.V);
        int xr = ip.get(CrossEntropy.LOGITS) + row * v;
        int d = ip.get(CrossEntropy.OUT) + row * v;
        int t = targets.get(ip.get(CrossEntropy.TARGETS) + row);
        float m = rowMax(ctx, scratch, logits, xr, v, 1f);
        float sum = rowExpSum(ctx, scratch, logits, xr, v, 1f, m);
        float smoothing = fp.get(0);
        float grad = fp.get(1);
        float off = smoothing / v;
        float hit = 1f - smoothing + off;
        int ignored = 0;
        if (t == ip.get(CrossEntropy.IGNORE)) {
            ignored = 1;
        }
        for (int j = lid; j < v; j += GROUP) {
            float q = off;
            if (j == t) {
                q = hit;
            }
            float e = grad * (TornadoMath.exp(logits.get(xr + j) - m) / sum - q);
            if (ignored != 0) {
                e = 0f;
            }
            put(dlogits, d + j, e, n);
        }
    }
}
