package dev.nola.kernels;

import java.util.Arrays;

/**
 * A view: a contiguous range of a storage tensor with a shape of its own. The same class serves every
 * backend, because a backend kernel only needs the storage tensor and the element offset
 * ({@link #storage()}, {@link #offset()}). Holds no memory: closing it frees nothing, and it counts as
 * closed once its storage is.
 */
final class TensorView implements Tensor {

    private final Tensor storage;
    private final long offset;
    private final int[] shape;
    private final long size;
    private boolean closed;

    /** A view of {@code size} elements of {@code storage} from {@code offset}; the caller has checked the range. */
    TensorView(Tensor storage, long offset, int[] shape, long size) {
        this.storage = storage;
        this.offset = offset;
        this.shape = shape.clone();
        this.size = size;
    }

    @Override
    public Device device() {
        return storage.device();
    }

    @Override
    public DType dtype() {
        return storage.dtype();
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
    public Tensor storage() {
        return storage;
    }

    @Override
    public long offset() {
        return offset;
    }

    @Override
    public boolean isClosed() {
        return closed || storage.isClosed();
    }

    @Override
    public void close() {
        closed = true;
    }

    @Override
    public String toString() {
        return dtype().label() + Arrays.toString(shape) + " view at " + offset + " of " + storage;
    }
}
