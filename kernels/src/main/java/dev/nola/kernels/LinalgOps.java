package dev.nola.kernels;

/**
 * The linalg family: the sgemm contract (plain and strided-batched, as in BLAS and cuBLAS) and the
 * level-1 updates that training needs. Every tensor may be a view; row-major throughout. Results are
 * within tolerance of the reference (summation order may differ).
 */
public interface LinalgOps {

    /**
     * {@code C = alpha·op(A)·op(B) + beta·C}, op(X) = X or Xᵀ. When {@code beta == 0} C is not read
     * (NaN in C does not propagate), as in BLAS.
     *
     * @param transA whether op(A) = Aᵀ; A is [m, k] or, transposed, [k, m]
     * @param transB whether op(B) = Bᵀ; B is [k, n] or, transposed, [n, k]
     * @param alpha  finite
     * @param a      the matrix A (rank 2)
     * @param b      the matrix B (rank 2), float32 or bfloat16 (a frozen weight, widened exactly; A and C stay float32)
     * @param beta   finite
     * @param c      [m, n], must not overlap A or B
     */
    void matmul(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c);

    /**
     * Strided batched matmul: for q = 0..batch-1, {@code C_q = alpha·op(A_q)·op(B_q) + beta·C_q}, where
     * element (i, j) of the stored matrix X_q is {@code x[q·strideX + i·ldX + j]}, indexed from the
     * tensor's own first element (a view may start anywhere). A_q is stored [m, k] (or [k, m] when
     * transposed), B_q [k, n] (or [n, k]), C_q [m, n]. A stride of 0 reuses one A or B for every batch.
     * Heads of an attention layer are such batches: Q of head h is {@code q} at offset h·headSize with
     * ld = C.
     *
     * @param batch   &gt; 0
     * @param m       rows of C_q, &gt; 0
     * @param n       columns of C_q, &gt; 0
     * @param k       the inner dimension, &gt; 0
     * @param lda     row stride of stored A_q, &gt;= its columns
     * @param strideA element stride between A_q, &gt;= 0
     * @param b       float32 or bfloat16, as in {@link #matmul}
     * @param ldc     row stride of C_q, &gt;= n
     * @param strideC element stride between C_q; the C_q must not overlap one another
     */
    void matmulBatched(boolean transA, boolean transB, int batch, int m, int n, int k, float alpha,
                       Tensor a, int lda, long strideA, Tensor b, int ldb, long strideB,
                       float beta, Tensor c, int ldc, long strideC);

    /** {@code y += alpha·x}; x and y have the same size and do not overlap; alpha finite. */
    void axpy(float alpha, Tensor x, Tensor y);

    /** {@code x *= alpha}; alpha finite. */
    void scale(float alpha, Tensor x);

    /** Sets every element of the float32 tensor {@code x} to {@code value} (any float, NaN included). */
    void fill(Tensor x, float value);
}
