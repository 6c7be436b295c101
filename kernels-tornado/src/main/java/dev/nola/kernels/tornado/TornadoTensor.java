package dev.nola.kernels.tornado;

import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * A tensor of the {@code tornado} backend: an off-heap TornadoVM {@link FloatArray}. The array is
 * the host image of the data; each execution plan that uses it holds its own device buffer, which
 * plans keep resident across calls where the contract allows (see {@link TornadoOps}).
 *
 * <p>{@link #version()} counts writes (host writes, copies, op outputs), so a plan that keeps this
 * tensor on the device knows when its device copy is stale.
 */
final class TornadoTensor implements Tensor {

    private final TornadoVmDevice device;
    private final int[] shape;
    private final int size;
    private FloatArray array;
    private long version;

    TornadoTensor(TornadoVmDevice device, int[] shape, int size) {
        this.device = device;
        this.shape = shape.clone();
        this.size = size;
        this.array = new FloatArray(size);
    }

    /** The off-heap array; valid until closed. */
    FloatArray array() {
        FloatArray a = array;
        if (a == null) {
            throw new IllegalStateException("tensor is closed");
        }
        return a;
    }

    long version() {
        return version;
    }

    void touch() {
        version++;
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    @Override
    public int rank() {
        return shape.length;
    }

    @Override
    public int dim(int i) {
        return shape[i];
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean isClosed() {
        return array == null;
    }

    @Override
    public void close() {
        if (array != null) {
            device.forget(this);
            array = null;
        }
    }
}
