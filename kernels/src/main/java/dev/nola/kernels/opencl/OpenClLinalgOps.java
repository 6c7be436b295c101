package dev.nola.kernels.opencl;

import static dev.nola.kernels.opencl.ClLaunch.ELEMENTWISE_GROUP;
import static dev.nola.kernels.opencl.ClLaunch.args;
import static dev.nola.kernels.opencl.ClLaunch.groupSize;
import static dev.nola.kernels.opencl.ClLaunch.roundUp;

import dev.nola.kernels.AbstractLinalgOps;
import dev.nola.kernels.DType;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.Tensor;
import org.jocl.cl_kernel;

/**
 * The linalg family as OpenCL kernels ({@code linalg.cl}). Three sgemm layouts, all strided-batched
 * (the batch is global dimension 2): square tiles in local memory, 64 × 64 register-blocked tiles
 * (GPUs), and on CPU devices op(A) packed into 6-row blocks and op(B) read in place or packed into
 * 64-column panels in the device workspace, then 6 × 64 {@code float16} register blocks straight from
 * the caches, a long k in slices; for a large Bᵀ under few rows of C (the LM head), 4 × 6 blocks of {@code float16} dot
 * products that read A and B in place.
 */
final class OpenClLinalgOps extends AbstractLinalgOps {

    /**
     * Which sgemm kernel {@link #doMatmul} uses; AUTO picks PANEL or DOTS on CPU devices, else by
     * shape. Package-private for tests.
     */
    enum MatmulVariant { AUTO, TILED, BLOCKED, PANEL, DOTS }

    /** The most rows of C the gemv kernels take (GM in linalg.cl). */
    private static final int GEMV_ROWS = 4;
    /** Rows of C per work-item of the CPU sgemm (PM in linalg.cl). */
    private static final int PANEL_ROWS = 6;
    /** Columns of C per work-item of the CPU sgemm (PN in linalg.cl). */
    private static final int PANEL_COLS = 64;
    /**
     * Above this depth the CPU sgemm runs k in slices of about {@link #SLICE} (the slice of a panel,
     * 64 · 512 floats, stays in L2 while a work-group's row blocks reuse it); at or below, in one pass.
     */
    private static final int SLICE_ABOVE = 2560;
    private static final int SLICE = 512;
    /** Rows of C per work-item of the dot-product sgemm (DM in linalg.cl). */
    private static final int DOTS_ROWS = 4;
    /** Columns of C per work-item of the dot-product sgemm (DN in linalg.cl). */
    private static final int DOTS_COLS = 6;
    /** Row blocks per work-group of the dot-product sgemm (they share DOTS_COLS rows of B in cache). */
    private static final int DOTS_GROUP = 32;
    /**
     * DOTS, not PANEL, takes row-major A by Bᵀ when B has at least DOTS_MIN_B elements and either C
     * has at most DOTS_MAX_ROWS rows (the pack is then a large share of the work) or B is larger
     * than the last-level cache (the pack then streams it through memory twice): the LM head.
     */
    private static final int DOTS_MAX_ROWS = 256;
    private static final long DOTS_MIN_B = 1L << 20;
    private static final long DOTS_LARGE_B = 1L << 23;
    /** Row blocks per work-group of the CPU sgemm (they share one panel of B in cache). */
    private static final int PANEL_GROUP = 8;
    /** Floats per work-item of axpy, scale and fill on CPU devices (EW_CHUNK in linalg.cl). */
    private static final int ELEMENTWISE_CHUNK = 4096;
    /** Chunks per work-group of axpy, scale and fill on CPU devices. */
    private static final int CHUNK_GROUP = 16;
    /** The register-blocked sgemm's tile edge (a 16 x 16 work-group of 4 x 4 blocks). */
    private static final int BLOCKED_TILE = 64;

    private final OpenClDevice dev;
    private final String options;
    private final int tile;
    MatmulVariant matmulVariant = MatmulVariant.AUTO;

    OpenClLinalgOps(OpenClDevice device) {
        super(device);
        this.dev = device;
        long wg = device.info().maxWorkGroupSize();
        this.tile = wg >= 256 ? 16 : wg >= 64 ? 8 : 4;
        this.options = "-DTS=" + tile;
    }

