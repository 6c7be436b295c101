package dev.nola.kernels.cpu;

import static dev.nola.kernels.host.HostTensor.floats;

import dev.nola.kernels.AbstractRandomOps;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.host.HostTensor;
import dev.nola.kernels.reference.ReferenceRandomOps;

/** The random family on the cpu backend: Philox on vector lanes ({@link GeneratedKernels}, {@link PhiloxLanes}). */
public final class CpuRandomOps extends AbstractRandomOps {

    /** Views at an offset run the scalar kernels (correct; the vector kernels index from 0). */
    private final ReferenceRandomOps scalar;

    public CpuRandomOps(Device device) {
        super(device);
        this.scalar = new ReferenceRandomOps(device);
    }

    @Override
    protected void doBasis(BasisStream s, int firstIndex, int count, long n, Tensor out) {
        if (!HostTensor.atZero(out)) {
            scalar.basis(s, firstIndex, count, out);
            return;
        }
        GeneratedKernels.basis(s, firstIndex, count, (int) n, floats(out));
    }
}
