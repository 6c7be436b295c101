package dev.nola.kernels;

/**
 * The optim family: what a training step does to its parameters on the device, so that nothing but
 * the loss (and, for a guard, one norm) is read back. Elementwise ops are within a few ulp of the
 * reference; the norm is a reduction in a fixed order per backend.
 */
public interface OptimOps {

    /**
     * One AdamW update in place, elementwise: with {@code g = grad·gradScale[0]} (or {@code grad} when
     * gradScale is null),
     * <pre>
     *   m = β1·m + (1−β1)·g,        v = β2·v + (1−β2)·g²
     *   p = p − lr·( (m / c1) / (√(v / c2) + ε) + λ·p )
     * </pre>
     * with c1, c2 the bias corrections of {@code step}.
     *
     * @param param     [n], updated
     * @param grad      [n], read
     * @param m         [n], the first moment, updated (zero before the first step)
     * @param v         [n], the second moment, updated (zero before the first step)
     * @param step      the step's scalars
     * @param gradScale [1] or null: a factor applied to the gradient (the clipping factor of
     *                  {@link #clipFactor}), read on the device
     */
    void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step, Tensor gradScale);

    /**
     * {@code sum[0] += Σ x[i]²}: one term of a global gradient norm, accumulated over several
     * tensors on the device. A non-finite element makes the sum non-finite.
     *
     * @param x   [n]
     * @param sum [1], accumulated
     */
    void sumOfSquares(Tensor x, Tensor sum);

    /**
     * The clipping factor of a global norm: {@code factor[0] = min(1, maxNorm / (√sum[0] + 1e-6))},
     * as torch's {@code clip_grad_norm_}; NaN when {@code sum[0]} is not finite, so that a guard can
     * see it and a step taken with it cannot pass unnoticed.
     *
     * @param sum     [1], a sum of squares from {@link #sumOfSquares}
     * @param maxNorm finite, &gt; 0
     * @param factor  [1], written
     */
    void clipFactor(Tensor sum, float maxNorm, Tensor factor);

    /**
     * Per-vector max-abs fake quantization (quantize, then dequantize), the forward values of
     * quantization-aware training: with L = 2^(bits−1) − 1 and step = max|x| / L,
     * {@code out[i] = clamp(round(x[i] / step), −L, L) · step}, round halves up as Java's
     * {@code Math.round}; all zeros when max|x| = 0.
     *
     * @param x    [n], finite
     * @param bits 2..8
     * @param out  [n]; may be x itself
     */
    void fakeQuantize(Tensor x, int bits, Tensor out);
}
