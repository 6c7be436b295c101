package dev.nola.kernels.opencl;

import dev.nola.kernels.AbstractOps;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.Tensor;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * The op contract as OpenCL kernels (sources under {@code /opencl/}). Every op only enqueues work
 * on the device's in-order queue; launch geometry comes from the device's and the kernel's
 * work-group limits. The adapter forward and backward are composed of matmuls (AbstractOps).
 */
final class OpenClOps extends AbstractOps {

    /**
     * Which sgemm kernel {@link #doMatmul} uses; AUTO picks PANEL on CPU devices, else by shape.
     * Package-private for tests.
     */
    enum MatmulVariant { AUTO, TILED, BLOCKED, PANEL }

    /** Work-items per work-group for the element-wise kernels, at most. */
    private static final int ELEMENTWISE_GROUP = 256;
    /** Work-items per work-group for the CPU-layout generators and row reductions (each already 8 wide). */
    private static final int WIDE_GROUP = 8;
    /** Rows of C per work-item of the CPU sgemm (PM in linalg.cl). */
    private static final int PANEL_ROWS = 6;
    /** Row blocks per work-group of the CPU sgemm (they share one panel of B in cache). */
    private static final int PANEL_GROUP = 8;
    /** The register-blocked sgemm's tile edge (a 16 x 16 work-group of 4 x 4 blocks). */
    private static final int BLOCKED_TILE = 64;

    /** The widest column tile of the CPU-layout mix (its running sums, 16 KiB, stay in L1/L2). */
    private static final int MIX_TILE = 4096;

    private final OpenClDevice dev;
    private final String linalgOptions;
    /**
     * The layout of the nola and random families: {@code -DCHUNKED} on CPUs, none on GPUs. On CPUs
     * a work-item owns a contiguous range (a column tile in mix, 8 Philox blocks generated 8-wide,
     * a whole row or a chunk in the reductions), because the runtime runs one work-item's loop to the
     * end before the next and vectorises explicit vectors best; on GPUs neighbouring work-items take
     * neighbouring elements (coalesced). Also the build options of those families. Package-private
     * so that tests run both layouts on one device; set it before the first nola or basis op.
     */
    String nolaOptions;
    private final int tile;
    MatmulVariant matmulVariant = MatmulVariant.AUTO;

    OpenClOps(OpenClDevice device) {
        super(device);
        this.dev = device;
        long wg = device.info().maxWorkGroupSize();
        this.tile = wg >= 256 ? 16 : wg >= 64 ? 8 : 4;
        this.linalgOptions = "-DTS=" + tile;
        this.nolaOptions = device.info().type() == DeviceInfo.Type.CPU ? "-DCHUNKED" : "";
    }

    /** Whether the nola kernels run in the CPU layout (contiguous ranges per work-item). */
    private boolean cpuLayout() {
        return nolaOptions.contains("-DCHUNKED");
    }

    // ---------------------------------------------------------------- launch helpers

    /** A local-memory kernel argument of {@code bytes}. */
    private record Local(long bytes) {
    }

    private static void args(cl_kernel k, Object... values) {
        for (int i = 0; i < values.length; i++) {
            Object v = values[i];
            switch (v) {
                case cl_mem m -> CL.clSetKernelArg(k, i, Sizeof.cl_mem, Pointer.to(m));
                case Integer x -> CL.clSetKernelArg(k, i, Sizeof.cl_int, Pointer.to(new int[] {x}));
                case Long x -> CL.clSetKernelArg(k, i, Sizeof.cl_ulong, Pointer.to(new long[] {x}));
                case Float x -> CL.clSetKernelArg(k, i, Sizeof.cl_float, Pointer.to(new float[] {x}));
                case Local l -> CL.clSetKernelArg(k, i, l.bytes(), null);
                default -> throw new AssertionError("unsupported kernel argument " + v);
            }
        }
    }

