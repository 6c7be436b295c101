package dev.nola.kernels;

import static dev.nola.kernels.Checks.finite;
import static dev.nola.kernels.Checks.matrix;
import static dev.nola.kernels.Checks.noOverlap;
import static dev.nola.kernels.Checks.positive;

/**
 * The checking layer of {@link LinalgOps}. Backends implement one sgemm kernel, {@link #doMatmul}
 * (strided batched with leading dimensions; {@link #matmul} is its batch of one), and the level-1 ops.
 * B may be bfloat16 (a frozen weight): the kernel widens its elements exactly and accumulates in
 * float32, so the product is that of the widened B.
 */
public abstract class AbstractLinalgOps extends AbstractFamilyOps implements LinalgOps {

    protected AbstractLinalgOps(Device device) {
        super(device);
    }

    @Override
    public final void matmul(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        finite("alpha", alpha);
        finite("beta", beta);
        open();
        on("a", a);
        Checks.onWeight(device, "b", b);
        on("c", c);
        int[] as = matrix("a", a);
        int[] bs = matrix("b", b);
        int[] cs = matrix("c", c);
        int m = transA ? as[1] : as[0];
        int ka = transA ? as[0] : as[1];
        int kb = transB ? bs[1] : bs[0];
        int n = transB ? bs[0] : bs[1];
        if (ka != kb) {
            throw new IllegalArgumentException("inner dimensions differ: op(a) is [" + m + ", " + ka + "], op(b) is ["
                    + kb + ", " + n + "] (transA=" + transA + ", transB=" + transB + ")");
        }
        if (cs[0] != m || cs[1] != n) {
            throw new IllegalArgumentException("c has shape [" + cs[0] + ", " + cs[1] + "], expected [" + m + ", " + n
                    + "] = rows of op(a) by columns of op(b)");
        }
        noOverlap("c", c, "a", a);
        noOverlap("c", c, "b", b);
        doMatmul(transA, transB, 1, m, n, ka, alpha, a, as[1], 0, b, bs[1], 0, beta, c, n, 0);
    }

    @Override
    public final void matmulBatched(boolean transA, boolean transB, int batch, int m, int n, int k, float alpha,
                                    Tensor a, int lda, long strideA, Tensor b, int ldb, long strideB,
                                    float beta, Tensor c, int ldc, long strideC) {
        positive("batch", batch);
        positive("m", m);
        positive("n", n);
        positive("k", k);
        finite("alpha", alpha);
        finite("beta", beta);
        open();
        on("a", a);
        Checks.onWeight(device, "b", b);
        on("c", c);
        operand("a", a, batch, transA ? k : m, transA ? m : k, lda, strideA);
        operand("b", b, batch, transB ? n : k, transB ? k : n, ldb, strideB);
        operand("c", c, batch, m, n, ldc, strideC);
        if (batch > 1) {
            boolean apart = strideC >= (long) (m - 1) * ldc + n;
            boolean interleaved = strideC >= n && (batch - 1) * strideC + n <= ldc;
            if (!apart && !interleaved) {
                throw new IllegalArgumentException("strideC = " + strideC + " makes the C matrices overlap (m=" + m
                        + ", n=" + n + ", ldc=" + ldc + ", batch=" + batch + "); expected strideC >= (m-1)*ldc + n, or"
                        + " strideC >= n with every batch inside one row stride");
            }
        }
        noOverlap("c", c, "a", a);
        noOverlap("c", c, "b", b);
        doMatmul(transA, transB, batch, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC);
    }

    /** Checks that a batch of stored [rows, cols] matrices at (ld, stride) lies inside t. */
    private static void operand(String name, Tensor t, int batch, int rows, int cols, int ld, long stride) {
        if (ld < cols) {
            throw new IllegalArgumentException("ld" + name + " = " + ld + " is less than the stored matrix's " + cols
                    + " columns");
        }
        if (stride < 0) {
            throw new IllegalArgumentException("stride" + Character.toUpperCase(name.charAt(0)) + " must be >= 0, got " + stride);
        }
        long last = (batch - 1) * stride + (long) (rows - 1) * ld + cols;
        if (last > t.size()) {
            throw new IllegalArgumentException(name + " has " + t.size() + " elements, but " + batch + " matrices of ["
                    + rows + ", " + cols + "] at ld " + ld + " and stride " + stride + " reach element " + (last - 1));
        }
    }

    @Override
    public final void axpy(float alpha, Tensor x, Tensor y) {
        finite("alpha", alpha);
        open();
        on("x", x);
        on("y", y);
        Checks.size("y", y, x.size(), "x.size()");
        noOverlap("y", y, "x", x);
        doAxpy(alpha, x, y, x.size());
    }

    @Override
    public final void scale(float alpha, Tensor x) {
        finite("alpha", alpha);
        open();
        on("x", x);
        doScale(alpha, x, x.size());
    }

    @Override
    public final void fill(Tensor x, float value) {
        open();
        on("x", x);
        doFill(x, value, x.size());
    }

    /**
     * C_q = alpha·op(A_q)·op(B_q) + beta·C_q for q &lt; batch, stored as documented in
     * {@link #matmulBatched}; C not read when beta == 0. Offsets are relative to each tensor's view.
     */
    protected abstract void doMatmul(boolean transA, boolean transB, int batch, int m, int n, int k, float alpha,
                                     Tensor a, int lda, long strideA, Tensor b, int ldb, long strideB,
                                     float beta, Tensor c, int ldc, long strideC);

    /** y += alpha·x over n elements. */
    protected abstract void doAxpy(float alpha, Tensor x, Tensor y, long n);

    /** x *= alpha over n elements. */
    protected abstract void doScale(float alpha, Tensor x, long n);

    /** x = value over n elements. */
    protected abstract void doFill(Tensor x, float value, long n);
}
