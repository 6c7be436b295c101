package dev.nola.kernels.tornado;

import dev.nola.kernels.AbstractLinalgOps;
import dev.nola.kernels.Tensor;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The linalg family on a TornadoVM device ({@link LinalgKernels}, {@link SgemmKernels}): strided-batched
 * sgemm (on CPU devices 6 x 64 {@code Float16} fma register blocks over op(B) in 64-column panels read
 * in place or packed into the plan's own scratch, 8 row blocks per work-item, or 24 with k in slices
 * above 2,560, and for the LM head's Bᵀ 3 x 6 blocks of {@code Float16} dot products; one work-item per
 * element of C elsewhere; each task over every batch) and element-wise axpy, scale, fill and copy (on
 * CPU devices a span of elements per work-item in sixteen lanes, {@link Level1Lanes}; one element each
 * elsewhere). Operands may be views at any offset, with any leading dimensions and batch strides
 * ({@link KernelCall}).
 */
final class TornadoLinalgOps extends AbstractLinalgOps {

    /**
     * Which sgemm kernel {@link #doMatmul} uses: AUTO picks by device type and shape (below); the
     * others force one on any device, for tests. DOTS applies only to row-major A by Bᵀ (the kernel reads
     * both along k); other transposes then take the panels. Package-private for tests.
     */
    enum MatmulVariant { AUTO, ELEMENTS, PANEL, DOTS }

    private final TornadoPlans plans;
    MatmulVariant matmulVariant = MatmulVariant.AUTO;

    TornadoLinalgOps(TornadoVmDevice device) {
        super(device);
        this.plans = device.plans();
    }

    /**
     * Row-major A by Bᵀ goes to the dot-product kernel on CPU devices when B has at least
     * DOTS_MIN_B elements and either C has at most DOTS_MAX_ROWS rows (packing B would then be a large
     * share of the work) or B is larger than the last-level cache (the pack would stream it through
     * memory twice): the LM head. The OpenCL backend's CPU layout draws the same line.
     */
    private static final int DOTS_MAX_ROWS = 256;
    private static final long DOTS_MIN_B = 1L << 20;
    private static final long DOTS_LARGE_B = 1L << 23;

