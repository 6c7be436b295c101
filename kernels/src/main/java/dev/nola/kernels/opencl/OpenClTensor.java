package dev.nola.kernels.opencl;

import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import org.jocl.CL;
import org.jocl.cl_mem;

/** A float32 tensor in an OpenCL buffer ({@code cl_mem}) of its {@link OpenClDevice}'s context. */
public final class OpenClTensor implements Tensor {

    private final OpenClDevice device;
    private final int[] shape;
    private final long size;
    private cl_mem mem;

    OpenClTensor(OpenClDevice device, int[] shape, long size, cl_mem mem) {
        this.device = device;
        this.shape = shape.clone();
        this.size = size;
        this.mem = mem;
    }

    /** The buffer; for this backend's kernels. */
    cl_mem mem() {
        cl_mem m = mem;
        if (m == null) {
            throw new IllegalStateException("tensor " + java.util.Arrays.toString(shape) + " of device " + device.id() + " is closed");
        }
        return m;
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
        return mem == null;
    }

    /** Releases the buffer; the runtime keeps it alive until enqueued commands that use it finish. */
    @Override
    public void close() {
        cl_mem m = mem;
        if (m != null) {
            mem = null;
            CL.clReleaseMemObject(m);
            ClObjects.BUFFERS.decrementAndGet();
            device.forget(this);
        }
    }
}
