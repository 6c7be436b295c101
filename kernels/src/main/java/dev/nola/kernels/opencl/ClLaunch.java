package dev.nola.kernels.opencl;

import dev.nola.kernels.Tensor;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_kernel;

/**
 * Kernel arguments and launch geometry shared by the OpenCL families. A {@link Tensor} argument
 * (tensor or view) becomes two kernel arguments: its storage buffer and its element offset as a
 * {@code ulong}, which every kernel adds to the pointer first; so every kernel accepts views.
 */
final class ClLaunch {

    /** Work-items per work-group for the element-wise kernels, at most. */
    static final int ELEMENTWISE_GROUP = 256;

    private ClLaunch() {
    }

    /** A local-memory kernel argument of {@code bytes}. */
    record Local(long bytes) {
    }

    /** Sets a kernel's arguments in order; a Tensor takes two slots (buffer, offset). */
    static void args(cl_kernel k, Object... values) {
        int slot = 0;
        for (Object v : values) {
            switch (v) {
                case Tensor t -> {
                    CL.clSetKernelArg(k, slot++, Sizeof.cl_mem, Pointer.to(((OpenClTensor) t.storage()).mem()));
                    CL.clSetKernelArg(k, slot++, Sizeof.cl_ulong, Pointer.to(new long[] {t.offset()}));
                }
                case Integer x -> CL.clSetKernelArg(k, slot++, Sizeof.cl_int, Pointer.to(new int[] {x}));
                case Long x -> CL.clSetKernelArg(k, slot++, Sizeof.cl_ulong, Pointer.to(new long[] {x}));
                case Float x -> CL.clSetKernelArg(k, slot++, Sizeof.cl_float, Pointer.to(new float[] {x}));
                case Local l -> CL.clSetKernelArg(k, slot++, l.bytes(), null);
                default -> throw new AssertionError("unsupported kernel argument " + v);
            }
        }
    }

    /** The largest power of two ≤ min(cap, the kernel's work-group limit on the device). */
    static int groupSize(OpenClDevice dev, cl_kernel k, int cap) {
        long max = Math.min(cap, dev.programs().maxWorkGroup(k));
        int g = 1;
        while (g * 2L <= max) {
            g *= 2;
        }
        return g;
    }

    static long roundUp(long x, long multiple) {
        return (x + multiple - 1) / multiple * multiple;
    }
}
