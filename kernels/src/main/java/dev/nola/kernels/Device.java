package dev.nola.kernels;

/**
 * One compute device: owns memory and a queue, allocates {@link Tensor}s, moves data, runs
 * {@link Ops}. Ops are enqueued in order; {@link #read} and {@link #synchronize} wait for them.
 *
 * <p>Closing the device frees every tensor it allocated; any later use of the device, its ops or
 * its tensors throws {@link IllegalStateException}. Devices are not thread-safe: use one per
 * thread or synchronise externally.
 */
public interface Device extends AutoCloseable {

    /** What the device is. */
    DeviceInfo info();

    /** The device string, e.g. {@code cpu}, {@code opencl:0:0}. */
    default String id() {
        return info().id();
    }

    /**
     * Allocates a zero-filled float32 tensor.
     *
     * @param shape extents, each &gt; 0
     * @throws IllegalArgumentException when an extent is not positive or the size exceeds the device's
     *                                  largest allocation
     */
    Tensor allocate(int... shape);

    /** Allocates a tensor of the given shape and fills it with {@code data} (whose length must equal the size). */
    default Tensor upload(float[] data, int... shape) {
        Tensor t = allocate(shape);
        try {
            write(t, data);
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    /** Copies {@code src} into {@code dst}; {@code src.length} must equal {@code dst.size()}. */
    default void write(Tensor dst, float[] src) {
        Checks.notNull("src", src);
        Checks.notNull("dst", dst);
        if (src.length != dst.size()) {
            throw new IllegalArgumentException("src length " + src.length + " does not match dst size " + dst.size());
        }
        write(dst, 0, src, 0, src.length);
    }

    /**
     * Copies {@code length} floats from {@code src[srcOffset..]} into {@code dst} at element {@code dstOffset}.
     *
     * @throws IllegalArgumentException when a range falls outside either buffer
     */
    void write(Tensor dst, long dstOffset, float[] src, int srcOffset, int length);

    /** Reads the whole tensor into a new array, after all enqueued work. */
    default float[] read(Tensor src) {
        Checks.notNull("src", src);
        if (src.size() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("tensor of " + src.size() + " elements does not fit one Java array; read it in ranges");
        }
        float[] out = new float[(int) src.size()];
        read(src, 0, out, 0, out.length);
        return out;
    }

    /**
     * Copies {@code length} floats from {@code src} at element {@code srcOffset} into {@code dst[dstOffset..]},
     * after all enqueued work.
     *
     * @throws IllegalArgumentException when a range falls outside either buffer
     */
    void read(Tensor src, long srcOffset, float[] dst, int dstOffset, int length);

    /** Copies all of {@code src} into {@code dst} on the device; sizes must match. */
    void copy(Tensor src, Tensor dst);

    /** The ops that run on this device. */
    Ops ops();

    /** Waits until all enqueued work has finished. */
    void synchronize();

    /** Whether {@link #close()} has been called. */
    boolean isClosed();

    /** Frees every tensor and the queue; idempotent. */
    @Override
    void close();
}
