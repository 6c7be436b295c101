package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.SegmentAccess.ORDER;
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
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The optim family on the cpu backend: the AdamW update in float32, parallel over chunks for large
 * parameter tensors; the sum of squares in double vector lanes over fixed chunks added in chunk order,
 * so the result does not depend on thread timing.
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
        double total;
        if (count == 1) { // a coefficient vector: no task, no array
            total = sumOfSquares(xv, x0, x0 + (int) n);
        } else {
            double[] partial = new double[count];
            chunks(n).forEach(c -> partial[c] = sumOfSquares(xv, x0 + c * CHUNK, x0 + (int) Math.min(n, (long) (c + 1) * CHUNK)));
            total = 0;
            for (double d : partial) {
                total += d;
            }
        }
        MemorySegment sv = segment(sum);
        sv.setAtIndex(JAVA_FLOAT, at(sum), (float) (sv.getAtIndex(JAVA_FLOAT, at(sum)) + total));
    }

    /** Double lanes as wide as the machine's vectors, fed by float vectors of as many lanes. */
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> F = VectorSpecies.of(float.class, VectorShape.forBitSize(D.vectorBitSize() / 2));

    /**
     * Σ x[i]² over [from, to) in double: two vector accumulators (a float squared is exact in double,
     * so fma and multiply-add agree), their lanes added in lane order, then the tail; the same bits
     * whatever the JIT or the thread, for one vector width.
     */
    static double sumOfSquares(MemorySegment x, int from, int to) {
        DoubleVector a0 = DoubleVector.zero(D);
        DoubleVector a1 = DoubleVector.zero(D);
        int step = 2 * F.length();
        int i = from;
        for (int bound = to - (to - from) % step; i < bound; i += step) {
            DoubleVector d0 = (DoubleVector) FloatVector.fromMemorySegment(F, x, 4L * i, ORDER).convertShape(VectorOperators.F2D, D, 0);
            DoubleVector d1 = (DoubleVector) FloatVector.fromMemorySegment(F, x, 4L * (i + F.length()), ORDER).convertShape(VectorOperators.F2D, D, 0);
            a0 = d0.fma(d0, a0);
            a1 = d1.fma(d1, a1);
        }
        double[] lanes = new double[D.length()];
        a0.add(a1).intoArray(lanes, 0);
        double s = 0;
        for (double l : lanes) {
            s += l;
        }
        for (; i < to; i++) {
            double v = x.getAtIndex(JAVA_FLOAT, i);
            s += v * v;
        }
        return s;
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
