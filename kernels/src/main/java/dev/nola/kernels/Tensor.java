package dev.nola.kernels;

/**
 * A float32 buffer owned by a {@link Device}, with a row-major shape.
 *
 * <p>Ops read tensors by element count and layout described in each op's Javadoc; the shape is the
 * caller's view and is checked where an op needs a matrix. Data moves in and out only through the
 * owning device ({@link Device#write}, {@link Device#read}). Closing a tensor frees its memory;
 * closing the device closes all its tensors.
 */
public interface Tensor extends AutoCloseable {

    /** The device that owns this tensor. */
    Device device();

    /** The shape, row-major; a copy. */
    int[] shape();

    /** Number of dimensions. */
    default int rank() {
        return shape().length;
    }

    /** Extent of dimension {@code i}. */
    default int dim(int i) {
        return shape()[i];
    }

    /** Number of float elements: the product of the shape. */
    long size();

    /** Whether {@link #close()} has been called (directly or through the device). */
    boolean isClosed();

    /** Frees the memory; idempotent. */
    @Override
    void close();
}
