package dev.nola.kernels;

/**
 * The op contract: every backend implements every op with the same semantics, checked against the
 * {@code reference} backend by one contract test suite.
 *
 * <p>Conventions. Tensors are float32, row-major, and all belong to this ops' device. "Bit-identical"
 * ops produce the same bits on every backend; the others agree with the reference within the
 * tolerance stated in the contract tests (their summation order may differ). Unless an op says
 * otherwise, outputs must not alias inputs. Every op checks its arguments before it runs and fails
 * with {@link IllegalArgumentException} (bad shape, size, value) or {@link IllegalStateException}
 * (closed device or tensor), naming the argument and the value.
 *
 * <p>Shapes below use {@code k} for a number of basis matrices and {@code n} for the elements of
 * one (rows·cols), {@code N} for tokens, {@code in}/{@code out} for a layer's widths, {@code r} for
 * the adapter rank.
 */
public interface Ops {

    // ---------------------------------------------------------------- random

    /**
     * Generates basis matrices {@code firstIndex .. firstIndex+count-1} of a stream. Bit-identical.
     *
     * @param stream     the seeded stream (seed, stream id, domain, scale)
     * @param firstIndex the index of the first matrix, &gt;= 0
     * @param count      how many matrices, &gt; 0
     * @param out        [count, n] (any shape of count·n elements): {@code out[j*n + e]} = element
     *                   {@code e} of matrix {@code firstIndex + j}; n = out.size() / count
     */
    void basis(BasisStream stream, int firstIndex, int count, Tensor out);

    // ---------------------------------------------------------------- nola

    /**
     * Mixes basis matrices: {@code out[e] = offset[e] + Σ_{i=0..k-1} c[i]·basis[i][e]}, accumulated
     * in ascending i with one fused multiply-add per term (starting from 0 when offset is null).
     * Bit-identical.
     *
     * @param coefficients [k]
     * @param basis        [k, n]
     * @param offset       [n] or null; may be the same tensor as {@code out} (in-place add)
     * @param out          [n]
     */
    void mix(Tensor coefficients, Tensor basis, Tensor offset, Tensor out);

    /**
     * Fused generate-and-mix: the same result as {@link #basis} of matrices {@code 0..k-1} followed
     * by {@link #mix}, bit for bit, without materialising the [k, n] basis.
     *
     * @param coefficients [k]
     * @param stream       the stream of the basis matrices
     * @param offset       [n] or null; may be {@code out}
     * @param out          [n]
     */
    void mixGenerated(Tensor coefficients, BasisStream stream, Tensor offset, Tensor out);

    /**
     * Coefficient gradient: {@code out[i] = ⟨basis[i], grad⟩ = Σ_e basis[i][e]·grad[e]}.
     * Within tolerance of the reference (summation order may differ).
     *
     * @param basis [k, n]
     * @param grad  [n], the gradient of the loss with respect to the mixed matrix
     * @param out   [k]
     */
    void coefficientGradient(Tensor basis, Tensor grad, Tensor out);

    /**
     * Fused generate-and-gradient: {@link #coefficientGradient} against matrices {@code 0..k-1} of
     * {@code stream}, without materialising them; k = out.size().
     *
     * @param stream the stream of the basis matrices
     * @param grad   [n]
     * @param out    [k]
     */
    void coefficientGradientGenerated(BasisStream stream, Tensor grad, Tensor out);

    // ---------------------------------------------------------------- linalg

    /**
     * The sgemm contract: {@code C = alpha·op(A)·op(B) + beta·C}, op(X) = X or Xᵀ. When
     * {@code beta == 0} C is not read (NaN in C does not propagate), as in BLAS.
     *
     * @param transA whether op(A) = Aᵀ; A is [m, k] or, transposed, [k, m]
     * @param transB whether op(B) = Bᵀ; B is [k, n] or, transposed, [n, k]
     * @param alpha  finite
     * @param a      the matrix A
     * @param b      the matrix B
     * @param beta   finite
     * @param c      [m, n], must not alias A or B
     */
    void matmul(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c);

    /**
     * LoRA-style adapter forward, batched over N tokens: {@code h = x·Aᵀ} and {@code y += s·h·Bᵀ}.
     *
     * @param x     [N, in], the layer input
     * @param a     [r, in], the (mixed) down factor
     * @param b     [out, r], the (mixed) up factor
     * @param scale s, finite
     * @param h     [N, r], written: the low-rank activation, kept for the backward pass
     * @param y     [N, out], accumulated: the frozen layer's output, to which the update is added
     */
    void adapterForward(Tensor x, Tensor a, Tensor b, float scale, Tensor h, Tensor y);

    /**
     * LoRA-style adapter backward. With G = dy: {@code dB = s·Gᵀ·h}, {@code dh = s·G·B},
     * {@code dA = dhᵀ·x}, {@code dx += dh·A}.
     *
     * @param x     [N, in] as in the forward
     * @param a     [r, in]
     * @param b     [out, r]
     * @param scale s, finite
     * @param h     [N, r] from the forward
     * @param dy    [N, out], the gradient of the loss with respect to y
     * @param dh    [N, r], written (workspace; holds dL/dh afterwards)
     * @param dx    [N, in], accumulated; may be null when the input gradient is not needed
     * @param da    [r, in], written
     * @param db    [out, r], written
     */
    void adapterBackward(Tensor x, Tensor a, Tensor b, float scale, Tensor h, Tensor dy,
                         Tensor dh, Tensor dx, Tensor da, Tensor db);
}
