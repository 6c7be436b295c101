package dev.nola.kernels.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.vectors.Float16;

/**
 * The optim family as TornadoVM kernels: element-wise AdamW and fake quantization, and deterministic
 * two-pass reductions (sum of squares, max of absolute values): work-item g of G sums its own
 * contiguous span into {@code partial[g]}, then one work-item combines the G partials in order. G and
 * the spans depend only on n, so a result never depends on scheduling, and there are no atomics.
 *
 * <p>Parameters ({@code ip}) start with the sizes below and continue with the element offset of every
 * array argument in order. No JDK calls beyond {@link TornadoMath}: finiteness is {@code x - x == 0}.
 */
final class OptimKernels {

    /**
     * adamw: {@code ip = {n, has scale, slot of p, slot of m, slot of v, offset of p, of m, of v}}, then
     * the offsets of g and scale; {@code fp = {lr, beta1, beta2, epsilon, weight decay, 1/c1, 1/c2}}.
     */
    static final int ADAMW_N = 0;
    static final int ADAMW_HAS_SCALE = 1;
    /** The slots of p, m and v, from here. */
    static final int ADAMW_SLOTS = 2;
    /** The offsets of p, m and v, from here. */
    static final int ADAMW_OFFSETS = 5;
    static final int ADAMW_PARAMS = 8;
    /**
     * Reductions and fake quantization: {@code ip = {n, span, G, mode, levels}}, mode 0 sum of squares,
     * 1 max |x|; then the offsets of x, the partials, the result (sum or max) and (quantization) out.
     */
    static final int R_N = 0;
    static final int R_SPAN = 1;
    static final int R_GROUPS = 2;
    static final int R_MODE = 3;
    static final int R_LEVELS = 4;
    static final int REDUCE_PARAMS = 5;
    static final int SUM_OF_SQUARES = 0;
    static final int MAX_ABS = 1;
    /** clipFactor: no sizes, {@code fp = {maxNorm}}. */
    static final int CLIP_PARAMS = 0;

    private OptimKernels() {
    }

    /**
     * One AdamW update per element; the gradient is multiplied by scale[0] when ip[1] != 0. p, m and v
     * live in the written arrays w0..w2, each at slot ip[2..4] and offset ip[5..7]: TornadoVM's graph
     * builder loops forever on a task that gets one array as two written arguments, so operands
     * that share a storage share a slot (unused slots hold scratch arrays). Global size n.
     */
    static void adamw(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray g, FloatArray scale, FloatArray w0,
                      FloatArray w1, FloatArray w2) {
        int i = ctx.globalIdx;
        if (i < ip.get(ADAMW_N)) {
            adamwElement(ip, fp, g, gradientFactor(ip, scale), w0, w1, w2, i);
        }
    }

    /** The gradient's factor: scale[0] when ip[1] != 0, else 1. */
    static float gradientFactor(IntArray ip, FloatArray scale) {
        float f = 1f;
        if (ip.get(ADAMW_HAS_SCALE) != 0) {
            f = scale.get(ip.get(ADAMW_PARAMS + 1));
        }
        return f;
    }

    /** Element i's AdamW update, the gradient multiplied by f (see {@link #adamw}). */
    static void adamwElement(IntArray ip, FloatArray fp, FloatArray g, float f, FloatArray w0, FloatArray w1, FloatArray w2,
                             int i) {
        int sp = ip.get(ADAMW_SLOTS);
        int sm = ip.get(ADAMW_SLOTS + 1);
        int sv = ip.get(ADAMW_SLOTS + 2);
        int pi = ip.get(ADAMW_OFFSETS) + i;
        int mi = ip.get(ADAMW_OFFSETS + 1) + i;
        int vi = ip.get(ADAMW_OFFSETS + 2) + i;
        float b1 = fp.get(1);
        float b2 = fp.get(2);
        float gi = g.get(ip.get(ADAMW_PARAMS) + i) * f;
        float mn = b1 * load(w0, w1, w2, sm, mi) + (1f - b1) * gi;
        float vn = b2 * load(w0, w1, w2, sv, vi) + (1f - b2) * gi * gi;
        store(w0, w1, w2, sm, mi, mn);
        store(w0, w1, w2, sv, vi, vn);
        float pv = load(w0, w1, w2, sp, pi);
        store(w0, w1, w2, sp, pi, pv - fp.get(0) * ((mn * fp.get(5)) / (TornadoMath.sqrt(vn * fp.get(6)) + fp.get(3)) + fp.get(4) * pv));
    }

