package dev.nola.kernels.cpu;

import dev.nola.kernels.AbstractOps;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.host.HostTensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fast Java path: Vector API kernels, parallel over the common fork-join pool. Each op family
 * lives in its own class: {@link Sgemm} (matmul, and through it the adapter ops composed in
 * {@link AbstractOps}), {@link MixKernels} (mix and coefficient gradient on a materialised basis),
 * {@link GeneratedKernels} with {@link PhiloxLanes} (basis generation and the fused variants),
 * {@link AdapterKernels} (the adapter forward and backward at small rank, row by row).
 * Tensors are {@link HostTensor}s (JVM heap arrays, row-major).
 */
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
        GeneratedKernels.basis(s, firstIndex, count, (int) n, d(out));
    }

    @Override
    protected void doMix(Tensor coefficients, Tensor basis, Tensor offset, Tensor out, int k, long n) {
        MixKernels.mix(d(coefficients), d(basis), offset == null ? null : d(offset), d(out), k, (int) n);
    }

    @Override
    protected void doMixGenerated(Tensor coefficients, BasisStream s, Tensor offset, Tensor out, int k, long n) {
        GeneratedKernels.mix(d(coefficients), s, offset == null ? null : d(offset), d(out), k, (int) n);
    }

    @Override
    protected void doCoefficientGradient(Tensor basis, Tensor grad, Tensor out, int k, long n) {
        MixKernels.coefficientGradient(d(basis), d(grad), d(out), k, (int) n);
    }

    @Override
    protected void doCoefficientGradientGenerated(BasisStream s, Tensor grad, Tensor out, int k, long n) {
        GeneratedKernels.coefficientGradient(s, d(grad), d(out), k, (int) n);
    }

    @Override
    protected void doMatmul(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c,
                            int m, int n, int k) {
        Sgemm.gemm(transA, transB, alpha, d(a), d(b), beta, d(c), m, n, k);
    }

    @Override
    protected void doAdapterForward(Tensor x, Tensor a, Tensor b, float scale, Tensor h, Tensor y,
                                    int tokens, int in, int r, int out) {
        if (r > AdapterKernels.MAX_RANK) {
            super.doAdapterForward(x, a, b, scale, h, y, tokens, in, r, out);
            return;
        }
        AdapterKernels.forward(d(x), d(a), d(b), scale, d(h), d(y), tokens, in, r, out);
    }

    @Override
    protected void doAdapterBackward(Tensor x, Tensor a, Tensor b, float scale, Tensor h, Tensor dy,
                                     Tensor dh, Tensor dx, Tensor da, Tensor db, int tokens, int in, int r, int out) {
        if (r > AdapterKernels.MAX_RANK) {
            super.doAdapterBackward(x, a, b, scale, h, dy, dh, dx, da, db, tokens, in, r, out);
            return;
        }
        AdapterKernels.backward(d(x), d(a), d(b), scale, d(h), d(dy), d(dh), dx == null ? null : d(dx), d(da), d(db),
                tokens, in, r, out);
    }
}
