package dev.nola.kernels.tornado;

import static dev.nola.kernels.tornado.Lanes.load16;
import static dev.nola.kernels.tornado.Lanes.splat;
import static dev.nola.kernels.tornado.Lanes.store16;

import dev.nola.kernels.tornado.NnParams.BiasForward;
import dev.nola.kernels.tornado.NnParams.GeluBackward;
import dev.nola.kernels.tornado.NnParams.GeluForward;
import dev.nola.kernels.tornado.NnParams.Residual;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.vectors.Float16;

/**
 * Element-wise kernels of the CPU layout in sixteen lanes ({@link Lanes}): a work-item per sixteen
 * consecutive elements, as the OpenCL backend's CPU layout takes a float16 per work-item, instead of
 * {@link NnKernels}' work-item per element, which PoCL builds as scalar code (GELU forward and
 * backward took 7.9 and 10.4 ms at 512 × 3072 against opencl:0:0's 1.2 and 1.4). Each lane does the
 * scalar kernel's operations in the scalar kernel's order; tanh, which TornadoVM emits only for a
 * scalar, is sixteen independent calls. The erf form of GELU and a last, partial chunk go element by
 * element through the scalar kernels' helpers ({@link #rest}). The residual's sum likewise.
 */
final class NnElementLanes {

    private NnElementLanes() {
    }

    /** Work-items for n elements: one per sixteen. */
    static long chunks(long n) {
        return (n + 15) / 16;
    }

    /**
     * The elements from e that a work-item takes one by one: 0 for a whole chunk of the tanh form (taken in
     * lanes; the residual passes that kind), else up to 16. The element loop follows the lanes' branch instead of sitting in its else:
     * TornadoVM 5.2.1 emitted such an else-loop after the branches' merge, so it ran on both paths (a
     * chunk's dx was added twice).
     */
    private static int rest(int e, int n, int kind) {
        int rest = Math.min(16, n - e);
        if (rest == 16 && kind == NnKernels.GELU_TANH) {
            rest = 0;
        }
        return rest;
    }

    /** tanh lane by lane. */
    private static Float16 tanh16(Float16 x) {
        return new Float16(TornadoMath.tanh(x.getS0()), TornadoMath.tanh(x.getS1()), TornadoMath.tanh(x.getS2()),
                TornadoMath.tanh(x.getS3()), TornadoMath.tanh(x.getS4()), TornadoMath.tanh(x.getS5()), TornadoMath.tanh(x.getS6()),
                TornadoMath.tanh(x.getS7()), TornadoMath.tanh(x.getS8()), TornadoMath.tanh(x.getS9()), TornadoMath.tanh(x.getS10()),
                TornadoMath.tanh(x.getS11()), TornadoMath.tanh(x.getS12()), TornadoMath.tanh(x.getS13()),
                TornadoMath.tanh(x.getS14()), TornadoMath.tanh(x.getS15()));
    }

    /** tanh(√(2/π)·(v + 0.044715·v³)), lane-wise in {@link NnKernels#gelu}'s order. */
    private static Float16 tanhArgument(Float16 v) {
        Float16 cube = Float16.mult(Float16.mult(Float16.mult(splat(0.044715f), v), v), v);
        return tanh16(Float16.mult(splat(NnKernels.SQRT_2_OVER_PI), Float16.add(v, cube)));
    }

    /**
     * out = gelu(x) ({@link NnKernels#nnGeluForward}), elements 16w .. 16w + 15 per work-item w (global
     * {@link #chunks}(n)); out may be x. ip = {n, kind, xOff, outOff}.
     */
    static void nnGeluForwardLanes(KernelContext ctx, IntArray ip, FloatArray x, FloatArray out) {
        int e = ctx.globalIdx * 16;
        int n = ip.get(GeluForward.N);
        if (e < n) {
            int kind = ip.get(GeluForward.KIND);
            int xi = ip.get(GeluForward.X) + e;
            int oi = ip.get(GeluForward.OUT) + e;
            int rest = rest(e, n, kind);
            if (rest == 0) {
                Float16 v = load16(x, xi);
                Float16 r = Float16.mult(Float16.mult(splat(0.5f), v), Float16.add(splat(1f), tanhArgument(v)));
                // lane 0 through put: out must read as read-write, or TornadoVM drops its copy-in (NnKernels.put)
                NnKernels.put(out, oi, r.getS0(), n);
                store16(out, oi, r);
            }
            for (int i = 0; i < rest; i++) {
                NnKernels.put(out, oi + i, NnKernels.gelu(x.get(xi + i), kind), n);
            }
        }
    }