    static float load(FloatArray w0, FloatArray w1, FloatArray w2, int slot, int i) {
        float r;
        if (slot == 0) {
            r = w0.get(i);
        } else if (slot == 1) {
            r = w1.get(i);
        } else {
            r = w2.get(i);
        }
        return r;
    }

    static void store(FloatArray w0, FloatArray w1, FloatArray w2, int slot, int i, float v) {
        if (slot == 0) {
            w0.set(i, v);
        } else if (slot == 1) {
            w1.set(i, v);
        } else {
            w2.set(i, v);
        }
    }

    /**
     * First pass on a CPU device: partial[g] = Σ x² (mode 0) or max |x| (mode 1) over
     * x[g·span .. min(n, (g+1)·span)). The sum of squares takes the span's whole sixteens in
     * {@code Float16} lanes ({@link Lanes}: sixteen accumulators, added pairwise at the end), as the OpenCL
     * backend's {@code reduce_chunks} takes float8 pairs; then the rest (the whole span for max |x|)
     * with four interleaved accumulators combined pairwise. Global size G = ip[2].
     */
    static void reducePartial(KernelContext ctx, IntArray ip, FloatArray x, FloatArray partial) {
        int g = ctx.globalIdx;
        if (g < ip.get(R_GROUPS)) {
            int n = ip.get(R_N);
            int span = ip.get(R_SPAN);
            boolean squares = ip.get(R_MODE) == SUM_OF_SQUARES;
            int xo = ip.get(REDUCE_PARAMS);
            int start = g * span;
            int end = Math.min(n, start + span);
            // the lanes' end, then their loop, then the element loop from there (never in an else: NnElementLanes.rest)
            int end16 = start;
            if (squares && end > start) {
                end16 = end - (end - start) % 16;
            }
            Float16 acc = Lanes.splat(0f);
            for (int e = start; e < end16; e += 16) {
                Float16 v = Lanes.load16(x, xo + e);
                acc = Float16.add(Float16.mult(v, v), acc);
            }
            float a0 = Lanes.sum16(acc);
            float a1 = 0f;
            float a2 = 0f;
            float a3 = 0f;
            int e = end16;
            for (; e + 3 < end; e += 4) {
                float x0 = x.get(xo + e);
                float x1 = x.get(xo + e + 1);
                float x2 = x.get(xo + e + 2);
                float x3 = x.get(xo + e + 3);
                if (squares) {
                    a0 = x0 * x0 + a0;
                    a1 = x1 * x1 + a1;
                    a2 = x2 * x2 + a2;
                    a3 = x3 * x3 + a3;
                } else {
                    a0 = maxAbs(a0, x0);
                    a1 = maxAbs(a1, x1);
                    a2 = maxAbs(a2, x2);
                    a3 = maxAbs(a3, x3);
                }
            }
            for (; e < end; e++) {
                float xe = x.get(xo + e);
                if (squares) {
                    a0 = xe * xe + a0;
                } else {
                    a0 = maxAbs(a0, xe);
                }
            }
            float r;
            if (squares) {
                r = (a0 + a1) + (a2 + a3);
            } else {
                r = TornadoMath.max(TornadoMath.max(a0, a1), TornadoMath.max(a2, a3));
            }
            partial.set(ip.get(REDUCE_PARAMS + 1) + g, r);
        }
    }

    /**
     * First pass in the GPU shape: work-group g of {@link NnGroupKernels#GROUP} work-items (global
     * G·GROUP) takes the span of {@link #reducePartial}, work-item l its elements l, l + GROUP, … (so a
     * group reads contiguous memory), and the group's tree ({@link NnGroupKernels#groupReduce}) gives
     * partial[g]: Σ x² or max |x| (a NaN kept).
     */
    static void reducePartialGroup(KernelContext ctx, IntArray ip, FloatArray x, FloatArray partial) {
        float[] scratch = ctx.allocateFloatLocalArray(NnGroupKernels.GROUP);
        int g = ctx.groupIdx;
        int lid = ctx.localIdx;
        int n = ip.get(R_N);
        int span = ip.get(R_SPAN);
        boolean squares = ip.get(R_MODE) == SUM_OF_SQUARES;
        int xo = ip.get(REDUCE_PARAMS);
        int start = g * span;
        int end = Math.min(n, start + span);
        float a = 0f;
        for (int e = start + lid; e < end; e += NnGroupKernels.GROUP) {
            float xe = x.get(xo + e);
            if (squares) {
                a = xe * xe + a;
            } else {
                a = maxAbs(a, xe);
            }
        }
        int mode = NnGroupKernels.MAX_NAN;
        if (squares) {
            mode = NnGroupKernels.SUM;
        }
        float r = NnGroupKernels.groupReduce(ctx, scratch, a, mode);
        if (lid == 0) {
            partial.set(ip.get(REDUCE_PARAMS + 1) + g, r);
        }
    }

