package dev.nola.kernels;

import java.util.Arrays;

/**
 * What every backend's storage tensor shares: the owning device, the element type, the shape, the
 * element count, and the close protocol (idempotent; the backend frees its memory in
 * {@link #release()} exactly once, and the tensor leaves its device's {@link LiveTensors}). Views are
 * {@link TensorView}s over these, the same for every backend.
 */
public abstract class AbstractTensor implements Tensor {

    private final Device device;
    private final LiveTensors owner;
    private final DType dtype;
    private final int[] shape;
    private final long size;
    private boolean closed;

    /**
     * @param device the owning device
     * @param owner  the device's registry of open tensors; this tensor joins it
     * @param dtype  the element type
     * @param shape  the shape (copied), already validated
     * @param size   the product of the shape
     */
    protected AbstractTensor(Device device, LiveTensors owner, DType dtype, int[] shape, long size) {
        this.device = device;
        this.owner = owner;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.size = size;
        owner.add(this);
    }

    @Override
    public final Device device() {
        return device;
    }

    @Override
    public final DType dtype() {
        return dtype;
    }

    @Override
    public final int[] shape() {
        return shape.clone();
    }

    @Override
    public final int rank() {
        return shape.length;
    }

    @Override
    public final int dim(int i) {
        return shape[i];
    }

    @Override
    public final long size() {
        return size;
    }

    @Override
    public final Tensor storage() {
        return this;
    }

    @Override
    public final long offset() {
        return 0;
    }

    @Override
    public final boolean isClosed() {
        return closed;
    }

    /** Throws the closed-tensor error unless open; backends call it before touching their memory. */
    protected final void requireOpen() {
        if (closed) {
            throw new IllegalStateException(dtype.label() + " tensor " + Arrays.toString(shape) + " of device "
                    + device.id() + " is closed");
        }
    }

    @Override
    public final void close() {
        if (!closed) {
            closed = true;
            try {
                release();
            } finally {
                owner.remove(this);
            }
        }
    }

    /** Frees the backend's memory; called once, by {@link #close()}. */
    protected abstract void release();

    @Override
    public String toString() {
        return dtype.label() + Arrays.toString(shape) + "@" + device.id();
    }
}