    /** The largest power of two ≤ min(cap, the kernel's work-group limit). */
    private int groupSize(cl_kernel k, int cap) {
        long max = Math.min(cap, dev.programs().maxWorkGroup(k));
        int g = 1;
        while (g * 2L <= max) {
            g *= 2;
        }
        return g;
    }

    private static long roundUp(long x, long multiple) {
        return (x + multiple - 1) / multiple * multiple;
    }

    /** Number of 4-element Philox blocks covering n, checked to fit the 32-bit counter word. */
    private static long blocks(long n) {
        long b = (n + 3) / 4;
        if (b > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("n = " + n + " elements per matrix exceeds the generator's limit of 2^34");
        }
        return b;
    }

    private static int keyLow(BasisStream s) {
        return (int) s.seed();
    }

    private static int keyHigh(BasisStream s) {
        return (int) (s.seed() >>> 32);
    }

    // ---------------------------------------------------------------- random

    @Override
    protected void doBasis(BasisStream s, int firstIndex, int count, long n, Tensor out) {
        // CPU layout: 8 blocks per work-item, generated 8-wide
        boolean wide = cpuLayout();
        cl_kernel k = dev.kernel("random", wide ? "basis_x8" : "basis", nolaOptions);
        long blocks = blocks(n);
        args(k, dev.mem(out), n, (int) blocks, firstIndex, s.stream(), s.domain(), keyLow(s), keyHigh(s), s.scale());
        int g = groupSize(k, wide ? WIDE_GROUP : ELEMENTWISE_GROUP);
        long items = wide ? (blocks + 7) / 8 : blocks;
        dev.launch(k, new long[] {roundUp(items, g), count}, new long[] {g, 1});
    }

    // ---------------------------------------------------------------- nola

    @Override
    protected void doMix(Tensor coefficients, Tensor basis, Tensor offset, Tensor out, int kk, long n) {
        cl_mem o = dev.mem(out);
        if (cpuLayout()) {
            // Tiles of contiguous columns, one per work-item: about one per compute unit, 256 to 4096 wide.
            long cus = Math.max(1, dev.info().computeUnits());
            int tile = (int) Math.clamp(roundUp((n + cus - 1) / cus, 16), 256, MIX_TILE);
            cl_kernel k = dev.kernel("nola", "mix_basis_tiles", nolaOptions);
            args(k, dev.mem(coefficients), dev.mem(basis),
                    offset == null ? o : dev.mem(offset), o, n, kk, offset == null ? 0 : 1, tile);
            dev.launch(k, new long[] {(n + tile - 1) / tile}, new long[] {1});
            return;
        }
        cl_kernel k = dev.kernel("nola", "mix_basis", nolaOptions);
        args(k, dev.mem(coefficients), dev.mem(basis),
                offset == null ? o : dev.mem(offset), o, n, kk, offset == null ? 0 : 1);
        int g = groupSize(k, ELEMENTWISE_GROUP);
        dev.launch(k, new long[] {roundUp((n + 3) / 4, g)}, new long[] {g});
    }

    @Override
    protected void doMixGenerated(Tensor coefficients, BasisStream s, Tensor offset, Tensor out, int kk, long n) {
        boolean wide = cpuLayout();
        cl_kernel k = dev.kernel("nola", wide ? "mix_generated_x8" : "mix_generated", nolaOptions);
        cl_mem o = dev.mem(out);
        long blocks = blocks(n);
        args(k, dev.mem(coefficients), offset == null ? o : dev.mem(offset), o, n, kk,
                offset == null ? 0 : 1, s.stream(), s.domain(), keyLow(s), keyHigh(s), s.scale());
        int g = groupSize(k, wide ? WIDE_GROUP : ELEMENTWISE_GROUP);
        long items = wide ? (blocks + 7) / 8 : blocks;
        dev.launch(k, new long[] {roundUp(items, g)}, new long[] {g});
    }