    @Override
    protected void doMatmul(boolean transA, boolean transB, int batch, int m, int n, int kk, float alpha,
                            Tensor a, int lda, long strideA, Tensor b, int ldb, long strideB,
                            float beta, Tensor c, int ldc, long strideC) {
        MatmulVariant v = matmulVariant;
        // a bfloat16 B reads through the same kernels built with -DB_BF16 (a second program), widened where loaded
        String bOptions = b.dtype() == DType.BF16 ? options + " -DB_BF16" : options;
        if (v == MatmulVariant.AUTO && m <= GEMV_ROWS && alpha != 0f) {
            gemv(transA, transB, batch, m, n, kk, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, bOptions);
            return;
        }
        boolean cpu = dev.info().type() == DeviceInfo.Type.CPU;
        long bElements = (long) n * kk;
        if (v == MatmulVariant.DOTS || v == MatmulVariant.AUTO && cpu && !transA && transB && bElements >= DOTS_MIN_B
                && (m <= DOTS_MAX_ROWS || bElements >= DOTS_LARGE_B)) {
            // packing B would copy n·kk floats for m multiply-adds each (about half the product's time at m = 128)
            cl_kernel k = dev.kernel("linalg", "sgemm_dots", bOptions);
            args(k, transA ? 1 : 0, transB ? 1 : 0, m, n, kk, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC);
            long rowBlocks = (m + DOTS_ROWS - 1) / DOTS_ROWS;
            int g = (int) Math.min(groupSize(dev, k, DOTS_GROUP), rowBlocks);
            dev.launch(k, new long[] {(n + DOTS_COLS - 1) / DOTS_COLS, roundUp(rowBlocks, g), batch}, new long[] {1, g, 1});
            return;
        }
        if (v == MatmulVariant.PANEL || v == MatmulVariant.AUTO && cpu) {
            panelMatmul(transA, transB, batch, m, n, kk, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC,
                    bOptions);
            return;
        }
        cl_kernel blocked = null;
        if (v != MatmulVariant.TILED) {
            blocked = dev.kernel("linalg", "sgemm_blocked", bOptions);
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
        cl_kernel k = v == MatmulVariant.BLOCKED ? blocked : dev.kernel("linalg", "sgemm_tiled", bOptions);
        args(k, transA ? 1 : 0, transB ? 1 : 0, m, n, kk, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC);
        if (v == MatmulVariant.BLOCKED) {
            dev.launch(k, new long[] {roundUp(n, BLOCKED_TILE) / 4, roundUp(m, BLOCKED_TILE) / 4, batch},
                    new long[] {16, 16, 1});
        } else {
            long max = dev.programs().maxWorkGroup(k);
            if ((long) tile * tile > max) {
                throw new IllegalStateException("sgemm_tiled needs a work-group of " + tile * tile + " on device "
                        + dev.describe() + ", which allows " + max);
            }
            dev.launch(k, new long[] {roundUp(n, tile), roundUp(m, tile), batch}, new long[] {tile, tile, 1});
        }
    }

    /**
     * The CPU sgemm: op(A) of every batch packed into row blocks of PANEL_ROWS in the workspace, op(B)
     * read in place when it is a float32 B not transposed with n a multiple of PANEL_COLS (its rows are
     * the panels' rows), else packed into column panels of PANEL_COLS (a bfloat16 B is widened there); then register blocks of PANEL_ROWS x PANEL_COLS, k in slices when it is long (beta
     * applies in the first slice, the rest add to C).
     */
    private void panelMatmul(boolean transA, boolean transB, int batch, int m, int n, int kk, float alpha,
                             Tensor a, int lda, long strideA, Tensor b, int ldb, long strideB,
                             float beta, Tensor c, int ldc, long strideC, String bOptions) {
        long panels = (n + PANEL_COLS - 1) / PANEL_COLS;
        long rowBlocks = (m + PANEL_ROWS - 1) / PANEL_ROWS;
        long perBatchA = rowBlocks * PANEL_ROWS * kk;
        Tensor packedA = dev.workspace("linalg.packedA", perBatchA * batch);
        cl_kernel packA = dev.kernel("linalg", "pack_rows", options);
        args(packA, a, lda, strideA, packedA, perBatchA, transA ? 1 : 0, m, kk);
        int ga = groupSize(dev, packA, ELEMENTWISE_GROUP);
        dev.launch(packA, new long[] {roundUp(kk, ga), rowBlocks, batch}, new long[] {ga, 1, 1});
        // a partial last panel read in place would pass the end of B's buffer: such a B is packed
        boolean inPlace = !transB && b.dtype() == DType.FLOAT32 && n % PANEL_COLS == 0;
        long perBatchB = panels * PANEL_COLS * kk;
        Tensor bPanels = b;
        if (!inPlace) {
            bPanels = dev.workspace("linalg.packedB", perBatchB * batch);
            cl_kernel packB = dev.kernel("linalg", "pack_panels", bOptions);
            args(packB, b, ldb, strideB, bPanels, perBatchB, transB ? 1 : 0, n, kk);
            int gp = groupSize(dev, packB, ELEMENTWISE_GROUP);
            dev.launch(packB, new long[] {roundUp(kk, gp), panels, batch}, new long[] {gp, 1, 1});
        }
        // panel q of op(B) has row p at q * qs + p * ps
        long batchB = inPlace ? strideB : perBatchB;
        long qs = inPlace ? PANEL_COLS : (long) kk * PANEL_COLS;
        long ps = inPlace ? ldb : PANEL_COLS;
        cl_kernel k = dev.kernel("linalg", "sgemm_panel", options);
        int g = (int) Math.min(groupSize(dev, k, PANEL_GROUP), rowBlocks);
        long[] global = {panels, roundUp(rowBlocks, g), batch};
        long[] local = {1, g, 1};
        int slices = kk > SLICE_ABOVE ? (kk + SLICE - 1) / SLICE : 1;
        for (int s = 0; s < slices; s++) {
            int p0 = (int) ((long) kk * s / slices);
            int p1 = (int) ((long) kk * (s + 1) / slices);
            args(k, m, n, kk, p0, p1, alpha, packedA, perBatchA, bPanels, batchB, qs, ps, s == 0 ? beta : 1f,
                    c, ldc, strideC);
            dev.launch(k, global, local);
        }
    }

    /**
     * A few rows of C (a decode step): B read once in place, no packed copy (which for the LM head
     * would be the whole [V, C] weight, written and read again for every token).
     */
    private void gemv(boolean transA, boolean transB, int batch, int m, int n, int kk, float alpha,
                      Tensor a, int lda, long strideA, Tensor b, int ldb, long strideB,
                      float beta, Tensor c, int ldc, long strideC, String bOptions) {
        cl_kernel k = dev.kernel("linalg", transB ? "gemv_dots" : "gemv_cols", bOptions);
        args(k, transA ? 1 : 0, m, n, kk, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC);
        long items = transB ? n : (n + 15) / 16;
        int g = groupSize(dev, k, ELEMENTWISE_GROUP);
        dev.launch(k, new long[] {roundUp(items, g), 1, batch}, new long[] {g, 1, 1});
    }

    /**
     * One work-item per element (GPU layout: neighbours touch neighbouring addresses), or on
     * {@code -DCHUNKED} devices one per contiguous chunk of ELEMENTWISE_CHUNK floats ({@code name_chunks}).
     */
    private void elementwise(String name, long n, Object... arguments) {
        boolean chunked = dev.cpuLayout();
        cl_kernel k = dev.kernel("linalg", chunked ? name + "_chunks" : name, options);
        args(k, arguments);
        if (chunked) {
            long items = (n + ELEMENTWISE_CHUNK - 1) / ELEMENTWISE_CHUNK;
            int g = items >= CHUNK_GROUP ? groupSize(dev, k, CHUNK_GROUP) : 1;
            dev.launch(k, new long[] {roundUp(items, g)}, new long[] {g});
            return;
        }
        int g = groupSize(dev, k, ELEMENTWISE_GROUP);
        dev.launch(k, new long[] {roundUp(n, g)}, new long[] {g});
    }

    @Override
    protected void doAxpy(float alpha, Tensor x, Tensor y, long n) {
        elementwise("axpy", n, alpha, x, y, n);
    }

    @Override
    protected void doScale(float alpha, Tensor x, long n) {
        elementwise("scale", n, alpha, x, n);
    }

    @Override
    protected void doFill(Tensor x, float value, long n) {
        elementwise("fill", n, x, value, n);
    }
}
