package dev.nola.kernels;

/**
 * The nola family: mixing basis matrices with coefficients, and the coefficient gradients, on a
 * materialised basis or fused with its generation. Shapes: {@code k} basis matrices of {@code n}
 * elements (rows·cols of the factor).
 */
public interface NolaOps {

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
     * Fused generate-and-mix: the same result as {@link RandomOps#basis} of matrices {@code 0..k-1}
     * followed by {@link #mix}, bit for bit, without materialising the [k, n] basis.
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
     * @param out   [k], written
     */
    void coefficientGradient(Tensor basis, Tensor grad, Tensor out);

    /**
     * Fused generate-and-gradient: {@link #coefficientGradient} against matrices {@code 0..k-1} of
     * {@code stream}, without materialising them; k = out.size().
     *
     * @param stream the stream of the basis matrices
     * @param grad   [n]
     * @param out    [k], written
     */
    void coefficientGradientGenerated(BasisStream stream, Tensor grad, Tensor out);
}