    @Override
    protected void doMatmul(boolean transA, boolean transB, int batch, int m, int n, int k, float alpha,
                            Tensor a, int lda, long strideA, Tensor b, int ldb, long strideB,
                            float beta, Tensor c, int ldc, long strideC) {
        boolean readC = beta != 0f;
        long bElements = (long) n * k;
        MatmulVariant v = matmulVariant;
        boolean dotsShape = !transA && transB;
        String op;
        if (v == MatmulVariant.ELEMENTS || v == MatmulVariant.AUTO && !plans.cpuLayout) {
            op = "matmul";
        } else if (dotsShape && (v == MatmulVariant.DOTS
                || v == MatmulVariant.AUTO && bElements >= DOTS_MIN_B && (m <= DOTS_MAX_ROWS || bElements >= DOTS_LARGE_B))) {
            op = "matmulDots";
        } else if (!transB && n % SgemmKernels.PANEL == 0) {
            op = "matmulPanelInPlace";
        } else {
            op = "matmulPanel";
        }
        boolean packs = op.equals("matmulPanel");
        long panels = (n + SgemmKernels.PANEL - 1) / SgemmKernels.PANEL;
        long packed = panels * SgemmKernels.PANEL * k;
        KernelCall call = plans.call(op).in(a).in(b);
        if (packs) {
            call = call.ownScratch(packed * batch + SgemmKernels.PANELS_AT);
        }
        call = readC ? call.inOut(c) : call.out(c, (long) batch * m * n);
        Launch p = switch (op) {
            case "matmulPanel" -> call.launch(2, SgemmKernels.PANEL_PARAMS, 2, (g, t, ip, fp, x) -> g
                    .task(t.task(0), SgemmKernels::packPanels, new KernelContext(), ip, x.f(1), x.f(2))
                    .task(t.task(1), SgemmKernels::matmulPanel, new KernelContext(), ip, fp, x.f(0), x.f(2), x.f(3)));
            case "matmulPanelInPlace" -> call.launch(SgemmKernels.PANEL_PARAMS + 1, 2, (g, t, ip, fp, x) -> g
                    .task(t.task(0), SgemmKernels::matmulPanel, new KernelContext(), ip, fp, x.f(0), x.f(1), x.f(2)));
            case "matmulDots" -> call.launch(LinalgKernels.MATMUL_PARAMS, 2, (g, t, ip, fp, x) -> g
                    .task(t.task(0), SgemmKernels::matmulDots, new KernelContext(), ip, fp, x.f(0), x.f(1), x.f(2)));
            default -> call.launch(LinalgKernels.MATMUL_PARAMS, 2, (g, t, ip, fp, x) -> g
                    .task(t.task(0), LinalgKernels::matmul, new KernelContext(), ip, fp, x.f(0), x.f(1), x.f(2)));
        };
        // op(A)[i][p] = a[i·sa0 + p·sa1]: A stored [m, k] at row stride lda, or transposed [k, m]; B likewise
        IntArray ip = p.ip;
        ip.set(LinalgKernels.P_M, m);
        ip.set(LinalgKernels.P_N, n);
        ip.set(LinalgKernels.P_K, k);
        ip.set(LinalgKernels.P_SA0, transA ? 1 : lda);
        ip.set(LinalgKernels.P_SA1, transA ? lda : 1);
        ip.set(LinalgKernels.P_SB0, transB ? 1 : ldb);
        ip.set(LinalgKernels.P_SB1, transB ? ldb : 1);
        ip.set(LinalgKernels.P_READ_C, readC ? 1 : 0);
        ip.set(LinalgKernels.P_BATCH, batch);
        ip.set(LinalgKernels.P_LDC, ldc);
        ip.set(LinalgKernels.P_STRIDE_A, (int) strideA);
        ip.set(LinalgKernels.P_STRIDE_B, (int) strideB);
        ip.set(LinalgKernels.P_STRIDE_C, (int) strideC);
        p.fp.set(0, alpha);
        p.fp.set(1, beta);
        switch (op) {
            case "matmulPanel", "matmulPanelInPlace" -> {
                // the panel source: the packed scratch (panels k·64 apart, rows 64 apart) or B itself (panels 64
                // columns apart, rows ldb apart)
                ip.set(SgemmKernels.P_PACKED, (int) packed);
                ip.set(SgemmKernels.P_PANEL_STRIDE, packs ? (int) packed / (int) panels : SgemmKernels.PANEL);
                ip.set(SgemmKernels.P_ROW_STRIDE, packs ? SgemmKernels.PANEL : ldb);
                ip.set(SgemmKernels.P_PANEL_BATCH, packs ? (int) packed : (int) strideB);
                ip.set(SgemmKernels.P_IN_PLACE, packs ? 0 : 1);
                ip.set(SgemmKernels.P_PANELS_AT, packs ? SgemmKernels.PANELS_AT : 0);
                // as the OpenCL backend: one pass up to SLICE_ABOVE, else slices of about SLICE
                int slices = k > SgemmKernels.SLICE_ABOVE ? (k + SgemmKernels.SLICE - 1) / SgemmKernels.SLICE : 1;
                int slice = (k + slices - 1) / slices;
                ip.set(SgemmKernels.P_SLICE, slice);
                long rowBlocks = (m + SgemmKernels.PANEL_ROWS - 1) / SgemmKernels.PANEL_ROWS;
                int rowGroup = SgemmKernels.rowGroup(k, slice);
                long groups = (rowBlocks + rowGroup - 1) / rowGroup;
                if (packs) {
                    p.grid(0, batch * packed / SgemmKernels.PANEL, true);
                }
                p.grid(packs ? 1 : 0, batch * panels * groups, true);
                p.execute();
            }
            case "matmulDots" -> {
                long rowBlocks = (m + SgemmKernels.DOTS_ROWS - 1) / SgemmKernels.DOTS_ROWS;
                p.run(batch * rowBlocks * ((n + SgemmKernels.DOTS_COLS - 1) / SgemmKernels.DOTS_COLS), true);
            }
            default -> p.run((long) batch * m * n, false);
        }
    }