    @Override
    protected void doCoefficientGradient(Tensor basis, Tensor grad, Tensor out, int kk, long n) {
        if (rowPerWorkItem((kk + 3) / 4)) {
            cl_kernel k = dev.kernel("nola", "coefficient_gradient_rows", nolaOptions);
            args(k, dev.mem(basis), dev.mem(grad), dev.mem(out), n, kk);
            int g = groupSize(k, WIDE_GROUP);
            dev.launch(k, new long[] {roundUp((kk + 3) / 4, g)}, new long[] {g});
            return;
        }
        cl_kernel k = dev.kernel("nola", "coefficient_gradient_partial", nolaOptions);
        cl_mem b = dev.mem(basis);
        cl_mem g = dev.mem(grad);
        reduceRows(k, kk, n, out, (partial, blocks) -> new Object[] {b, g, partial, n, (int) blocks});
    }

    @Override
    protected void doCoefficientGradientGenerated(BasisStream s, Tensor grad, Tensor out, int kk, long n) {
        if (rowPerWorkItem(kk)) {
            blocks(n); // checks the counter range
            cl_kernel k = dev.kernel("nola", "coefficient_gradient_generated_rows", nolaOptions);
            args(k, dev.mem(grad), dev.mem(out), n, kk, s.stream(), s.domain(), keyLow(s), keyHigh(s),
                    s.scale());
            int g = groupSize(k, WIDE_GROUP);
            dev.launch(k, new long[] {roundUp(kk, g)}, new long[] {g});
            return;
        }
        cl_kernel k = dev.kernel("nola", "coefficient_gradient_generated_partial", nolaOptions);
        cl_mem g = dev.mem(grad);
        reduceRows(k, kk, n, out, (partial, blocks) -> new Object[] {g, partial, n, (int) blocks,
                s.stream(), s.domain(), keyLow(s), keyHigh(s), s.scale()});
    }

    /**
     * Whether the CPU layout reduces whole rows per work-item: when that gives at least four
     * work-items per compute unit (fewer would leave cores idle, and the two-pass reduction splits
     * rows instead).
     */
    private boolean rowPerWorkItem(long items) {
        return cpuLayout() && items >= 4L * Math.max(1, dev.info().computeUnits());
    }

    /** The arguments of a partial-sum kernel before its trailing local-memory argument. */
    private interface PartialArgs {
        Object[] of(cl_mem partial, long blocks);
    }

    /**
     * Two-pass row reduction: G work-groups per row write partial sums to a workspace (a tree
     * reduction in local memory within each group), then one work-item per row adds its G partials.
     * G gives the device about eight work-groups per compute unit in all, and never more than the
     * row's blocks need.
     */
    private void reduceRows(cl_kernel partialKernel, int rows, long n, Tensor out, PartialArgs partialArgs) {
        long blocks = blocks(n);
        long localFloats = Math.max(1, dev.info().localMemBytes() / Sizeof.cl_float / 2);
        int l = groupSize(partialKernel, (int) Math.min(ELEMENTWISE_GROUP, localFloats));
        long wanted = Math.max(1, 8L * Math.max(1, dev.info().computeUnits()) / rows);
        int groups = (int) Math.max(1, Math.min(wanted, (blocks + l - 1) / l));
        cl_mem partial = dev.createBuffer((long) rows * groups * Sizeof.cl_float, "the gradient's partial sums");
        try {
            Object[] a = partialArgs.of(partial, blocks);
            Object[] all = java.util.Arrays.copyOf(a, a.length + 1);
            all[a.length] = new Local((long) l * Sizeof.cl_float);
            args(partialKernel, all);
            dev.launch(partialKernel, new long[] {(long) groups * l, rows}, new long[] {l, 1});
            cl_kernel sum = dev.kernel("nola", "sum_partials", nolaOptions);
            args(sum, partial, dev.mem(out), groups, rows);
            int g = groupSize(sum, ELEMENTWISE_GROUP);
            dev.launch(sum, new long[] {roundUp(rows, g)}, new long[] {g});
        } finally {
            // the runtime keeps the workspace alive until the enqueued kernels have finished
            dev.releaseBuffer(partial);
        }
    }

