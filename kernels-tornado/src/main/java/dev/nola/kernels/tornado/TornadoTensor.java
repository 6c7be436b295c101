package dev.nola.kernels.tornado;

import dev.nola.kernels.AbstractTensor;
import dev.nola.kernels.LiveTensors;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * A tensor of the {@code tornado} backend: an off-heap TornadoVM {@link FloatArray}. The array is
 * the host image of the data; each execution plan that uses it holds its own device buffer, which
 * plans keep resident across calls where the contract allows (see {@link TornadoOps}).
 *
 * <p>{@link #version()} counts writes (host writes, copies, op outputs), so a plan that keeps this
 * tensor on the device knows when its device copy is stale.
 */
final class TornadoTensor extends AbstractTensor {

    private FloatArray array;
    private long version;

    TornadoTensor(TornadoVmDevice device, LiveTensors owner, int[] shape, int size) {
        super(device, owner, shape, size);
        this.array = new FloatArray(size);
    }

    /** The off-heap array; valid until closed. */
    FloatArray array() {
        requireOpen();
        return array;
    }

    long version() {
        return version;
    }

    void touch() {
        version++;
    }

    @Override
    protected void release() {
        ((TornadoVmDevice) device()).evict(this);
        array = null;
    }
}
