package dev.nola.adapter.io;

/**
 * One tensor's entry in a safetensors header, validated.
 *
 * @param name  the tensor's name
 * @param dtype its element type
 * @param shape its extents (each ≥ 0; empty for a scalar)
 * @param begin the first byte, relative to the start of the data section
 * @param end   one past the last byte; end − begin = elements · dtype size
 */
public record TensorInfo(String name, DType dtype, int[] shape, long begin, long end) {

    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    /** The number of elements. */
    public long elements() {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    /** The number of data bytes. */
    public long byteCount() {
        return end - begin;
    }
}
