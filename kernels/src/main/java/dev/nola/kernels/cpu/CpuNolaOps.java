package dev.nola.kernels.cpu;

import static dev.nola.kernels.host.HostTensor.slice;

import dev.nola.kernels.AbstractNolaOps;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;

/**
 * The nola family on the cpu backend: {@link MixKernels} (mix and gradient on a materialised basis,
 * L1-resident column tiles) and {@link GeneratedKernels} (the fused variants). The kernels index
 * from 0, so every operand is passed as the slice of its view ({@code HostTensor.slice}): a view at
 * an offset runs the same vector kernels as a whole tensor.
 */
public final class CpuNolaOps extends AbstractNolaOps {

    public CpuNolaOps(Device device) {
        super(device);
    }

    @Override
    protected void doMix(Tensor coefficients, Tensor basis, Tensor offset, Tensor out, int k, long n) {
        MixKernels.mix(slice(coefficients), slice(basis), slice(offset), slice(out), k, (int) n);
    }

    @Override
    protected void doMixGenerated(Tensor coefficients, BasisStream s, Tensor offset, Tensor out, int k, long n) {
        GeneratedKernels.mix(slice(coefficients), s, slice(offset), slice(out), k, (int) n);
    }

    @Override
    protected void doCoefficientGradient(Tensor basis, Tensor grad, Tensor out, int k, long n) {
        MixKernels.coefficientGradient(slice(basis), slice(grad), slice(out), k, (int) n);
    }

    @Override
    protected void doCoefficientGradientGenerated(BasisStream s, Tensor grad, Tensor out, int k, long n) {
        GeneratedKernels.coefficientGradient(s, slice(grad), slice(out), k, (int) n);
    }
}
