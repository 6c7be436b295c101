package dev.nola.kernels.opencl;

import static dev.nola.kernels.opencl.ClLaunch.ELEMENTWISE_GROUP;
import static dev.nola.kernels.opencl.ClLaunch.args;
import static dev.nola.kernels.opencl.ClLaunch.groupSize;
import static dev.nola.kernels.opencl.ClLaunch.roundUp;
import static dev.nola.kernels.opencl.OpenClRandomOps.WIDE_GROUP;
import static dev.nola.kernels.opencl.OpenClRandomOps.keyHigh;
import static dev.nola.kernels.opencl.OpenClRandomOps.keyLow;

import dev.nola.kernels.AbstractNolaOps;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Tensor;
import java.util.Arrays;
import org.jocl.Sizeof;
import org.jocl.cl_kernel;

/**
 * The nola family as OpenCL kernels ({@code nola.cl} after {@code philox.cl}), in the device's layout
 * ({@link OpenClDevice#layoutOptions}): on GPUs one element or 4-element block per work-item and
 * two-pass work-group reductions; on CPU devices column tiles, 8-wide Philox and whole-row gradients.
 */
final class OpenClNolaOps extends AbstractNolaOps {

    /** The widest column tile of the CPU-layout mix (its running sums, 16 KiB, stay in L1/L2). */
    private static final int MIX_TILE = 4096;

    private final OpenClDevice dev;

    OpenClNolaOps(OpenClDevice device) {
        super(device);
        this.dev = device;
    }

    @Override
    protected void doMix(Tensor coefficients, Tensor basis, Tensor offset, Tensor out, int kk, long n) {
        Tensor off = offset == null ? out : offset;
        int hasOffset = offset == null ? 0 : 1;
        if (dev.cpuLayout()) {
            // Tiles of contiguous columns, one per work-item: about one per compute unit, 256 to 4096 wide.
            long cus = Math.max(1, dev.info().computeUnits());
            int tile = (int) Math.clamp(roundUp((n + cus - 1) / cus, 16), 256, MIX_TILE);
            cl_kernel k = dev.kernel("nola", "mix_basis_tiles", dev.layoutOptions);
            args(k, coefficients, basis, off, out, n, kk, hasOffset, tile);
            dev.launch(k, new long[] {(n + tile - 1) / tile}, new long[] {1});
            return;
        }
        cl_kernel k = dev.kernel("nola", "mix_basis", dev.layoutOptions);
        args(k, coefficients, basis, off, out, n, kk, hasOffset);
        int g = groupSize(dev, k, ELEMENTWISE_GROUP);
        dev.launch(k, new long[] {roundUp((n + 3) / 4, g)}, new long[] {g});
    }

    @Override
    protected void doMixGenerated(Tensor coefficients, BasisStream s, Tensor offset, Tensor out, int kk, long n) {
        boolean wide = dev.cpuLayout();
        cl_kernel k = dev.kernel("nola", wide ? "mix_generated_x8" : "mix_generated", dev.layoutOptions);
        long blocks = (n + 3) / 4;
        args(k, coefficients, offset == null ? out : offset, out, n, kk, offset == null ? 0 : 1,
                s.stream(), s.domain(), keyLow(s), keyHigh(s), s.scale());
        int g = groupSize(dev, k, wide ? WIDE_GROUP : ELEMENTWISE_GROUP);
        long items = wide ? (blocks + 7) / 8 : blocks;
        dev.launch(k, new long[] {roundUp(items, g)}, new long[] {g});
    }

    @Override
    protected void doCoefficientGradient(Tensor basis, Tensor grad, Tensor out, int kk, long n) {
        if (rowPerWorkItem((kk + 3) / 4)) {
            cl_kernel k = dev.kernel("nola", "coefficient_gradient_rows", dev.layoutOptions);
            args(k, basis, grad, out, n, kk);
            int g = groupSize(dev, k, WIDE_GROUP);
            dev.launch(k, new long[] {roundUp((kk + 3) / 4, g)}, new long[] {g});
            return;
        }
        cl_kernel k = dev.kernel("nola", "coefficient_gradient_partial", dev.layoutOptions);
        reduceRows(k, kk, n, out, (partial, blocks) -> new Object[] {basis, grad, partial, n, (int) blocks});
    }

    @Override
    protected void doCoefficientGradientGenerated(BasisStream s, Tensor grad, Tensor out, int kk, long n) {
        if (rowPerWorkItem(kk)) {
            cl_kernel k = dev.kernel("nola", "coefficient_gradient_generated_rows", dev.layoutOptions);
            args(k, grad, out, n, kk, s.stream(), s.domain(), keyLow(s), keyHigh(s), s.scale());
            int g = groupSize(dev, k, WIDE_GROUP);
            dev.launch(k, new long[] {roundUp(kk, g)}, new long[] {g});
            return;
        }
        cl_kernel k = dev.kernel("nola", "coefficient_gradient_generated_partial", dev.layoutOptions);
        reduceRows(k, kk, n, out, (partial, blocks) -> new Object[] {grad, partial, n, (int) blocks,
                s.stream(), s.domain(), keyLow(s), keyHigh(s), s.scale()});
    }

    /**
     * Whether the CPU layout reduces whole rows per work-item: when that gives at least four
     * work-items per compute unit (fewer would leave cores idle, and the two-pass reduction splits
     * rows instead).
     */
    private boolean rowPerWorkItem(long items) {
        return dev.cpuLayout() && items >= 4L * Math.max(1, dev.info().computeUnits());
    }

    /** The arguments of a partial-sum kernel before its trailing local-memory argument. */
    private interface PartialArgs {
        Object[] of(Tensor partial, long blocks);
    }

    /**
     * Two-pass row reduction: G work-groups per row write partial sums to the device workspace (a tree
     * reduction in local memory within each group), then one work-item per row adds its G partials.
     * G gives the device about eight work-groups per compute unit in all, and never more than the
     * row's blocks need.
     */
    private void reduceRows(cl_kernel partialKernel, int rows, long n, Tensor out, PartialArgs partialArgs) {
        long blocks = (n + 3) / 4;
        long localFloats = Math.max(1, dev.info().localMemBytes() / Sizeof.cl_float / 2);
        int l = groupSize(dev, partialKernel, (int) Math.min(ELEMENTWISE_GROUP, localFloats));
        long wanted = Math.max(1, 8L * Math.max(1, dev.info().computeUnits()) / rows);
        int groups = (int) Math.max(1, Math.min(wanted, (blocks + l - 1) / l));
        Tensor partial = dev.workspace("nola.partials", (long) rows * groups);
        Object[] a = partialArgs.of(partial, blocks);
        Object[] all = Arrays.copyOf(a, a.length + 1);
        all[a.length] = new ClLaunch.Local((long) l * Sizeof.cl_float);
        args(partialKernel, all);
        dev.launch(partialKernel, new long[] {(long) groups * l, rows}, new long[] {l, 1});
        cl_kernel sum = dev.kernel("nola", "sum_partials", dev.layoutOptions);
        args(sum, partial, out, groups, rows);
        int g = groupSize(dev, sum, ELEMENTWISE_GROUP);
        dev.launch(sum, new long[] {roundUp(rows, g)}, new long[] {g});
    }
}