    // ---------------------------------------------------------------- linalg

    /**
     * The CPU sgemm: op(B) packed into column panels of 16 in a workspace (n * kk copies against
     * m * n * kk multiply-adds), then register blocks of PANEL_ROWS x 16 straight from the caches.
     */
    private void panelMatmul(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c,
                             int m, int n, int kk) {
        long panels = (n + 15) / 16;
        cl_mem packed = dev.createBuffer(panels * 16 * kk * Sizeof.cl_float, "the packed B of a matmul");
        try {
            cl_kernel pack = dev.kernel("linalg", "pack_panels", linalgOptions);
            args(pack, dev.mem(b), packed, transB ? 1 : 0, n, kk);
            int gp = groupSize(pack, ELEMENTWISE_GROUP);
            dev.launch(pack, new long[] {roundUp(kk, gp), panels}, new long[] {gp, 1});
            cl_kernel k = dev.kernel("linalg", "sgemm_panel", linalgOptions);
            args(k, transA ? 1 : 0, m, n, kk, alpha, dev.mem(a), packed, beta, dev.mem(c));
            long rowBlocks = (m + PANEL_ROWS - 1) / PANEL_ROWS;
            int g = (int) Math.min(groupSize(k, PANEL_GROUP), rowBlocks);
            dev.launch(k, new long[] {panels, roundUp(rowBlocks, g)}, new long[] {1, g});
        } finally {
            // the runtime keeps the workspace alive until the enqueued kernels have finished
            dev.releaseBuffer(packed);
        }
    }

    @Override
    protected void doMatmul(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c,
                            int m, int n, int kk) {
        MatmulVariant v = matmulVariant;
        if (v == MatmulVariant.PANEL || v == MatmulVariant.AUTO && dev.info().type() == DeviceInfo.Type.CPU) {
            panelMatmul(transA, transB, alpha, a, b, beta, c, m, n, kk);
            return;
        }
        cl_kernel blocked = null;
        if (v != MatmulVariant.TILED) {
            blocked = dev.kernel("linalg", "sgemm_blocked", linalgOptions);
            boolean fits = dev.programs().maxWorkGroup(blocked) >= 256;
            if (v == MatmulVariant.BLOCKED && !fits) {
                throw new IllegalStateException("sgemm_blocked needs a work-group of 256 on device " + dev.describe()
                        + ", which allows " + dev.programs().maxWorkGroup(blocked));
            }
            if (v == MatmulVariant.AUTO) {
                // Small outputs would leave most of a 64 x 64 tile idle; the square tiles suit them better.
                v = fits && m >= 32 && n >= 32 ? MatmulVariant.BLOCKED : MatmulVariant.TILED;
            }
        }
        cl_kernel k = v == MatmulVariant.BLOCKED ? blocked : dev.kernel("linalg", "sgemm_tiled", linalgOptions);
        args(k, transA ? 1 : 0, transB ? 1 : 0, m, n, kk, alpha, dev.mem(a), dev.mem(b), beta, dev.mem(c));
        if (v == MatmulVariant.BLOCKED) {
            dev.launch(k, new long[] {roundUp(n, BLOCKED_TILE) / 4, roundUp(m, BLOCKED_TILE) / 4}, new long[] {16, 16});
        } else {
            long max = dev.programs().maxWorkGroup(k);
            if ((long) tile * tile > max) {
                throw new IllegalStateException("sgemm_tiled needs a work-group of " + tile * tile + " on device "
                        + dev.describe() + ", which allows " + max);
            }
            dev.launch(k, new long[] {roundUp(n, tile), roundUp(m, tile)}, new long[] {tile, tile});
        }
    }
}
