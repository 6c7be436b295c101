package dev.nola.kernels.tornado;

import static dev.nola.kernels.tornado.Lanes.load16;
import static dev.nola.kernels.tornado.Lanes.splat;
import static dev.nola.kernels.tornado.Lanes.store16;

import dev.nola.kernels.tornado.NnParams.CrossEntropy;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.vectors.Float16;

/**
 * Row kernels of the CPU layout in sixteen lanes ({@link Lanes}), as the OpenCL backend's CPU layout
 * walks a row in float8: a work-item per row, the row's first V − V % 16 columns sixteen at a time into
 * lane-wise maxima and sums (added across the lanes at the end), then the rest one by one. A row walked
 * element by element is one chain of dependent additions and exponentials (those kernels took 0.6 s
 * each per GPT-2 step, against opencl:0:0's 0.2 to 0.3 s, loaded machine).
 * The sums in a fixed order (lanes, then across them), within the contract's tolerance.
 */
final class NnRowLanes {

    private NnRowLanes() {
    }

    /** The maximum of x[r .. r + v), starting from x[r] (no −∞ constant). */
    private static float rowMax(FloatArray x, int r, int v) {
        int v16 = v - v % 16;
        Float16 mv = splat(x.get(r));
        for (int j = 0; j < v16; j += 16) {
            mv = Lanes.maximum(mv, load16(x, r + j));
        }
        float m = Lanes.max16(mv);
        for (int j = v16; j < v; j++) {
            m = TornadoMath.max(m, x.get(r + j));
        }
        return m;
    }

    /**
     * loss[i] = (max − x[t]) + log Σ exp(x − max) + ε·(x[t] − mean x) (the definition regrouped so that
     * no large terms cancel, {@link NnKernels#crossEntropyLoss}), 0 where t is the ignore index; one
     * work-item per row (global n). ip = {n, v, ignore, logitsOff, targetsOff, lossesOff}, fp = {smoothing}.
     */
    static void nnCrossEntropyForwardLanes(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray logits, IntArray targets,
                                           FloatArray losses) {
        int row = ctx.globalIdx;
        int n = ip.get(CrossEntropy.N);
        int v = ip.get(CrossEntropy.V);
        if (row < n) {
            int t = targets.get(ip.get(CrossEntropy.TARGETS) + row);
            float loss = 0f;
            if (t != ip.get(CrossEntropy.IGNORE)) {
                int xr = ip.get(CrossEntropy.LOGITS) + row * v;
                int v16 = v - v % 16;
                float m = rowMax(logits, xr, v);
                Float16 mm = splat(m);
                Float16 av = splat(0f);
                Float16 sv = splat(0f);
                for (int j = 0; j < v16; j += 16) {
                    Float16 x = load16(logits, xr + j);
                    av = Float16.add(av, x);
                    sv = Float16.add(sv, Lanes.exponential(Float16.sub(x, mm)));
                }
                float a = Lanes.sum16(av);
                float sum = Lanes.sum16(sv);
                for (int j = v16; j < v; j++) {
                    float xj = logits.get(xr + j);
                    a = a + xj;
                    sum = sum + TornadoMath.exp(xj - m);
                }
                loss = NnKernels.crossEntropyLoss(logits.get(xr + t), m, sum, a / v, fp.get(0));
            }
            NnKernels.put(losses, ip.get(CrossEntropy.OUT) + row, loss, n);
        }
    }

    /**
     * dlogits[i, j] = g·(p[i, j] − (1−ε)·[j = t] − ε/V), 0 for ignored rows; written, and dlogits may
     * be logits: e = exp(x − max) is stored into d after x is read, then d = g·(e/Σ − q). One
     * work-item per row (global n). ip = {n, v, ignore, logitsOff, targetsOff, dOff}, fp = {smoothing, g}.
     */
    static void nnCrossEntropyBackwardLanes(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray logits, IntArray targets,
                                            FloatArray dlogits) {
        int row = ctx.globalIdx;
        int n = ip.get(CrossEntropy.N);
        int v = ip.get(CrossEntropy.V);
        if (row < n) {
            int t = targets.get(ip.get(CrossEntropy.TARGETS) + row);
            int xr = ip.get(CrossEntropy.LOGITS) + row * v;
            int d = ip.get(CrossEntropy.OUT) + row * v;
            int v16 = v - v % 16;
            if (t == ip.get(CrossEntropy.IGNORE)) {
                for (int j = 0; j < v; j++) {
                    dlogits.set(d + j, 0f);
                }
            } else {
                float smoothing = fp.get(0);
                float grad = fp.get(1);
                float off = smoothing / v;
                float hit = 1f - smoothing + off;
                float m = rowMax(logits, xr, v);
                // e = exp(x − max) into d (x read first, so in place works), then d = g·(e/Σ − off)
                Float16 mm = splat(m);
                Float16 sv = splat(0f);
                for (int j = 0; j < v16; j += 16) {
                    Float16 e = Lanes.exponential(Float16.sub(load16(logits, xr + j), mm));
                    store16(dlogits, d + j, e);
                    sv = Float16.add(sv, e);
                }
                float sum = Lanes.sum16(sv);
                for (int j = v16; j < v; j++) {
                    float e = TornadoMath.exp(logits.get(xr + j) - m);
                    dlogits.set(d + j, e);
                    sum = sum + e;
                }
                float et = dlogits.get(d + t);
                Float16 sums = splat(sum);
                Float16 offs = splat(off);
                Float16 grads = splat(grad);
                for (int j = 0; j < v16; j += 16) {
                    store16(dlogits, d + j, Float16.mult(grads, Float16.sub(Float16.div(load16(dlogits, d + j), sums), offs)));
                }
                for (int j = v16; j < v; j++) {
                    dlogits.set(d + j, grad * (dlogits.get(d + j) / sum - off));
                }
                dlogits.set(d + t, grad * (et / sum - hit));
            }
        }
    }
}
