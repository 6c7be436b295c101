package dev.nola.kernels;

/**
 * A row-major float32 or int32 array owned by a {@link Device}: either memory the device allocated
 * (a <em>storage</em> tensor) or a <em>view</em>, a contiguous range of another tensor's storage with a
 * shape of its own ({@link #view}). Every op accepts views wherever it accepts tensors; creating a
 * view copies nothing.
 *
 * <p>Data moves in and out only through the owning device ({@link Device#write}, {@link Device#read}).
 * Closing a storage tensor frees its memory and closes its views; closing a view closes only the view.
 * Closing the device closes every tensor.
 */
public interface Tensor extends AutoCloseable {

    /** The device that owns this tensor. */
    Device device();

    /** The element type. */
    DType dtype();

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

    /** Number of elements: the product of the shape. */
    long size();

    /** The tensor whose memory this one uses: itself unless this is a view. */
    Tensor storage();

    /** Index of this tensor's first element within {@link #storage()} (0 unless a view). */
    long offset();

    /** Whether this tensor is a view of another one's memory. */
    default boolean isView() {
        return storage() != this;
    }

    /**
     * A view of elements {@code offset .. offset + product(shape) - 1} of this tensor, with its own
     * shape; no data is copied. Views of views refer to the same storage.
     *
     * @param offset the first element, counted in this tensor's elements, &gt;= 0
     * @param shape  the view's shape, each extent &gt; 0
     * @throws IllegalArgumentException when the range does not lie inside this tensor
     */
    default Tensor view(long offset, int... shape) {
        return device().view(this, offset, shape);
    }

    /** This tensor's elements under another shape of the same size (a view at offset 0). */
    default Tensor reshape(int... shape) {
        long n = Checks.shape("shape", shape);
        if (n != size()) {
            throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape) + " has " + n
                    + " elements, expected " + size() + " (the size of the tensor being reshaped)");
        }
        return view(0, shape);
    }

    /** Whether {@link #close()} has been called on it or its storage (directly or through the device). */
    boolean isClosed();

    /** Frees the memory of a storage tensor (its views close with it); on a view, closes the view only. Idempotent. */
    @Override
    void close();
}
