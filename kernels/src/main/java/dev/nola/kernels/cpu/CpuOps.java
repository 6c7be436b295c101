package dev.nola.kernels.cpu;

import dev.nola.kernels.AbstractOps;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Philox;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.host.HostTensor;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** The fast Java path: Vector API loops, parallel over the common fork-join pool. */
public final class CpuOps extends AbstractOps {

    /** The preferred float vector shape of this machine. */
    public static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    public CpuOps(Device device) {
        super(device);
    }

    private static float[] d(Tensor t) {
        return ((HostTensor) t).data();
    }

    @Override
    protected void doBasis(BasisStream s, int firstIndex, int count, long n, Tensor out) {
        float[] o = d(out);
        int blocks = (int) ((n + 3) / 4);
        IntStream.range(0, count).parallel().forEach(j -> {
            int[] w = new int[4];
            int base = (int) (j * n);
            for (int blk = 0; blk < blocks; blk++) {
                Philox.block(blk, firstIndex + j, s.stream(), s.domain(), (int) s.seed(), (int) (s.seed() >>> 32), w);
                int e0 = blk * 4;
                int lanes = (int) Math.min(4, n - e0);
                for (int l = 0; l < lanes; l++) {
                    o[base + e0 + l] = Philox.uniform(w[l]) * s.scale();
                }
            }
        });
    }

    @Override
    protected void doMix(Tensor coefficients, Tensor basis, Tensor offset, Tensor out, int k, long n) {
        float[] c = d(coefficients);
        float[] b = d(basis);
        float[] off = offset == null ? null : d(offset);
        float[] o = d(out);
        int len = (int) n;
        int bound = SPECIES.loopBound(len);
        for (int e = 0; e < bound; e += SPECIES.length()) {
            FloatVector acc = off == null ? FloatVector.zero(SPECIES) : FloatVector.fromArray(SPECIES, off, e);
            for (int i = 0; i < k; i++) {
                acc = FloatVector.fromArray(SPECIES, b, i * len + e).fma(FloatVector.broadcast(SPECIES, c[i]), acc);
            }
            acc.intoArray(o, e);
        }
        for (int e = bound; e < len; e++) {
            float acc = off == null ? 0f : off[e];
            for (int i = 0; i < k; i++) {
                acc = Math.fma(c[i], b[i * len + e], acc);
            }
            o[e] = acc;
        }
    }

    @Override
    protected void doMixGenerated(Tensor coefficients, BasisStream s, Tensor offset, Tensor out, int k, long n) {
        float[] c = d(coefficients);
        float[] off = offset == null ? null : d(offset);
        float[] o = d(out);
        int blocks = (int) ((n + 3) / 4);
        IntStream.range(0, blocks).parallel().forEach(blk -> {
            int[] w = new int[4];
            int e0 = blk * 4;
            int lanes = (int) Math.min(4, n - e0);
            float[] acc = new float[4];
            for (int l = 0; l < lanes; l++) {
                acc[l] = off == null ? 0f : off[e0 + l];
            }
            for (int i = 0; i < k; i++) {
                Philox.block(blk, i, s.stream(), s.domain(), (int) s.seed(), (int) (s.seed() >>> 32), w);
                for (int l = 0; l < lanes; l++) {
                    acc[l] = Math.fma(c[i], Philox.uniform(w[l]) * s.scale(), acc[l]);
                }
            }
            for (int l = 0; l < lanes; l++) {
                o[e0 + l] = acc[l];
            }
        });
    }

    @Override
    protected void doCoefficientGradient(Tensor basis, Tensor grad, Tensor out, int k, long n) {
        float[] b = d(basis);
        float[] g = d(grad);
        float[] o = d(out);
        int len = (int) n;
        IntStream.range(0, k).parallel().forEach(i -> o[i] = dot(b, i * len, g, len));
    }

    static float dot(float[] a, int aOff, float[] b, int len) {
        int bound = SPECIES.loopBound(len);
        FloatVector acc = FloatVector.zero(SPECIES);
        int e = 0;
        for (; e < bound; e += SPECIES.length()) {
            acc = FloatVector.fromArray(SPECIES, a, aOff + e).fma(FloatVector.fromArray(SPECIES, b, e), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; e < len; e++) {
            sum = Math.fma(a[aOff + e], b[e], sum);
        }
        return sum;
    }

    @Override
    protected void doCoefficientGradientGenerated(BasisStream s, Tensor grad, Tensor out, int k, long n) {
        float[] g = d(grad);
        float[] o = d(out);
        int blocks = (int) ((n + 3) / 4);
        IntStream.range(0, k).parallel().forEach(i -> {
            int[] w = new int[4];
            double acc = 0;
            for (int blk = 0; blk < blocks; blk++) {
                Philox.block(blk, i, s.stream(), s.domain(), (int) s.seed(), (int) (s.seed() >>> 32), w);
                int e0 = blk * 4;
                int lanes = (int) Math.min(4, n - e0);
                for (int l = 0; l < lanes; l++) {
                    acc += (Philox.uniform(w[l]) * s.scale()) * g[e0 + l];
                }
            }
            o[i] = (float) acc;
        });
    }

    @Override
    protected void doMatmul(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c,
                            int m, int n, int k) {
        float[] av = d(a);
        float[] bv = d(b);
        float[] cv = d(c);
        // Pack op(B) as [k, n] so the inner loop runs over contiguous rows of B and C.
        float[] bp = bv;
        if (transB) {
            bp = new float[k * n];
            for (int p = 0; p < k; p++) {
                for (int j = 0; j < n; j++) {
                    bp[p * n + j] = bv[j * k + p];
                }
            }
        }
        float[] packedB = bp;
        int lda = transA ? m : k;
        IntStream.range(0, m).parallel().forEach(i -> {
            float[] row = new float[n];
            for (int p = 0; p < k; p++) {
                float x = transA ? av[p * lda + i] : av[i * lda + p];
                FloatVector xv = FloatVector.broadcast(SPECIES, x);
                int bound = SPECIES.loopBound(n);
                int j = 0;
                for (; j < bound; j += SPECIES.length()) {
                    FloatVector.fromArray(SPECIES, packedB, p * n + j).fma(xv, FloatVector.fromArray(SPECIES, row, j)).intoArray(row, j);
                }
                for (; j < n; j++) {
                    row[j] = Math.fma(x, packedB[p * n + j], row[j]);
                }
            }
            for (int j = 0; j < n; j++) {
                cv[i * n + j] = beta == 0f ? alpha * row[j] : alpha * row[j] + beta * cv[i * n + j];
            }
        });
    }
}