    /**
     * dx += gelu'(x)·dout ({@link NnKernels#nnGeluBackward}), elements 16w .. 16w + 15 per work-item w
     * (global {@link #chunks}(n)). ip = {n, kind, xOff, doutOff, dxOff}.
     */
    static void nnGeluBackwardLanes(KernelContext ctx, IntArray ip, FloatArray x, FloatArray dout, FloatArray dx) {
        int e = ctx.globalIdx * 16;
        int n = ip.get(GeluBackward.N);
        if (e < n) {
            int kind = ip.get(GeluBackward.KIND);
            int xi = ip.get(GeluBackward.X) + e;
            int gi = ip.get(GeluBackward.DOUT) + e;
            int di = ip.get(GeluBackward.DX) + e;
            int rest = rest(e, n, kind);
            if (rest == 0) {
                Float16 v = load16(x, xi);
                Float16 th = tanhArgument(v);
                Float16 one = splat(1f);
                Float16 half = splat(0.5f);
                Float16 slope = Float16.mult(splat(NnKernels.SQRT_2_OVER_PI),
                        Float16.add(one, Float16.mult(Float16.mult(splat(0.134145f), v), v)));
                Float16 grad = Float16.add(Float16.mult(half, Float16.add(one, th)),
                        Float16.mult(Float16.mult(Float16.mult(half, v), Float16.sub(one, Float16.mult(th, th))), slope));
                store16(dx, di, Float16.add(Float16.mult(grad, load16(dout, gi)), load16(dx, di)));
            }
            for (int i = 0; i < rest; i++) {
                float grad = NnKernels.geluGradient(x.get(xi + i), kind);
                dx.set(di + i, grad * dout.get(gi + i) + dx.get(di + i));
            }
        }
    }

    /**
     * x[i, j] += bias[j] ({@link NnKernels#nnBiasForward}) for c a multiple of 16: columns 16u .. 16u + 15
     * of a row per work-item (global n·c/16). ip = {n, c, xOff, biasOff}.
     */
    static void nnBiasForwardLanes(KernelContext ctx, IntArray ip, FloatArray bias, FloatArray x) {
        int w = ctx.globalIdx;
        int c16 = ip.get(BiasForward.C) / 16;
        if (w < ip.get(BiasForward.N) * c16) {
            int row = w / c16;
            int u = (w - row * c16) * 16;
            int xe = ip.get(BiasForward.X) + row * ip.get(BiasForward.C) + u;
            store16(x, xe, Float16.add(load16(x, xe), load16(bias, ip.get(BiasForward.BIAS) + u)));
        }
    }

    /**
     * out = a + b ({@link NnKernels#nnResidualForward}), elements 16w .. 16w + 15 per work-item w (global
     * {@link #chunks}(n)); out may be a or b (each chunk is read before it is written). A last, partial
     * chunk element by element. ip = {n, aOff, bOff, outOff}.
     */
    static void nnResidualForwardLanes(KernelContext ctx, IntArray ip, FloatArray a, FloatArray b, FloatArray out) {
        int e = ctx.globalIdx * 16;
        int n = ip.get(Residual.N);
        if (e < n) {
            int ai = ip.get(Residual.A) + e;
            int bi = ip.get(Residual.B) + e;
            int oi = ip.get(Residual.OUT) + e;
            int rest = rest(e, n, NnKernels.GELU_TANH);
            if (rest == 0) {
                Float16 r = Float16.add(load16(a, ai), load16(b, bi));
                // lane 0 through put: out must read as read-write, or TornadoVM drops its copy-in (NnKernels.put)
                NnKernels.put(out, oi, r.getS0(), n);
                store16(out, oi, r);
            }
            for (int i = 0; i < rest; i++) {
                NnKernels.put(out, oi + i, a.get(ai + i) + b.get(bi + i), n);
            }
        }
    }
}
