package dev.nola.kernels.cpu;

import static dev.nola.kernels.host.HostTensor.slice;

import dev.nola.kernels.AbstractRandomOps;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;

/**
 * The random family on the cpu backend: Philox on vector lanes ({@link GeneratedKernels},
 * {@link PhiloxLanes}), writing the slice of the output's view (so a view at an offset runs the same kernel).
 */
public final class CpuRandomOps extends AbstractRandomOps {

    public CpuRandomOps(Device device) {
        super(device);
    }

    @Override
    protected void doBasis(BasisStream s, int firstIndex, int count, long n, Tensor out) {
        GeneratedKernels.basis(s, firstIndex, count, (int) n, slice(out));
    }
}