    /**
     * max(a, |x|), NaN when x is NaN (OpenCL's fmax would drop it), so a NaN input reaches the result
     * as it does the sum of squares.
     */
    private static float maxAbs(float a, float x) {
        float r = TornadoMath.max(a, TornadoMath.abs(x));
        if (x != x) {
            r = x;
        }
        return r;
    }

    /**
     * Second pass, one work-item: mode 0 adds the G partials in order to out[0]; mode 1 writes their
     * maximum to out[0]. Global size 1.
     */
    static void reduceFinal(KernelContext ctx, IntArray ip, FloatArray partial, FloatArray out) {
        if (ctx.globalIdx == 0) {
            int groups = ip.get(R_GROUPS);
            int po = ip.get(REDUCE_PARAMS + 1);
            int oo = ip.get(REDUCE_PARAMS + 2);
            boolean squares = ip.get(R_MODE) == SUM_OF_SQUARES;
            float acc = 0f;
            for (int g = 0; g < groups; g++) {
                float v = partial.get(po + g);
                if (squares) {
                    acc = acc + v;
                } else {
                    acc = maxAbs(acc, v);
                }
            }
            if (squares) {
                acc = out.get(oo) + acc;
            }
            out.set(oo, acc);
        }
    }

    /**
     * out[at] = v (at is never negative), as a store that TornadoVM's access analysis sees as
     * conditional: a store that follows a merge of branches reads to it as write-only, and it then
     * drops the copy-in of the argument, losing the elements around a partial view (see
     * {@link TornadoPlans.Call}).
     */
    static void keepNeighbours(FloatArray out, int at, float v) {
        if (at >= 0) {
            out.set(at, v);
        }
    }

    /** factor[0] = min(1, maxNorm / (√sum[0] + 1e-6)), NaN for a non-finite sum; ip = {offset of sum, of factor}. Global size 1. */
    static void clipFactor(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray sum, FloatArray factor) {
        if (ctx.globalIdx == 0) {
            float ss = sum.get(ip.get(CLIP_PARAMS));
            // + (ss - ss): exact for a finite sum (it adds 0), NaN for a non-finite one. No branch: TornadoVM
            // prints a NaN constant as "NaNF", which OpenCL C does not know, and a store after a merge of
            // branches reads to its access analysis as write-only, dropping the copy-in that keeps the
            // elements around a view. No fast-math, so the device compiler may not fold ss - ss to 0.
            float f = TornadoMath.min(1f, fp.get(0) / (TornadoMath.sqrt(ss) + 1e-6f)) + (ss - ss);
            factor.set(ip.get(CLIP_PARAMS + 1), f);
        }
    }

    /**
     * out[i] = clamp(round half up(x[i] / step), −L, L)·step with step = max[0] / L (L = ip[4]), 0 when
     * step is 0; max is the reduction's result (offset of x, of max, of out after the reduction's).
     * Global size n.
     */
    static void fakeQuantize(KernelContext ctx, IntArray ip, FloatArray x, FloatArray max, FloatArray out) {
        int i = ctx.globalIdx;
        if (i < ip.get(R_N)) {
            float levels = ip.get(R_LEVELS);
            float step = max.get(ip.get(REDUCE_PARAMS + 2)) / levels;
            float r = 0f;
            if (step > 0f) {
                float t = x.get(ip.get(REDUCE_PARAMS) + i) / step;
                float q = TornadoMath.floor(t);
                if (t - q >= 0.5f) {
                    q = q + 1f;
                }
                r = TornadoMath.clamp(q, -levels, levels) * step;
            }
            keepNeighbours(out, ip.get(REDUCE_PARAMS + 3) + i, r);
        }
    }
}
