package dev.nola.kernels.reference;

import static dev.nola.kernels.host.HostTensor.at;
import static dev.nola.kernels.host.HostTensor.floats;

import dev.nola.kernels.AbstractOptimOps;
import dev.nola.kernels.AdamWStep;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;

/** The oracle of the optim family: each element's update in double, stored as float32. */
public final class ReferenceOptimOps extends AbstractOptimOps {

    public ReferenceOptimOps(Device device) {
        super(device);
    }

    @Override
    protected void doAdamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep s, Tensor gradScale, long n) {
        float[] p = floats(param);
        float[] g = floats(grad);
        float[] mv = floats(m);
        float[] vv = floats(v);
        int p0 = at(param);
        int g0 = at(grad);
        int m0 = at(m);
        int v0 = at(v);
        double factor = gradScale == null ? 1.0 : floats(gradScale)[at(gradScale)];
        for (int i = 0; i < n; i++) {
            double gi = g[g0 + i] * factor;
            double mi = s.beta1() * (double) mv[m0 + i] + (1 - (double) s.beta1()) * gi;
            double vi = s.beta2() * (double) vv[v0 + i] + (1 - (double) s.beta2()) * gi * gi;
            mv[m0 + i] = (float) mi;
            vv[v0 + i] = (float) vi;
            double update = (mi / s.correction1()) / (Math.sqrt(vi / s.correction2()) + s.epsilon())
                    + (double) s.weightDecay() * p[p0 + i];
            p[p0 + i] = (float) (p[p0 + i] - (double) s.learningRate() * update);
        }
    }

    @Override
    protected void doSumOfSquares(Tensor x, Tensor sum, long n) {
        float[] xv = floats(x);
        int x0 = at(x);
        double acc = 0;
        for (int i = 0; i < n; i++) {
            acc += (double) xv[x0 + i] * xv[x0 + i];
        }
        float[] s = floats(sum);
        s[at(sum)] = (float) (s[at(sum)] + acc);
    }

    @Override
    protected void doClipFactor(Tensor sum, float maxNorm, Tensor factor) {
        double ss = floats(sum)[at(sum)];
        double f = Double.isFinite(ss) ? Math.min(1.0, maxNorm / (Math.sqrt(ss) + 1e-6)) : Double.NaN;
        floats(factor)[at(factor)] = (float) f;
    }

    @Override
    protected void doFakeQuantize(Tensor x, int bits, Tensor out, long n) {
        fakeQuantize(x, bits, out, n);
    }

    /** Max-abs fake quantization of heap host tensors, in the definition's order. */
    public static void fakeQuantize(Tensor x, int bits, Tensor out, long n) {
        fakeQuantize(floats(x), at(x), floats(out), at(out), bits, n);
    }

    /**
     * Max-abs fake quantization of xv[x0 .. x0+n) into o[o0 ..] (the cpu backend uses it too, on
     * copies: it runs on coefficient vectors of a few thousand numbers, where a scalar pass costs nothing).
     */
    public static void fakeQuantize(float[] xv, int x0, float[] o, int o0, int bits, long n) {
        int levels = (1 << (bits - 1)) - 1;
        float max = 0f;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, Math.abs(xv[x0 + i]));
        }
        float step = max / levels;
        for (int i = 0; i < n; i++) {
            o[o0 + i] = step > 0f ? Math.max(-levels, Math.min(levels, Math.round(xv[x0 + i] / step))) * step : 0f;
        }
    }
}
