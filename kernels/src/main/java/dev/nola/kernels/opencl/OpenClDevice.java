package dev.nola.kernels.opencl;

import static org.jocl.CL.CL_CONTEXT_PLATFORM;
import static org.jocl.CL.CL_MEM_READ_WRITE;
import static org.jocl.CL.CL_TRUE;

import dev.nola.kernels.AbstractDevice;
import dev.nola.kernels.BFloat16;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.DType;
import dev.nola.kernels.Tensor;
import java.util.Arrays;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * One OpenCL device: a context and an in-order command queue of its own, the tensors allocated in
 * it, and its programs (built once per op family on first use).
 *
 * <p>Ops are enqueued and return at once; {@link #read} and {@link #synchronize} wait for them, so
 * kernel time (ops then {@code synchronize()}) and transfer time ({@link #write} / {@link #read},
 * both blocking) can be measured separately. Closing the device releases every tensor, kernel,
 * program, the queue and the context.
 */
public final class OpenClDevice extends AbstractDevice {

    private final DeviceInfo info;
    private final cl_device_id deviceId;
    private final cl_context context;
    private final cl_command_queue queue;
    private final OpenClPrograms programs;
    /**
     * The kernel layout of the random, nola and nn families: {@code -DCHUNKED} on CPU devices, none on
     * GPUs. On CPUs a work-item owns a contiguous range (a column tile in mix, 8 Philox blocks
     * generated 8-wide, a whole row or a chunk in the reductions), because the runtime runs one
     * work-item's loop to the end before the next and vectorises explicit vectors best; on GPUs
     * neighbouring work-items take neighbouring elements (coalesced). Also the build options of those
     * families. Package-private so that tests run both layouts on one device.
     */
    String layoutOptions;

    OpenClDevice(OpenClPlatforms.Found found, String buildOptions) {
        this.info = found.info();
        this.deviceId = found.device();
        cl_context_properties props = new cl_context_properties();
        props.addProperty(CL_CONTEXT_PLATFORM, found.platform());
        try {
            context = CL.clCreateContext(props, 1, new cl_device_id[] {deviceId}, null, null, null);
        } catch (CLException e) {
            throw new IllegalStateException("device " + describe() + ": clCreateContext failed: " + e.getMessage(), e);
        }
        ClObjects.CONTEXTS.incrementAndGet();
        try {
            @SuppressWarnings("deprecation") // clCreateCommandQueueWithProperties is OpenCL 2.0; 1.2 devices need this
            cl_command_queue q = CL.clCreateCommandQueue(context, deviceId, 0, null);
            queue = q;
        } catch (CLException e) {
            CL.clReleaseContext(context);
            ClObjects.CONTEXTS.decrementAndGet();
            throw new IllegalStateException("device " + describe() + ": clCreateCommandQueue failed: " + e.getMessage(), e);
        }
        ClObjects.QUEUES.incrementAndGet();
        programs = new OpenClPrograms(context, deviceId, describe(), buildOptions);
        layoutOptions = info.type() == DeviceInfo.Type.CPU ? "-DCHUNKED" : "";
        provideAll(new OpenClRandomOps(this), new OpenClNolaOps(this), new OpenClLinalgOps(this),
                new OpenClAdapterOps(this), new OpenClOptimOps(this), new OpenClNnOps(this));
    }

    /** Whether the random, nola, nn and level-1 linalg kernels run in the CPU layout (contiguous ranges per work-item). */
    boolean cpuLayout() {
        return layoutOptions.contains("-DCHUNKED");
    }

    /** {@code opencl:P:D (name)}, for messages. */
    @Override
    protected String describe() {
        return info.id() + " (" + info.name() + ")";
    }

    @Override
    public DeviceInfo info() {
        return info;
    }

    @Override
    protected Tensor doAllocate(DType dtype, int[] shape, long n) {
        int width = dtype.bytes();
        long bytes = n * width;
        if (n > Long.MAX_VALUE / width || bytes > info.maxAllocBytes()) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + bytes + " bytes; device "
                    + describe() + " allows at most " + info.maxAllocBytes() + " bytes per buffer (CL_DEVICE_MAX_MEM_ALLOC_SIZE)");
        }
        cl_mem mem = createBuffer(bytes, "shape " + Arrays.toString(shape));
        try {
            Pointer zero = width == Sizeof.cl_short ? Pointer.to(new short[] {0}) : Pointer.to(new float[] {0f});
            CL.clEnqueueFillBuffer(queue, mem, zero, width, 0, bytes, 0, null, null);
        } catch (CLException e) {
            CL.clReleaseMemObject(mem);
            ClObjects.BUFFERS.decrementAndGet();
            throw new IllegalStateException("device " + describe() + ": zero-filling a buffer of " + bytes + " bytes failed: "
                    + e.getMessage(), e);
        }
        return new OpenClTensor(this, live, dtype, shape, n, mem);
    }

    /** A raw buffer of {@code bytes} (counted in {@link ClObjects}); the caller releases it. */
    private cl_mem createBuffer(long bytes, String what) {
        try {
            cl_mem mem = CL.clCreateBuffer(context, CL_MEM_READ_WRITE, bytes, null, null);
            ClObjects.BUFFERS.incrementAndGet();
            return mem;
        } catch (CLException e) {
            throw new IllegalArgumentException("device " + describe() + " cannot allocate " + bytes + " bytes for " + what
                    + " (global memory " + info.globalMemBytes() + " bytes): " + e.getMessage(), e);
        }
    }

    private static cl_mem mem(Tensor storage) {
        return ((OpenClTensor) storage).mem();
    }

    @Override
    protected void doWrite(Tensor dst, long dstOffset, float[] src, int srcOffset, int length) {
        if (length == 0) {
            return;
        }
        if (dst.dtype() == DType.BF16) {
            // rounded on the host: half the bytes cross the bus, and the device never sees float32 weights
            short[] h = new short[length];
            BFloat16.round(src, srcOffset, h, 0, length);
            CL.clEnqueueWriteBuffer(queue, mem(dst), CL_TRUE, dstOffset * Sizeof.cl_short, (long) length * Sizeof.cl_short,
                    Pointer.to(h), 0, null, null);
            return;
        }
        // Blocking: the Java array may move once this call returns, and transfer time stays separate.
        CL.clEnqueueWriteBuffer(queue, mem(dst), CL_TRUE, dstOffset * Sizeof.cl_float,
                (long) length * Sizeof.cl_float, Pointer.to(src).withByteOffset((long) srcOffset * Sizeof.cl_float),
                0, null, null);
    }

    @Override
    protected void doWriteInts(Tensor dst, long dstOffset, int[] src, int srcOffset, int length) {
        if (length == 0) {
            return;
        }
        CL.clEnqueueWriteBuffer(queue, mem(dst), CL_TRUE, dstOffset * Sizeof.cl_int,
                (long) length * Sizeof.cl_int, Pointer.to(src).withByteOffset((long) srcOffset * Sizeof.cl_int),
                0, null, null);
    }

    @Override
    protected void doRead(Tensor src, long srcOffset, float[] dst, int dstOffset, int length) {
        if (length == 0) {
            doSynchronize();
            return;
        }
        if (src.dtype() == DType.BF16) {
            short[] h = new short[length];
            CL.clEnqueueReadBuffer(queue, mem(src), CL_TRUE, srcOffset * Sizeof.cl_short, (long) length * Sizeof.cl_short,
                    Pointer.to(h), 0, null, null);
            BFloat16.widen(h, 0, dst, dstOffset, length);
            return;
        }
        CL.clEnqueueReadBuffer(queue, mem(src), CL_TRUE, srcOffset * Sizeof.cl_float,
                (long) length * Sizeof.cl_float, Pointer.to(dst).withByteOffset((long) dstOffset * Sizeof.cl_float),
                0, null, null);
    }

    @Override
    protected void doReadInts(Tensor src, long srcOffset, int[] dst, int dstOffset, int length) {
        if (length == 0) {
            doSynchronize();
            return;
        }
        CL.clEnqueueReadBuffer(queue, mem(src), CL_TRUE, srcOffset * Sizeof.cl_int,
                (long) length * Sizeof.cl_int, Pointer.to(dst).withByteOffset((long) dstOffset * Sizeof.cl_int),
                0, null, null);
    }

    @Override
    protected void doCopy(Tensor src, long srcOffset, Tensor dst, long dstOffset, long n) {
        int width = src.dtype().bytes();
        CL.clEnqueueCopyBuffer(queue, mem(src), mem(dst), srcOffset * width, dstOffset * width, n * width, 0, null, null);
    }

    @Override
    protected void doSynchronize() {
        CL.clFinish(queue);
    }

    /** The kernel {@code name} of the program {@code program} built with {@code extraOptions}, built on first use. */
    cl_kernel kernel(String family, String name, String extraOptions) {
        return programs.kernel(family, name, extraOptions);
    }

    OpenClPrograms programs() {
        return programs;
    }

    /**
     * Enqueues a kernel whose arguments are set.
     *
     * @param global global sizes, each a multiple of the matching local size
     * @param local  local sizes, or null for the runtime's choice
     */
    void launch(cl_kernel k, long[] global, long[] local) {
        CL.clEnqueueNDRangeKernel(queue, k, global.length, null, global, local, 0, null, null);
    }

    @Override
    protected void drain() {
        CL.clFinish(queue);
    }

    @Override
    protected void release() {
        programs.close();
        CL.clReleaseCommandQueue(queue);
        ClObjects.QUEUES.decrementAndGet();
        CL.clReleaseContext(context);
        ClObjects.CONTEXTS.decrementAndGet();
    }

    @Override
    public String toString() {
        return "OpenClDevice[" + describe() + "]";
    }
}