    @Override
    protected void doAxpy(float alpha, Tensor x, Tensor y, long n) {
        boolean lanes = plans.cpuLayout;
        KernelCall call = plans.call(lanes ? "axpyLanes" : "axpy").in(x).inOut(y);
        Launch p = call.launch(LinalgKernels.LEVEL1_PARAMS, 1, (g, t, ip, fp, a) -> g
                .task(t.task(0), pick(lanes, Level1Lanes::axpyLanes, LinalgKernels::axpyElements), new KernelContext(), ip, fp, a.f(0),
                        a.f(1)));
        p.ip.set(LinalgKernels.P_COUNT, (int) n);
        p.fp.set(0, alpha);
        runLevel1(p, n, lanes);
    }

    @Override
    protected void doScale(float alpha, Tensor x, long n) {
        boolean lanes = plans.cpuLayout;
        KernelCall call = plans.call(lanes ? "scaleLanes" : "scale").inOut(x);
        Launch p = call.launch(LinalgKernels.LEVEL1_PARAMS, 1, (g, t, ip, fp, a) -> g
                .task(t.task(0), pick(lanes, Level1Lanes::scaleLanes, LinalgKernels::scaleElements), new KernelContext(), ip, fp, a.f(0)));
        p.ip.set(LinalgKernels.P_COUNT, (int) n);
        p.fp.set(0, alpha);
        runLevel1(p, n, lanes);
    }

    /**
     * Copies {@code n} elements from {@code x} to {@code y} (float32 views that do not overlap) on the
     * device: how a host {@code copy} is recorded inside a capture.
     */
    void copyOnDevice(Tensor x, Tensor y, long n) {
        boolean lanes = plans.cpuLayout;
        KernelCall call = plans.call(lanes ? "copyLanes" : "copy").in(x).out(y, n);
        Launch p = call.launch(LinalgKernels.LEVEL1_PARAMS, 0, (g, t, ip, fp, a) -> g
                .task(t.task(0), pick(lanes, Level1Lanes::copyLanes, LinalgKernels::copyElements), new KernelContext(), ip, a.f(0), a.f(1)));
        p.ip.set(LinalgKernels.P_COUNT, (int) n);
        runLevel1(p, n, lanes);
    }

    @Override
    protected void doFill(Tensor x, float value, long n) {
        boolean lanes = plans.cpuLayout;
        KernelCall call = plans.call(lanes ? "fillLanes" : "fill").out(x, n);
        Launch p = call.launch(LinalgKernels.LEVEL1_PARAMS, 1, (g, t, ip, fp, a) -> g
                .task(t.task(0), pick(lanes, Level1Lanes::fillLanes, LinalgKernels::fillElements), new KernelContext(), ip, fp, a.f(0)));
        p.ip.set(LinalgKernels.P_COUNT, (int) n);
        p.fp.set(0, value);
        runLevel1(p, n, lanes);
    }

    /** The sixteen-lane kernel ({@link Level1Lanes}) when {@code lanes}, else the element-per-work-item one. */
    private static <K> K pick(boolean lanes, K lanesKernel, K perElement) {
        return lanes ? lanesKernel : perElement;
    }

    /** Runs a level-1 kernel: a span of n per work-item in lanes ({@link Level1Lanes}) on a CPU device, else one element each. */
    private static void runLevel1(Launch p, long n, boolean lanes) {
        if (lanes) {
            p.run(Level1Lanes.spans(n), true);
        } else {
            p.run(n, false);
        }
    }
}
