package dev.nola.kernels.cpu;

import static dev.nola.kernels.host.HostTensor.slice;

import dev.nola.kernels.AbstractAdapterOps;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;

/**
 * The adapter family on the cpu backend: at rank &lt;= {@link AdapterKernels#MAX_RANK}, row passes
 * that keep A and Bᵀ in cache ({@link AdapterKernels}), on the slices of the operands' views; above
 * it, the default composition of matmuls.
 */
public final class CpuAdapterOps extends AbstractAdapterOps {

    public CpuAdapterOps(Device device) {
        super(device);
    }

    private static boolean rowKernels(int r) {
        return r <= AdapterKernels.MAX_RANK;
    }

    @Override
    protected void doForward(Tensor x, Tensor a, Tensor b, float scale, Tensor h, Tensor y,
                             int tokens, int in, int r, int out) {
        if (!rowKernels(r)) {
            super.doForward(x, a, b, scale, h, y, tokens, in, r, out);
            return;
        }
        AdapterKernels.forward(slice(x), slice(a), slice(b), scale, slice(h), slice(y), tokens, in, r, out);
    }

    @Override
    protected void doBackward(Tensor x, Tensor a, Tensor b, float scale, Tensor h, Tensor dy,
                              Tensor dh, Tensor dx, Tensor da, Tensor db, int tokens, int in, int r, int out) {
        if (!rowKernels(r)) {
            super.doBackward(x, a, b, scale, h, dy, dh, dx, da, db, tokens, in, r, out);
            return;
        }
        AdapterKernels.backward(slice(x), slice(a), slice(b), scale, slice(h), slice(dy), slice(dh), slice(dx),
                slice(da), slice(db), tokens, in, r, out);
    }
}
