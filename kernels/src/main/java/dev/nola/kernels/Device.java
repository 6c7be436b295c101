package dev.nola.kernels;

/**
 * One compute device: owns memory and a queue, allocates {@link Tensor}s, moves data, and runs the op
 * families ({@link #random()}, {@link #nola()}, {@link #linalg()}, {@link #adapter()},
 * {@link #nn()}, {@link #optim()}). Ops are enqueued in order; {@link #read} and {@link #synchronize} wait for them.
 *
 * <p>Closing the device frees every tensor it allocated; any later use of the device, its ops or its
 * tensors throws {@link IllegalStateException}. Devices are not thread-safe: use one per thread or
 * synchronise externally.
 */
public interface Device extends AutoCloseable {

    /** What the device is. */
    DeviceInfo info();

    /** The device string, e.g. {@code cpu}, {@code opencl:0:0}. */
    default String id() {
        return info().id();
    }

    // ---------------------------------------------------------------- memory

    /**
     * Allocates a zero-filled tensor.
     *
     * @param dtype the element type
     * @param shape extents, each &gt; 0
     * @throws IllegalArgumentException when an extent is not positive or the size exceeds the device's
     *                                  largest allocation
     */
    Tensor allocate(DType dtype, int... shape);

    /** Allocates a zero-filled float32 tensor (see {@link #allocate(DType, int...)}). */
    default Tensor allocate(int... shape) {
        return allocate(DType.FLOAT32, shape);
    }

    /**
     * A view of {@code parent}'s elements {@code offset .. offset + product(shape) - 1} (counted in the
     * parent's elements) with its own shape; nothing is copied (see {@link Tensor#view}).
     *
     * @throws IllegalArgumentException when the range falls outside the parent, naming both
     */
    Tensor view(Tensor parent, long offset, int... shape);

    /** Allocates a float32 tensor of the given shape and fills it with {@code data} (whose length must equal the size). */
    default Tensor upload(float[] data, int... shape) {
        return upload(DType.FLOAT32, data, shape);
    }

    /**
     * Allocates a tensor of a floating-point type (float32, or bfloat16 for a frozen weight: each value
     * rounded to nearest even, {@link BFloat16}) and fills it with {@code data}.
     */
    default Tensor upload(DType dtype, float[] data, int... shape) {
        if (dtype == DType.INT32) {
            throw new IllegalArgumentException("dtype is int32; upload(int[], shape) takes ints, this one float32 or bfloat16");
        }
        Tensor t = allocate(dtype, shape);
        try {
            write(t, data);
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    /** Allocates an int32 tensor of the given shape and fills it with {@code data}. */
    default Tensor upload(int[] data, int... shape) {
        Tensor t = allocate(DType.INT32, shape);
        try {
            write(t, data);
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    /** Copies {@code src} into the float32 tensor {@code dst}; {@code src.length} must equal {@code dst.size()}. */
    default void write(Tensor dst, float[] src) {
        Checks.notNull("src", src);
        Checks.notNull("dst", dst);
        Checks.length("src", src.length, dst);
        write(dst, 0, src, 0, src.length);
    }

    /** Copies {@code src} into the int32 tensor {@code dst}; {@code src.length} must equal {@code dst.size()}. */
    default void write(Tensor dst, int[] src) {
        Checks.notNull("src", src);
        Checks.notNull("dst", dst);
        Checks.length("src", src.length, dst);
        write(dst, 0, src, 0, src.length);
    }

    /**
     * Copies {@code length} floats from {@code src[srcOffset..]} into the float32 (or bfloat16, rounded
     * to nearest even) tensor {@code dst} at element {@code dstOffset}.
     *
     * @throws IllegalArgumentException when a range falls outside either buffer or dst is int32
     */
    void write(Tensor dst, long dstOffset, float[] src, int srcOffset, int length);

    /** As {@link #write(Tensor, long, float[], int, int)} for an int32 tensor. */
    void write(Tensor dst, long dstOffset, int[] src, int srcOffset, int length);

    /** Reads a whole float32 tensor into a new array, after all enqueued work. */
    default float[] read(Tensor src) {
        float[] out = new float[Checks.hostLength("src", src)];
        read(src, 0, out, 0, out.length);
        return out;
    }

    /** Reads a whole int32 tensor into a new array, after all enqueued work. */
    default int[] readInts(Tensor src) {
        int[] out = new int[Checks.hostLength("src", src)];
        read(src, 0, out, 0, out.length);
        return out;
    }

    /**
     * Copies {@code length} floats of the float32 (or bfloat16, widened exactly) tensor {@code src} from
     * element {@code srcOffset} into {@code dst[dstOffset..]}, after all enqueued work.
     *
     * @throws IllegalArgumentException when a range falls outside either buffer
     */
    void read(Tensor src, long srcOffset, float[] dst, int dstOffset, int length);

    /** As {@link #read(Tensor, long, float[], int, int)} for an int32 tensor. */
    void read(Tensor src, long srcOffset, int[] dst, int dstOffset, int length);

    /**
     * Copies all of {@code src} into {@code dst} on the device (either may be a view); the element types
     * and sizes must match and the two must not overlap.
     */
    void copy(Tensor src, Tensor dst);

    // ---------------------------------------------------------------- op families

    /** Whether this device runs a family; when not, the reason. */
    Availability supports(OpFamily family);

    /**
     * Whether this device can hold tensors of an element type (float32 and int32 always; bfloat16 where
     * the backend implements the ops that read it); when not, the reason, which {@link #allocate} throws.
     */
    default Availability holds(DType dtype) {
        return dtype == DType.BF16 ? Availability.no("bfloat16 tensors are not implemented on " + id()) : Availability.yes();
    }

    /** Seeded basis generation. */
    RandomOps random();

    /** Mixing and coefficient gradients. */
    NolaOps nola();

    /** Matmul, batched matmul, axpy, scale, fill. */
    LinalgOps linalg();

    /** The low-rank adapter forward and backward. */
    AdapterOps adapter();

    /** The transformer ops: embedding, layernorm, GELU, bias, residual, softmax, attention, cross-entropy, pooling. */
    NnOps nn();

    /** Optimizer steps, gradient norms, fake quantization. */
    OptimOps optim();

    // ---------------------------------------------------------------- queue

    /** Waits until all enqueued work has finished. */
    void synchronize();

    /**
     * Runs {@code work}, the ops of one unit that a loop repeats (a training step), as a unit the
     * backend may record and replay: TornadoVM records the ops and runs them as one execution plan,
     * compiled the first time the same sequence of ops on the same tensors runs and replayed after
     * that, with the data kept on the device between ops. Results are those of running the ops one by
     * one: a host read of a tensor a recorded op writes runs what was recorded so far first. Other
     * backends run the ops as they are issued. Captures nest (an inner one joins the outer).
     *
     * @param work issues ops on this device; runs on the calling thread before this returns
     */
    void capture(Runnable work);

    /** Whether {@link #close()} has been called. */
    boolean isClosed();

    /** Frees every tensor and the queue; idempotent. */
    @Override
    void close();
}
