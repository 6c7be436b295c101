package dev.nola.kernels.tornado;

import dev.nola.kernels.tornado.NnParams.BiasForward;
import dev.nola.kernels.tornado.NnParams.ColumnSums;
import dev.nola.kernels.tornado.NnParams.CrossEntropy;
import dev.nola.kernels.tornado.NnParams.EncoderBackwardPositions;
import dev.nola.kernels.tornado.NnParams.EncoderBackwardTokens;
import dev.nola.kernels.tornado.NnParams.EncoderForward;
import dev.nola.kernels.tornado.NnParams.GeluBackward;
import dev.nola.kernels.tornado.NnParams.GeluForward;
import dev.nola.kernels.tornado.NnParams.LayerNormParams;
import dev.nola.kernels.tornado.NnParams.PoolBackward;
import dev.nola.kernels.tornado.NnParams.PoolForward;
import dev.nola.kernels.tornado.NnParams.Residual;
import dev.nola.kernels.tornado.NnParams.RmsNormWeightCombine;
import dev.nola.kernels.tornado.NnParams.RmsNormWeightPartials;
import dev.nola.kernels.tornado.NnParams.Rope;
import dev.nola.kernels.tornado.NnParams.SwigluBackward;
import dev.nola.kernels.tornado.NnParams.SwigluForward;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The nn family (llm.c's transformer ops) as TornadoVM kernels. Every array argument comes with its
 * element offset in the int parameter buffer {@code ip} (tensors may be views: q, k and v are views of
 * one planar buffer in GPT-2), and every access is {@code x[xOff + i]}. Sizes, flags and offsets go in
 * {@code ip}, at the positions {@link NnParams} names (one layout per kernel, written by name by
 * {@link TornadoNnOps}), float values (eps, scale, smoothing, loss gradient) in {@code fp}: TornadoVM bakes scalar
 * arguments into the kernel, so per-call values travel in those small buffers.
 *
 * <p>Shapes of the launches: element-wise ops one work-item per element (on CPU devices GELU, bias and
 * residual in sixteen lanes, {@link NnElementLanes}); the row ops (layernorm, RMSNorm, softmax,
 * cross-entropy) are not here: {@link NormLanes} and {@link NnRowLanes} on CPU devices, a work-group per
 * row elsewhere ({@link NnGroupKernels}); column sums (bias and layernorm parameter gradients, the
 * token-embedding gradient) one work-item per column, which adds the rows in ascending order (on CPU
 * devices sixteen columns per work-item where C allows, {@link ColumnLanes}). No atomics and no cross-work-item reductions,
 * so every result is the same on every run. Each kernel guards its own bound (the global size may be rounded up).
 *
 * <p><b>Aliasing.</b> Operands may be views of one storage (q, k and v of a planar buffer; every operand
 * of a call carved from one buffer), and the host then passes one array for several parameters.
 * TornadoVM's task graph makes a task depend on its own write when an array it writes appears again
 * in a later parameter (the graph compiler then loops forever), so every kernel takes its inputs
 * first and its outputs last, and a kernel with several outputs takes them as <em>output slots</em>
 * ({@code o0}, {@code o1}, ...): the distinct storages of the outputs, padded with placeholders, each
 * output addressed through its slot number in {@code ip} ({@link #slotGet}, {@link #slotSet}).
 *
 * <p>Only arithmetic, loops, arrays and {@link TornadoMath} in kernel bodies (a JDK call can hang
 * TornadoVM's compiler); method names stay clear of OpenCL built-ins.
 */
final class NnKernels {

    private NnKernels() {
    }

    /** The GELU kinds as passed in ip. */
    static final int GELU_TANH = 0;
    static final int GELU_ERF = 1;
    /** The pooling kinds as passed in ip. */
    static final int POOL_MEAN = 0;
    static final int POOL_FIRST = 1;

    static final float SQRT_2_OVER_PI = 0.7978845608028654f;
    private static final float INV_SQRT_2 = 0.70710678118654752f;
    private static final float INV_SQRT_2PI = 0.39894228040143268f;

    // ---------------------------------------------------------------- stores

    /**
     * out[i] = v, with a load of out[i] behind a condition that never holds ({@code n < 0}, n a size):
     * TornadoVM skips the copy to the device of a parameter its dataflow analysis finds write-only,
     * even when the task graph asks for it, and copying the whole array back would then overwrite
     * what lies around a view with whatever the device buffer held. Read-write, the copy-in is the
     * host's decision (made only where the output covers part of its storage).
     */
    static void put(FloatArray out, int i, float v, int n) {
        float r = v;
        if (n < 0) {
            r = out.get(i);
        }
        out.set(i, r);
    }

    // ---------------------------------------------------------------- output slots

    /** o_slot[i] of two output slots. */
    static float slotGet(FloatArray o0, FloatArray o1, int slot, int i) {
        float r;
        if (slot == 0) {
            r = o0.get(i);
        } else {
            r = o1.get(i);
        }
        return r;
    }

    /** o_slot[i] = v over two output slots. */
    static void slotSet(FloatArray o0, FloatArray o1, int slot, int i, float v) {
        if (slot == 0) {
            o0.set(i, v);
        } else {
            o1.set(i, v);
        }
    }

    /** o_slot[i] = v over three output slots, each stored with {@link #put} (n a size). */
    static void slotSet3(FloatArray o0, FloatArray o1, FloatArray o2, int slot, int i, float v, int n) {
        if (slot == 0) {
            put(o0, i, v, n);
        } else if (slot == 1) {
            put(o1, i, v, n);
        } else {
            put(o2, i, v, n);
        }
    }

    /** o_slot[i] = v over two output slots, each stored with {@link #put} (n a size). */
    static void slotPut(FloatArray o0, FloatArray o1, int slot, int i, float v, int n) {
        if (slot == 0) {
            put(o0, i, v, n);
        } else {
            put(o1, i, v, n);
        }
    }

    // ---------------------------------------------------------------- encoder

    /**
     * out[i, :] = wte[ids[i], :] + wpe[i mod t, :], one work-item per element (global n·c). A table
     * that is absent (flag 0) is not read. ip = {n, t, c, hasWte, hasWpe, idsOff, wteOff, wpeOff, outOff}.
     */
    static void nnEncoderForward(KernelContext ctx, IntArray ip, IntArray ids, FloatArray wte, FloatArray wpe,
                                 FloatArray out) {
        int e = ctx.globalIdx;
        int n = ip.get(EncoderForward.N);
        int t = ip.get(EncoderForward.T);
        int c = ip.get(EncoderForward.C);
        if (e < n * c) {
            int row = e / c;
            int j = e - row * c;
            int pos = row - (row / t) * t;
            float v;
            if (ip.get(EncoderForward.HAS_WTE) != 0) {
                v = wte.get(ip.get(EncoderForward.WTE) + ids.get(ip.get(EncoderForward.IDS) + row) * c + j);
                if (ip.get(EncoderForward.HAS_WPE) != 0) {
                    v = v + wpe.get(ip.get(EncoderForward.WPE) + pos * c + j);
                }
            } else {
                v = wpe.get(ip.get(EncoderForward.WPE) + pos * c + j);
            }
            put(out, ip.get(EncoderForward.OUT) + e, v, n);
        }
    }

    /**
     * dwte[ids[i], j] += dout[i, j] for i ascending, one work-item per column j (global c), so rows of
     * repeated ids add in token order. ip = {n, c, idsOff, doutOff, dwteOff}.
     */
    static void nnEncoderBackwardTokens(KernelContext ctx, IntArray ip, IntArray ids, FloatArray dout, FloatArray dwte) {
        int j = ctx.globalIdx;
        int n = ip.get(EncoderBackwardTokens.N);
        int c = ip.get(EncoderBackwardTokens.C);
        if (j < c) {
            int idsOff = ip.get(EncoderBackwardTokens.IDS);
            int doutOff = ip.get(EncoderBackwardTokens.DOUT);
            int dwteOff = ip.get(EncoderBackwardTokens.DWTE);
            for (int i = 0; i < n; i++) {
                int d = dwteOff + ids.get(idsOff + i) * c + j;
                dwte.set(d, dwte.get(d) + dout.get(doutOff + i * c + j));
            }
        }
    }

    /**
     * dwpe[p, j] += dout[b·t + p, j] for b ascending, one work-item per element of [t, c] (global t·c).
     * ip = {n, t, c, doutOff, dwpeOff}.
     */
    static void nnEncoderBackwardPositions(KernelContext ctx, IntArray ip, FloatArray dout, FloatArray dwpe) {
        int e = ctx.globalIdx;
        int n = ip.get(EncoderBackwardPositions.N);
        int t = ip.get(EncoderBackwardPositions.T);
        int c = ip.get(EncoderBackwardPositions.C);
        if (e < t * c) {
            int doutOff = ip.get(EncoderBackwardPositions.DOUT);
            int d = ip.get(EncoderBackwardPositions.DWPE) + e;
            float acc = dwpe.get(d);
            int batches = n / t;
            for (int b = 0; b < batches; b++) {
                acc = acc + dout.get(doutOff + b * t * c + e);
            }
            dwpe.set(d, acc);
        }
    }

    // ---------------------------------------------------------------- layernorm

    // Forward and dx are NormLanes' (CPU devices) and NnGroupKernels' (elsewhere); the parameter gradients:

    /**
     * The layernorm parameter gradients: dweight[j] += Σ_i dout[i, j]·norm[i, j] (when hasW) and
     * dbias[j] += Σ_i dout[i, j] (when hasB), rows ascending; one work-item per column (global c).
     * dweight and dbias through the output slots o0, o1.
     * ip = {n, c, doutOff, xOff, meanOff, rstdOff, dwOff, dbOff, hasW, hasB, dwSlot, dbSlot}.
     */
    static void nnLayerNormParams(KernelContext ctx, IntArray ip, FloatArray dout, FloatArray x, FloatArray mean,
                                  FloatArray rstd, FloatArray o0, FloatArray o1) {
        int j = ctx.globalIdx;
        int n = ip.get(LayerNormParams.N);
        int c = ip.get(LayerNormParams.C);
        if (j < c) {
            int doutOff = ip.get(LayerNormParams.DOUT);
            int xOff = ip.get(LayerNormParams.X);
            int meanOff = ip.get(LayerNormParams.MEAN);
            int rstdOff = ip.get(LayerNormParams.RSTD);
            float sw = 0f;
            float sb = 0f;
            for (int i = 0; i < n; i++) {
                float g = dout.get(doutOff + i * c + j);
                sb = sb + g;
                sw = g * ((x.get(xOff + i * c + j) - mean.get(meanOff + i)) * rstd.get(rstdOff + i)) + sw;
            }
            if (ip.get(LayerNormParams.HAS_W) != 0) {
                int dw = ip.get(LayerNormParams.DW) + j;
                int slot = ip.get(LayerNormParams.DW_SLOT);
                slotSet(o0, o1, slot, dw, slotGet(o0, o1, slot, dw) + sw);
            }
            if (ip.get(LayerNormParams.HAS_B) != 0) {
                int db = ip.get(LayerNormParams.DB) + j;
                int slot = ip.get(LayerNormParams.DB_SLOT);
                slotSet(o0, o1, slot, db, slotGet(o0, o1, slot, db) + sb);
            }
        }
    }

    // ---------------------------------------------------------------- bias, residual

    /** x[i, j] += bias[j], one work-item per element (global n·c). ip = {n, c, xOff, biasOff}. */
    static void nnBiasForward(KernelContext ctx, IntArray ip, FloatArray bias, FloatArray x) {
        int e = ctx.globalIdx;
        int n = ip.get(BiasForward.N);
        int c = ip.get(BiasForward.C);
        if (e < n * c) {
            int row = e / c;
            int j = e - row * c;
            int xe = ip.get(BiasForward.X) + e;
            x.set(xe, x.get(xe) + bias.get(ip.get(BiasForward.BIAS) + j));
        }
    }

    /** dbias[j] += Σ_i dout[i, j], rows ascending; one work-item per column (global c). ip = {n, c, doutOff, dbiasOff}. */
    static void nnColumnSums(KernelContext ctx, IntArray ip, FloatArray dout, FloatArray dbias) {
        int j = ctx.globalIdx;
        int n = ip.get(ColumnSums.N);
        int c = ip.get(ColumnSums.C);
        if (j < c) {
            int doutOff = ip.get(ColumnSums.DOUT);
            float s = 0f;
            for (int i = 0; i < n; i++) {
                s = s + dout.get(doutOff + i * c + j);
            }
            int d = ip.get(ColumnSums.DBIAS) + j;
            dbias.set(d, dbias.get(d) + s);
        }
    }

    /** out = a + b, one work-item per element (global n); out may be a or b. ip = {n, aOff, bOff, outOff}. */
    static void nnResidualForward(KernelContext ctx, IntArray ip, FloatArray a, FloatArray b, FloatArray out) {
        int e = ctx.globalIdx;
        if (e < ip.get(Residual.N)) {
            put(out, ip.get(Residual.OUT) + e, a.get(ip.get(Residual.A) + e) + b.get(ip.get(Residual.B) + e), ip.get(Residual.N));
        }
    }

    // ---------------------------------------------------------------- gelu

    /**
     * erfc(z) for z ≥ 0 to about 1.2e-7 relative (the Chebyshev fit of Numerical Recipes' erfcc);
     * TornadoMath has no erf. Relative accuracy in the tail is what GELU needs, where 1 + erf cancels.
     */
    private static float complementaryErf(float z) {
        float t = 1f / (1f + 0.5f * z);
        float p = t * 0.17087277f - 0.82215223f;
        p = t * p + 1.48851587f;
        p = t * p - 1.13520398f;
        p = t * p + 0.27886807f;
        p = t * p - 0.18628806f;
        p = t * p + 0.09678418f;
        p = t * p + 0.37409196f;
        p = t * p + 1.00002368f;
        p = t * p - 1.26551223f;
        return t * TornadoMath.exp(p - z * z);
    }

    /** Φ(x) = (1 + erf(x/√2))/2, from erfc on both sides, so the lower tail keeps its relative accuracy. */
    private static float normalCdf(float x) {
        float h = 0.5f * complementaryErf(TornadoMath.abs(x) * INV_SQRT_2);
        float r = h;
        if (x >= 0f) {
            r = 1f - h;
        }
        return r;
    }

    /** gelu(v): tanh form 0.5·v·(1 + tanh(√(2/π)·(v + 0.044715·v³))), erf form v·Φ(v). */
    static float gelu(float v, int kind) {
        float r;
        if (kind == GELU_TANH) {
            r = 0.5f * v * (1f + TornadoMath.tanh(SQRT_2_OVER_PI * (v + 0.044715f * v * v * v)));
        } else {
            r = v * normalCdf(v);
        }
        return r;
    }

    /**
     * gelu'(v): tanh form 0.5·(1 + th) + 0.5·v·(1 − th²)·√(2/π)·(1 + 3·0.044715·v²), erf form
     * Φ(v) + v·exp(−v²/2)/√(2π).
     */
    static float geluGradient(float v, int kind) {
        float grad;
        if (kind == GELU_TANH) {
            float th = TornadoMath.tanh(SQRT_2_OVER_PI * (v + 0.044715f * v * v * v));
            grad = 0.5f * (1f + th) + 0.5f * v * (1f - th * th) * (SQRT_2_OVER_PI * (1f + 0.134145f * v * v));
        } else {
            grad = normalCdf(v) + v * TornadoMath.exp(-0.5f * v * v) * INV_SQRT_2PI;
        }
        return grad;
    }

    /**
     * out = gelu(x): tanh form 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), erf form x·Φ(x); one
     * work-item per element (global n); out may be x. ip = {n, kind, xOff, outOff}.
     */
    static void nnGeluForward(KernelContext ctx, IntArray ip, FloatArray x, FloatArray out) {
        int e = ctx.globalIdx;
        if (e < ip.get(GeluForward.N)) {
            float r = gelu(x.get(ip.get(GeluForward.X) + e), ip.get(GeluForward.KIND));
            put(out, ip.get(GeluForward.OUT) + e, r, ip.get(GeluForward.N));
        }
    }

    /**
     * dx += gelu'(x)·dout: tanh form 0.5·(1 + th) + 0.5·x·(1 − th²)·√(2/π)·(1 + 3·0.044715·x²),
     * erf form Φ(x) + x·exp(−x²/2)/√(2π); one work-item per element (global n).
     * ip = {n, kind, xOff, doutOff, dxOff}.
     */
    static void nnGeluBackward(KernelContext ctx, IntArray ip, FloatArray x, FloatArray dout, FloatArray dx) {
        int e = ctx.globalIdx;
        if (e < ip.get(GeluBackward.N)) {
            float grad = geluGradient(x.get(ip.get(GeluBackward.X) + e), ip.get(GeluBackward.KIND));
            int d = ip.get(GeluBackward.DX) + e;
            dx.set(d, grad * dout.get(ip.get(GeluBackward.DOUT) + e) + dx.get(d));
        }
    }

    // ---------------------------------------------------------------- cross-entropy

    // The softmax and cross-entropy kernels are NnRowLanes' (CPU devices) and NnGroupKernels' (elsewhere);
    // cross-entropy's shared loss:

    /**
     * A row's loss from its target logit xt, maximum m, Σ e^(x − m), mean logit and smoothing ε:
     * (m − xt) + log Σ + ε·(xt − mean), the definition regrouped so that no large terms cancel.
     */
    static float crossEntropyLoss(float xt, float m, float sum, float mean, float smoothing) {
        float loss = (m - xt) + TornadoMath.log(sum);
        if (smoothing != 0f) {
            loss = smoothing * (xt - mean) + loss;
        }
        return loss;
    }

    // ---------------------------------------------------------------- pooling

    /**
     * out[b, j] = the mean over the t tokens of x[b, :, j] (tokens ascending) or x[b, 0, j]; one
     * work-item per element of out (global b·c). ip = {b, t, c, kind, xOff, outOff}.
     */
    static void nnPoolForward(KernelContext ctx, IntArray ip, FloatArray x, FloatArray out) {
        int e = ctx.globalIdx;
        int bs = ip.get(PoolForward.B);
        int t = ip.get(PoolForward.T);
        int c = ip.get(PoolForward.C);
        if (e < bs * c) {
            int b = e / c;
            int j = e - b * c;
            int base = ip.get(PoolForward.X) + b * t * c + j;
            float r = x.get(base);
            if (ip.get(PoolForward.KIND) == POOL_MEAN) {
                float acc = 0f;
                for (int i = 0; i < t; i++) {
                    acc = acc + x.get(base + i * c);
                }
                r = acc / t;
            }
            put(out, ip.get(PoolForward.OUT) + e, r, bs);
        }
    }

    /**
     * dx[b, i, j] += dout[b, j]/t for every token (MEAN, global b·t·c) or dout[b, j] at token 0 only
     * (FIRST, global b·c: row q is sequence q, per = 1). One work-item per element touched.
     * ip = {rows, per, t, c, kind, doutOff, dxOff} with rows = b·per.
     */
    static void nnPoolBackward(KernelContext ctx, IntArray ip, FloatArray dout, FloatArray dx) {
        int e = ctx.globalIdx;
        int rows = ip.get(PoolBackward.ROWS);
        int per = ip.get(PoolBackward.PER);
        int t = ip.get(PoolBackward.T);
        int c = ip.get(PoolBackward.C);
        if (e < rows * c) {
            int q = e / c;
            int j = e - q * c;
            int b = q / per;
            int i = q - b * per;
            float g = dout.get(ip.get(PoolBackward.DOUT) + b * c + j);
            if (ip.get(PoolBackward.KIND) == POOL_MEAN) {
                g = g / t;
            }
            int d = ip.get(PoolBackward.DX) + (b * t + i) * c + j;
            dx.set(d, dx.get(d) + g);
        }
    }

    // ---------------------------------------------------------------- the LLaMA family

    // RMSNorm forward and dx are NormLanes' (CPU devices) and NnGroupKernels' (elsewhere); its weight gradient:

    /**
     * The RMSNorm weight gradient's partial column sums: work-item (p, j) (global groups·c, j fastest)
     * adds dout[i, j]·(x[i, j]·rstd[i]) over its fixed span of rows p·span .. p·span + span − 1
     * (clipped to n), ascending, into ws[p·c + j]. The spans depend on n alone.
     * ip = {n, c, span, groups, doutOff, xOff, rstdOff, wsOff}.
     */
    static void nnRmsNormWeightPartials(KernelContext ctx, IntArray ip, FloatArray dout, FloatArray x, FloatArray rstd,
                                        FloatArray ws) {
        int id = ctx.globalIdx;
        int n = ip.get(RmsNormWeightPartials.N);
        int c = ip.get(RmsNormWeightPartials.C);
        int span = ip.get(RmsNormWeightPartials.SPAN);
        if (id < ip.get(RmsNormWeightPartials.GROUPS) * c) {
            int p = id / c;
            int j = id - p * c;
            int from = p * span;
            int to = from + span;
            if (to > n) {
                to = n;
            }
            int doutOff = ip.get(RmsNormWeightPartials.DOUT);
            int xOff = ip.get(RmsNormWeightPartials.X);
            int rstdOff = ip.get(RmsNormWeightPartials.RSTD);
            float acc = 0f;
            for (int i = from; i < to; i++) {
                acc = dout.get(doutOff + i * c + j) * (x.get(xOff + i * c + j) * rstd.get(rstdOff + i)) + acc;
            }
            put(ws, ip.get(RmsNormWeightPartials.WS) + id, acc, n);
        }
    }

    /**
     * dweight[j] += the partials ws[p·c + j] added in p order on one work-item per column (global c):
     * the same sum whatever the scheduling, no atomics. ip = {c, groups, wsOff, dwOff}.
     */
    static void nnRmsNormWeightCombine(KernelContext ctx, IntArray ip, FloatArray ws, FloatArray dw) {
        int j = ctx.globalIdx;
        int c = ip.get(RmsNormWeightCombine.C);
        if (j < c) {
            int groups = ip.get(RmsNormWeightCombine.GROUPS);
            int wsOff = ip.get(RmsNormWeightCombine.WS);
            float s = 0f;
            for (int p = 0; p < groups; p++) {
                s = s + ws.get(wsOff + p * c + j);
            }
            int d = ip.get(RmsNormWeightCombine.DW) + j;
            dw.set(d, dw.get(d) + s);
        }
    }

    /**
     * RoPE in rotate_half layout, both directions, one pair (i, i + d/2) of one head per work-item
     * (global rows·w/2); row r is at position pos0 + r mod t. (The tables' parameters are not named cos and
     * sin: TornadoVM keeps Java parameter names in the OpenCL source, where those are built-ins.) With sp = sin·fp[0] and sm = sin·fp[1]
     * (exactly ±sin: fp = {1, −1} forward, {−1, 1} for the transpose):
     * out[i] = x[i]·cos − x[i + d/2]·sp and out[i + d/2] = x[i + d/2]·cos − x[i]·sm, each product
     * rounded, then one subtraction. Both are written as subtractions on purpose: TornadoVM's OpenCL
     * backend turns every float add of a product into {@code fma} (its OCLFMAPhase), which would
     * change the bits; it leaves subtractions alone, and sm = −sp comes from the parameter buffer,
     * which the compiler cannot see through. out may be x (each work-item reads its pair before
     * writing it). ip = {rows, t, w, headDim, pos0, xOff, cosOff, sinOff, outOff}, fp = {sign, −sign}.
     */
    static void nnRope(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray x, FloatArray cosTable,
                       FloatArray sinTable, FloatArray out) {
        int id = ctx.globalIdx;
        int rows = ip.get(Rope.ROWS);
        int w = ip.get(Rope.W);
        int pairs = w / 2;
        if (id < rows * pairs) {
            int t = ip.get(Rope.T);
            int hd = ip.get(Rope.HEAD_DIM);
            int half = hd / 2;
            int r = id / pairs;
            int k = id - r * pairs;
            int head = k / half;
            int i = k - head * half;
            int p = ip.get(Rope.POS0) + r - (r / t) * t;
            int e = r * w + head * hd + i;
            int xa = ip.get(Rope.X) + e;
            float a = x.get(xa);
            float b = x.get(xa + half);
            int tc = p * half + i;
            float cs = cosTable.get(ip.get(Rope.COS) + tc);
            float sn = sinTable.get(ip.get(Rope.SIN) + tc);
            float sp = sn * fp.get(0);
            float sm = sn * fp.get(1);
            int oa = ip.get(Rope.OUT) + e;
            put(out, oa, a * cs - b * sp, rows);
            put(out, oa + half, b * cs - a * sm, rows);
        }
    }

    /**
     * σ(g) from t = e^(−|g|): 1/(1 + t) for g ≥ 0, t/(1 + t) below (no overflow; the negative tail
     * keeps its relative accuracy).
     */
    private static float sigmoidFrom(float g, float t) {
        float num = 1f;
        if (g < 0f) {
            num = t;
        }
        return num / (1f + t);
    }

    /**
     * out = silu(gate)·up = gate·σ(gate)·up, one work-item per element (global n); out may be gate or
     * up (its element is read before it is written). ip = {n, gateOff, upOff, outOff}.
     */
    static void nnSwigluForward(KernelContext ctx, IntArray ip, FloatArray gate, FloatArray up, FloatArray out) {
        int e = ctx.globalIdx;
        int n = ip.get(SwigluForward.N);
        if (e < n) {
            float g = gate.get(ip.get(SwigluForward.GATE) + e);
            float u = up.get(ip.get(SwigluForward.UP) + e);
            float sg = sigmoidFrom(g, TornadoMath.exp(-TornadoMath.abs(g)));
            put(out, ip.get(SwigluForward.OUT) + e, g * sg * u, n);
        }
    }

    /**
     * dgate += dout·up·silu'(gate) with silu'(g) = σ + g·t/(1 + t)² (σ(1 − σ) = t/(1 + t)², t = e^(−|g|)),
     * dup += dout·(gate·σ); one work-item per element (global n). dgate and dup through the output
     * slots o0, o1. ip = {n, gateOff, upOff, doutOff, dgateOff, dupOff, dgateSlot, dupSlot}.
     */
    static void nnSwigluBackward(KernelContext ctx, IntArray ip, FloatArray gate, FloatArray up, FloatArray dout,
                                 FloatArray o0, FloatArray o1) {
        int e = ctx.globalIdx;
        int n = ip.get(SwigluBackward.N);
        if (e < n) {
            float g = gate.get(ip.get(SwigluBackward.GATE) + e);
            float t = TornadoMath.exp(-TornadoMath.abs(g));
            float op = 1f + t;
            float sg = sigmoidFrom(g, t);
            float grad = g * t / (op * op) + sg;
            float d = dout.get(ip.get(SwigluBackward.DOUT) + e);
            int dg = ip.get(SwigluBackward.DGATE) + e;
            int du = ip.get(SwigluBackward.DUP) + e;
            int dgSlot = ip.get(SwigluBackward.DGATE_SLOT);
            int duSlot = ip.get(SwigluBackward.DUP_SLOT);
            slotSet(o0, o1, dgSlot, dg, d * up.get(ip.get(SwigluBackward.UP) + e) * grad + slotGet(o0, o1, dgSlot, dg));
            slotSet(o0, o1, duSlot, du, d * (g * sg) + slotGet(o0, o1, duSlot, du));
        }
    }
}
