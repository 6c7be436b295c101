package dev.nola.kernels.opencl;

import dev.nola.kernels.AbstractTensor;
import dev.nola.kernels.DType;
import dev.nola.kernels.LiveTensors;
import org.jocl.CL;
import org.jocl.cl_mem;

/** A float32, int32 or bfloat16 tensor in an OpenCL buffer ({@code cl_mem}) of its {@link OpenClDevice}'s context. */
public final class OpenClTensor extends AbstractTensor {

    private cl_mem mem;

    OpenClTensor(OpenClDevice device, LiveTensors owner, DType dtype, int[] shape, long size, cl_mem mem) {
        super(device, owner, dtype, shape, size);
        this.mem = mem;
    }

    /** The buffer; for this backend's kernels. */
    cl_mem mem() {
        requireOpen();
        return mem;
    }

    /** Releases the buffer; the runtime keeps it alive until enqueued commands that use it finish. */
    @Override
    protected void release() {
        CL.clReleaseMemObject(mem);
        mem = null;
        ClObjects.BUFFERS.decrementAndGet();
    }
}
