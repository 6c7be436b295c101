package dev.nola.kernels.cpu;

import static dev.nola.kernels.host.HostTensor.at;
import static dev.nola.kernels.host.HostTensor.segment;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import dev.nola.kernels.AbstractOptimOps;
import dev.nola.kernels.AdamWStep;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.reference.ReferenceOptimOps;
import java.lang.foreign.MemorySegment;
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
        MemorySegment p = segment(param);
        MemorySegment g = segment(grad);
        MemorySegment mv = segment(m);
        MemorySegment vv = segment(v);
        int p0 = at(param);
        int g0 = at(grad);
        int m0 = at(m);
        int v0 = at(v);
        float factor = gradScale == null ? 1f : segment(gradScale).getAtIndex(JAVA_FLOAT, at(gradScale));
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
                float gi = g.getAtIndex(JAVA_FLOAT, g0 + i) * factor;
                float mi = b1 * mv.getAtIndex(JAVA_FLOAT, m0 + i) + ib1 * gi;
                float vi = b2 * vv.getAtIndex(JAVA_FLOAT, v0 + i) + ib2 * gi * gi;
                mv.setAtIndex(JAVA_FLOAT, m0 + i, mi);
                vv.setAtIndex(JAVA_FLOAT, v0 + i, vi);
                float pi = p.getAtIndex(JAVA_FLOAT, p0 + i);
                p.setAtIndex(JAVA_FLOAT, p0 + i, pi - lr * ((mi * ic1) / ((float) Math.sqrt(vi * ic2) + eps) + wd * pi));
            }
        });
    }

    @Override
    protected void doSumOfSquares(Tensor x, Tensor sum, long n) {
        MemorySegment xv = segment(x);
        int x0 = at(x);
        int count = (int) ((n + CHUNK - 1) / CHUNK);
        double[] partial = new double[count];
        chunks(n).forEach(c -> {
            int end = (int) Math.min(n, (long) (c + 1) * CHUNK);
            double acc = 0;
            for (int i = c * CHUNK; i < end; i++) {
                acc += (double) xv.getAtIndex(JAVA_FLOAT, x0 + i) * xv.getAtIndex(JAVA_FLOAT, x0 + i);
            }
            partial[c] = acc;
        });
        double total = 0;
        for (double d : partial) {
            total += d;
        }
        MemorySegment sv = segment(sum);
        sv.setAtIndex(JAVA_FLOAT, at(sum), (float) (sv.getAtIndex(JAVA_FLOAT, at(sum)) + total));
    }

    @Override
    protected void doClipFactor(Tensor sum, float maxNorm, Tensor factor) {
        float ss = segment(sum).getAtIndex(JAVA_FLOAT, at(sum));
        segment(factor).setAtIndex(JAVA_FLOAT, at(factor), Float.isFinite(ss) ? Math.min(1f, maxNorm / ((float) Math.sqrt(ss) + 1e-6f)) : Float.NaN);
    }

    /** Scalar, as the reference: coefficient vectors are a few thousand numbers. */
    @Override
    protected void doFakeQuantize(Tensor x, int bits, Tensor out, long n) {
        float[] xs = new float[(int) n];
        float[] os = new float[(int) n];
        MemorySegment.copy(segment(x), JAVA_FLOAT, 4L * at(x), xs, 0, (int) n);
        ReferenceOptimOps.fakeQuantize(xs, 0, os, 0, bits, n);
        MemorySegment.copy(os, 0, segment(out), JAVA_FLOAT, 4L * at(out), (int) n);
    }
}
