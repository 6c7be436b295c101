package dev.nola.kernels.cpu;

import static dev.nola.kernels.host.HostTensor.floats;

import dev.nola.kernels.AbstractAdapterOps;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.host.HostTensor;

/**
 * The adapter family on the cpu backend: at rank &lt;= {@link AdapterKernels#MAX_RANK}, row passes
 * that keep A and Bᵀ in cache ({@link AdapterKernels}); above it, or for views at an offset, the
 * default composition of matmuls.
 */
public final class CpuAdapterOps extends AbstractAdapterOps {

    public CpuAdapterOps(Device device) {
        super(device);
    }

    private static boolean rowKernels(int r, Tensor... ts) {
        return r <= AdapterKernels.MAX_RANK && HostTensor.atZero(ts);
    }

    @Override
    protected void doForward(Tensor x, Tensor a, Tensor b, float scale, Tensor h, Tensor y,
                             int tokens, int in, int r, int out) {
        if (!rowKernels(r, x, a, b, h, y)) {
            super.doForward(x, a, b, scale, h, y, tokens, in, r, out);
            return;
        }
        AdapterKernels.forward(floats(x), floats(a), floats(b), scale, floats(h), floats(y), tokens, in, r, out);
    }

    @Override
    protected void doBackward(Tensor x, Tensor a, Tensor b, float scale, Tensor h, Tensor dy,
                              Tensor dh, Tensor dx, Tensor da, Tensor db, int tokens, int in, int r, int out) {
        if (!rowKernels(r, x, a, b, h, dy, dh, dx, da, db)) {
            super.doBackward(x, a, b, scale, h, dy, dh, dx, da, db, tokens, in, r, out);
            return;
        }
        AdapterKernels.backward(floats(x), floats(a), floats(b), scale, floats(h), floats(dy), floats(dh),
                dx == null ? null : floats(dx), floats(da), floats(db), tokens, in, r, out);
    }
}
