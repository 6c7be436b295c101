package dev.nola.kernels.cpu;

import static dev.nola.kernels.host.HostTensor.atZero;
import static dev.nola.kernels.host.HostTensor.floats;

import dev.nola.kernels.AbstractNolaOps;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.reference.ReferenceNolaOps;

/**
 * The nola family on the cpu backend: {@link MixKernels} (mix and gradient on a materialised basis,
 * L1-resident column tiles) and {@link GeneratedKernels} (the fused variants). Adapter coefficients,
 * bases and factors are whole tensors; a view at an offset runs the scalar kernels, which give the
 * same bits for the mixes.
 */
public final class CpuNolaOps extends AbstractNolaOps {

    private final ReferenceNolaOps scalar;

    public CpuNolaOps(Device device) {
        super(device);
        this.scalar = new ReferenceNolaOps(device);
    }

    private static float[] orNull(Tensor t) {
        return t == null ? null : floats(t);
    }

    @Override
    protected void doMix(Tensor coefficients, Tensor basis, Tensor offset, Tensor out, int k, long n) {
        if (!atZero(coefficients, basis, offset, out)) {
            scalar.mix(coefficients, basis, offset, out);
            return;
        }
        MixKernels.mix(floats(coefficients), floats(basis), orNull(offset), floats(out), k, (int) n);
    }

    @Override
    protected void doMixGenerated(Tensor coefficients, BasisStream s, Tensor offset, Tensor out, int k, long n) {
        if (!atZero(coefficients, offset, out)) {
            scalar.mixGenerated(coefficients, s, offset, out);
            return;
        }
        GeneratedKernels.mix(floats(coefficients), s, orNull(offset), floats(out), k, (int) n);
    }

    @Override
    protected void doCoefficientGradient(Tensor basis, Tensor grad, Tensor out, int k, long n) {
        if (!atZero(basis, grad, out)) {
            scalar.coefficientGradient(basis, grad, out);
            return;
        }
        MixKernels.coefficientGradient(floats(basis), floats(grad), floats(out), k, (int) n);
    }

    @Override
    protected void doCoefficientGradientGenerated(BasisStream s, Tensor grad, Tensor out, int k, long n) {
        if (!atZero(grad, out)) {
            scalar.coefficientGradientGenerated(s, grad, out);
            return;
        }
        GeneratedKernels.coefficientGradient(s, floats(grad), floats(out), k, (int) n);
    }
}
