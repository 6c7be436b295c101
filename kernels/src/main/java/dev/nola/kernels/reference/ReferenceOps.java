package dev.nola.kernels.reference;

import dev.nola.kernels.AbstractOps;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Philox;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.host.HostTensor;

/**
 * The oracle: the simplest scalar implementation of every op, written to be obviously correct and
 * never optimised. Reductions accumulate in double, so the reference is at least as accurate as any
 * backend it judges. Every other backend is tested against this class.
 */
public final class ReferenceOps extends AbstractOps {

    public ReferenceOps(Device device) {
        super(device);
    }

    private static float[] d(Tensor t) {
        return ((HostTensor) t).data();
    }

    @Override
    protected void doBasis(BasisStream s, int firstIndex, int count, long n, Tensor out) {
        float[] o = d(out);
        int[] block = new int[4];
        for (int j = 0; j < count; j++) {
            for (long e = 0; e < n; e++) {
                Philox.block((int) (e >>> 2), firstIndex + j, s.stream(), s.domain(),
                        (int) s.seed(), (int) (s.seed() >>> 32), block);
                o[(int) (j * n + e)] = Philox.uniform(block[(int) (e & 3)]) * s.scale();
            }
        }
    }

    @Override
    protected void doMix(Tensor coefficients, Tensor basis, Tensor offset, Tensor out, int k, long n) {
        float[] c = d(coefficients);
        float[] b = d(basis);
        float[] off = offset == null ? null : d(offset);
        float[] o = d(out);
        for (int e = 0; e < n; e++) {
            float acc = off == null ? 0f : off[e];
            for (int i = 0; i < k; i++) {
                acc = Math.fma(c[i], b[(int) (i * n + e)], acc);
            }
            o[e] = acc;
        }
    }

    @Override
    protected void doMixGenerated(Tensor coefficients, BasisStream s, Tensor offset, Tensor out, int k, long n) {
        float[] c = d(coefficients);
        float[] off = offset == null ? null : d(offset);
        float[] o = d(out);
        for (int e = 0; e < n; e++) {
            float acc = off == null ? 0f : off[e];
            for (int i = 0; i < k; i++) {
                acc = Math.fma(c[i], s.element(i, e), acc);
            }
            o[e] = acc;
        }
    }

    @Override
    protected void doCoefficientGradient(Tensor basis, Tensor grad, Tensor out, int k, long n) {
        float[] b = d(basis);
        float[] g = d(grad);
        float[] o = d(out);
        for (int i = 0; i < k; i++) {
            double acc = 0;
            for (int e = 0; e < n; e++) {
                acc += (double) b[(int) (i * n + e)] * g[e];
            }
            o[i] = (float) acc;
        }
    }

    @Override
    protected void doCoefficientGradientGenerated(BasisStream s, Tensor grad, Tensor out, int k, long n) {
        float[] g = d(grad);
        float[] o = d(out);
        for (int i = 0; i < k; i++) {
            double acc = 0;
            for (int e = 0; e < n; e++) {
                acc += (double) s.element(i, e) * g[e];
            }
            o[i] = (float) acc;
        }
    }

    @Override
    protected void doMatmul(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c,
                            int m, int n, int k) {
        float[] av = d(a);
        float[] bv = d(b);
        float[] cv = d(c);
        int lda = transA ? m : k;
        int ldb = transB ? k : n;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int p = 0; p < k; p++) {
                    float x = transA ? av[p * lda + i] : av[i * lda + p];
                    float y = transB ? bv[j * ldb + p] : bv[p * ldb + j];
                    acc += (double) x * y;
                }
                double prior = beta == 0f ? 0.0 : (double) beta * cv[i * n + j];
                cv[i * n + j] = (float) (alpha * acc + prior);
            }
        }
    }
}
