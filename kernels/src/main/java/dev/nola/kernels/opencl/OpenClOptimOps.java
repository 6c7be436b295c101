package dev.nola.kernels.opencl;

import static dev.nola.kernels.opencl.ClLaunch.ELEMENTWISE_GROUP;
import static dev.nola.kernels.opencl.ClLaunch.args;
import static dev.nola.kernels.opencl.ClLaunch.groupSize;
import static dev.nola.kernels.opencl.ClLaunch.roundUp;

import dev.nola.kernels.AbstractOptimOps;
import dev.nola.kernels.AdamWStep;
import dev.nola.kernels.Tensor;
import org.jocl.Sizeof;
import org.jocl.cl_kernel;

/**
 * The optim family as OpenCL kernels ({@code optim.cl}): element-wise AdamW and fake quantization,
 * and two-pass reductions (work-group partials into the workspace, then one work-item adds them in
 * order; on CPU devices a work-item per contiguous range instead of a work-group), whose geometry depends
 * only on n and the device, so a result never depends on timing.
 */
final class OpenClOptimOps extends AbstractOptimOps {

    /** Reduction work-groups at most (the final pass adds this many partials on one work-item). */
    private static final int MAX_GROUPS = 256;
    /** On CPU devices, elements per reducing work-item at least (a small tensor is one work-item's). */
    private static final int CPU_SPAN = 4096;
    private static final int SUM_OF_SQUARES = 0;
    private static final int MAX_ABS = 1;

    private final OpenClDevice dev;

    OpenClOptimOps(OpenClDevice device) {
        super(device);
        this.dev = device;
    }

    private cl_kernel kernel(String name) {
        return dev.kernel("optim", name, "");
    }

    @Override
    protected void doAdamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep s, Tensor gradScale, long n) {
        cl_kernel k = kernel("adamw");
        args(k, param, grad, m, v, gradScale == null ? param : gradScale, gradScale == null ? 0 : 1, n,
                s.learningRate(), s.beta1(), s.beta2(), s.epsilon(), s.weightDecay(),
                1f / s.correction1(), 1f / s.correction2());
        int g = groupSize(dev, k, ELEMENTWISE_GROUP);
        dev.launch(k, new long[] {roundUp(n, g)}, new long[] {g});
    }

    /** Reduces x (mode SUM_OF_SQUARES adds into out[0]; MAX_ABS writes out[0]). */
    private void reduce(Tensor x, long n, int mode, Tensor out) {
        if (dev.cpuLayout()) {
            // a work-item per contiguous range of at least CPU_SPAN elements (reduce_chunks)
            int groups = (int) Math.min(MAX_GROUPS, (n + CPU_SPAN - 1) / CPU_SPAN);
            long span = (n + groups - 1) / groups;
            Tensor partials = dev.workspace("optim.partials", groups);
            cl_kernel chunks = kernel("reduce_chunks");
            args(chunks, x, partials, n, span, mode);
            dev.launch(chunks, new long[] {groups}, new long[] {1});
            finish(partials, groups, mode, out);
            return;
        }
        cl_kernel partial = kernel("reduce_partial");
        long localFloats = Math.max(1, dev.info().localMemBytes() / Sizeof.cl_float / 2);
        int l = groupSize(dev, partial, (int) Math.min(ELEMENTWISE_GROUP, localFloats));
        int groups = (int) Math.min(MAX_GROUPS, (n + l - 1) / l);
        long span = (n + groups - 1) / groups;
        Tensor partials = dev.workspace("optim.partials", groups);
        args(partial, x, partials, n, span, mode, new ClLaunch.Local((long) l * Sizeof.cl_float));
        dev.launch(partial, new long[] {(long) groups * l}, new long[] {l});
        finish(partials, groups, mode, out);
    }

    /** The second pass: one work-item combines the partials in order into out[0]. */
    private void finish(Tensor partials, int groups, int mode, Tensor out) {
        cl_kernel last = kernel("reduce_final");
        args(last, partials, out, groups, mode);
        dev.launch(last, new long[] {1}, new long[] {1});
    }

    @Override
    protected void doSumOfSquares(Tensor x, Tensor sum, long n) {
        reduce(x, n, SUM_OF_SQUARES, sum);
    }

    @Override
    protected void doClipFactor(Tensor sum, float maxNorm, Tensor factor) {
        cl_kernel k = kernel("clip_factor");
        args(k, sum, factor, maxNorm);
        dev.launch(k, new long[] {1}, new long[] {1});
    }

    @Override
    protected void doFakeQuantize(Tensor x, int bits, Tensor out, long n) {
        Tensor max = dev.workspace("optim.max", 1);
        reduce(x, n, MAX_ABS, max);
        cl_kernel k = kernel("fake_quantize");
        args(k, x, out, max, n, (1 << (bits - 1)) - 1);
        int g = groupSize(dev, k, ELEMENTWISE_GROUP);
        dev.launch(k, new long[] {roundUp(n, g)}, new long[] {g});
    }
}
