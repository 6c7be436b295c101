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
 * (GPUs), and on CPU devices op(B) packed into 16-column panels in the device workspace, then 6 × 16
 * {@code float8} register blocks straight from the caches.
 */
final class OpenClLinalgOps extends AbstractLinalgOps {

    /** Which sgemm kernel {@link #doMatmul} uses; AUTO picks PANEL on CPU devices, else by shape. Package-private for tests. */
    enum MatmulVariant { AUTO, TILED, BLOCKED, PANEL }

    /** The most rows of C the gemv kernels take (GM in linalg.cl). */
    private static final int GEMV_ROWS = 4;
    /** Rows of C per work-item of the CPU sgemm (PM in linalg.cl). */
    private static final int PANEL_ROWS = 6;
    /** Row blocks per work-group of the CPU sgemm (they share one panel of B in cache). */
    private static final int PANEL_GROUP = 8;
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
        if (v == MatmulVariant.PANEL || v == MatmulVariant.AUTO && dev.info().type() == DeviceInfo.Type.CPU) {
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
     * The CPU sgemm: op(B) of every batch packed into column panels of 16 in the workspace (n · kk
     * copies against m · n · kk multiply-adds; a bfloat16 B is widened there), then register blocks of
     * PANEL_ROWS x 16.
     */
    private void panelMatmul(boolean transA, boolean transB, int batch, int m, int n, int kk, float alpha,
                             Tensor a, int lda, long strideA, Tensor b, int ldb, long strideB,
                             float beta, Tensor c, int ldc, long strideC, String bOptions) {
        long panels = (n + 15) / 16;
        long perBatch = panels * 16 * kk;
        Tensor packed = dev.workspace("linalg.packedB", perBatch * batch);
        cl_kernel pack = dev.kernel("linalg", "pack_panels", bOptions);
        args(pack, b, ldb, strideB, packed, perBatch, transB ? 1 : 0, n, kk);
        int gp = groupSize(dev, pack, ELEMENTWISE_GROUP);
        dev.launch(pack, new long[] {roundUp(kk, gp), panels, batch}, new long[] {gp, 1, 1});
        cl_kernel k = dev.kernel("linalg", "sgemm_panel", options);
        args(k, transA ? 1 : 0, m, n, kk, alpha, a, lda, strideA, packed, perBatch, beta, c, ldc, strideC);
        long rowBlocks = (m + PANEL_ROWS - 1) / PANEL_ROWS;
        int g = (int) Math.min(groupSize(dev, k, PANEL_GROUP), rowBlocks);
        dev.launch(k, new long[] {panels, roundUp(rowBlocks, g), batch}, new long[] {1, g, 1});
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

    /** One work-item per element. */
    private void elementwise(String name, long n, Object... arguments) {
        cl_kernel k = dev.kernel("linalg", name, options);
        args(k, arguments);
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
