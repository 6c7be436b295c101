package dev.nola.kernels.tornado;

import static dev.nola.kernels.tornado.Lanes.load16;
import static dev.nola.kernels.tornado.Lanes.splat;
import static dev.nola.kernels.tornado.Lanes.store16;

import dev.nola.kernels.tornado.NnParams.CrossEntropy;
import dev.nola.kernels.tornado.NnParams.SoftmaxBackward;
import dev.nola.kernels.tornado.NnParams.SoftmaxForward;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.vectors.Float16;

/**
 * Row kernels of the CPU layout in sixteen lanes ({@link Lanes}) (cross-entropy, softmax; the norms are
 * {@link NormLanes}), as the OpenCL backend's CPU layout walks a row in float8: a work-item per row, the row's first V − V % 16 columns sixteen at a time into
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

    /**
     * out[r, j] = exp(s·x[r, j] − max) / Σ over the row, columns j &gt; r mod l written 0 when causal;
     * out may be x (each chunk is read before it is written, by one work-item). One work-item per row
     * (global rows). ip = {rows, l, causal, xOff, outOff}, fp = {scale}.
     */
    static void nnSoftmaxForwardLanes(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray x, FloatArray out) {
        int r = ctx.globalIdx;
        int rows = ip.get(SoftmaxForward.ROWS);
        int l = ip.get(SoftmaxForward.L);
        if (r < rows) {
            float scale = fp.get(0);
            int len = l;
            if (ip.get(SoftmaxForward.CAUSAL) != 0) {
                len = r - (r / l) * l + 1;
            }
            int len16 = len - len % 16;
            int xr = ip.get(SoftmaxForward.X) + r * l;
            int o = ip.get(SoftmaxForward.OUT) + r * l;
            Float16 sc = splat(scale);
            Float16 mv = splat(scale * x.get(xr));
            for (int j = 0; j < len16; j += 16) {
                mv = Lanes.maximum(mv, Float16.mult(sc, load16(x, xr + j)));
            }
            float m = Lanes.max16(mv);
            for (int j = len16; j < len; j++) {
                m = TornadoMath.max(m, scale * x.get(xr + j));
            }
            Float16 mm = splat(m);
            Float16 sv = splat(0f);
            for (int j = 0; j < len16; j += 16) {
                Float16 e = Lanes.exponential(Float16.sub(Float16.mult(sc, load16(x, xr + j)), mm));
                store16(out, o + j, e);
                sv = Float16.add(sv, e);
            }
            float sum = Lanes.sum16(sv);
            for (int j = len16; j < len; j++) {
                float e = TornadoMath.exp(scale * x.get(xr + j) - m);
                out.set(o + j, e);
                sum = sum + e;
            }
            Float16 sums = splat(sum);
            for (int j = 0; j < len16; j += 16) {
                store16(out, o + j, Float16.div(load16(out, o + j), sums));
            }
            for (int j = len16; j < len; j++) {
                out.set(o + j, out.get(o + j) / sum);
            }
            for (int j = len; j < l; j++) {
                out.set(o + j, 0f);
            }
        }
    }

    /**
     * dx[r, j] = s·y[r, j]·(dy[r, j] − Σ_i y[r, i]·dy[r, i]), written; dx may be dy (the dot is taken
     * first). One work-item per row (global rows).
     * ip = {rows, l, yOff, dyOff, dxOff}, fp = {scale}.
     */
    static void nnSoftmaxBackwardLanes(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray y, FloatArray dy,
                                       FloatArray dx) {
        int r = ctx.globalIdx;
        int rows = ip.get(SoftmaxBackward.ROWS);
        int l = ip.get(SoftmaxBackward.L);
        if (r < rows) {
            float scale = fp.get(0);
            int l16 = l - l % 16;
            int yr = ip.get(SoftmaxBackward.Y) + r * l;
            int g = ip.get(SoftmaxBackward.DY) + r * l;
            int d = ip.get(SoftmaxBackward.DX) + r * l;
            Float16 dv = splat(0f);
            for (int j = 0; j < l16; j += 16) {
                dv = Float16.add(Float16.mult(load16(y, yr + j), load16(dy, g + j)), dv);
            }
            float dot = Lanes.sum16(dv);
            for (int j = l16; j < l; j++) {
                dot = y.get(yr + j) * dy.get(g + j) + dot;
            }
            Float16 sc = splat(scale);
            Float16 dots = splat(dot);
            for (int j = 0; j < l16; j += 16) {
                Float16 v = Float16.mult(Float16.mult(sc, load16(y, yr + j)), Float16.sub(load16(dy, g + j), dots));
                // lane 0 through put: dx must read as read-write, or TornadoVM drops its copy-in (NnKernels.put)
                NnKernels.put(dx, d + j, v.getS0(), rows);
                store16(dx, d + j, v);
            }
            for (int j = l16; j < l; j++) {
                NnKernels.put(dx, d + j, scale * y.get(yr + j) * (dy.get(g + j) - dot), rows);
            }
        }
    }
}
