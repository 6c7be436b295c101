package dev.nola.kernels.cpu;

import static dev.nola.kernels.host.HostTensor.at;
import static dev.nola.kernels.host.HostTensor.floats;

import dev.nola.kernels.AbstractOptimOps;
import dev.nola.kernels.AdamWStep;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.reference.ReferenceOptimOps;
import java.util.stream.IntStream;

/**
 * The optim family on the cpu backend: the AdamW update in float32, parallel over chunks for large
 * parameter tensors; the sum of squares in fixed chunks added in chunk order, so the result does not
 * depend on thread timing.
 */
public final class CpuOptimOps extends AbstractOptimOps {

    /** Elements per chunk (parallel work unit and fixed reduction block). */
    private static final int CHUNK = 1 << 15;

    public CpuOptimOps(Device device) {
        super(device);
    }

    private static IntStream chunks(long n) {
        int count = (int) ((n + CHUNK - 1) / CHUNK);
        IntStream r = IntStream.range(0, count);
        return count > 1 ? r.parallel() : r;
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
        float factor = gradScale == null ? 1f : floats(gradScale)[at(gradScale)];
        float b1 = s.beta1();
        float b2 = s.beta2();
        float ib1 = 1f - b1;
        float ib2 = 1f - b2;
        float ic1 = 1f / s.correction1();
        float ic2 = 1f / s.correction2();
        float lr = s.learningRate();
        float eps = s.epsilon();
        float wd = s.weightDecay();
        chunks(n).forEach(c -> {
            int end = (int) Math.min(n, (long) (c + 1) * CHUNK);
            for (int i = c * CHUNK; i < end; i++) {
                float gi = g[g0 + i] * factor;
                float mi = b1 * mv[m0 + i] + ib1 * gi;
                float vi = b2 * vv[v0 + i] + ib2 * gi * gi;
                mv[m0 + i] = mi;
                vv[v0 + i] = vi;
                float pi = p[p0 + i];
                p[p0 + i] = pi - lr * ((mi * ic1) / ((float) Math.sqrt(vi * ic2) + eps) + wd * pi);
            }
        });
    }

    @Override
    protected void doSumOfSquares(Tensor x, Tensor sum, long n) {
        float[] xv = floats(x);
        int x0 = at(x);
        int count = (int) ((n + CHUNK - 1) / CHUNK);
        double[] partial = new double[count];
        chunks(n).forEach(c -> {
            int end = (int) Math.min(n, (long) (c + 1) * CHUNK);
            double acc = 0;
            for (int i = c * CHUNK; i < end; i++) {
                acc += (double) xv[x0 + i] * xv[x0 + i];
            }
            partial[c] = acc;
        });
        double total = 0;
        for (double d : partial) {
            total += d;
        }
        float[] sv = floats(sum);
        sv[at(sum)] = (float) (sv[at(sum)] + total);
    }

    @Override
    protected void doClipFactor(Tensor sum, float maxNorm, Tensor factor) {
        float ss = floats(sum)[at(sum)];
        floats(factor)[at(factor)] = Float.isFinite(ss) ? Math.min(1f, maxNorm / ((float) Math.sqrt(ss) + 1e-6f)) : Float.NaN;
    }

    /** Scalar, as the reference: coefficient vectors are a few thousand numbers. */
    @Override
    protected void doFakeQuantize(Tensor x, int bits, Tensor out, long n) {
        ReferenceOptimOps.fakeQuantize(x, bits, out, n);
    }
}
