package dev.nola.kernels;

/**
 * The adapter family: the LoRA-style forward and backward of a low-rank update
 * {@code y += s·(x·Aᵀ)·Bᵀ} over N tokens (NOLA mixes A and B first, with {@link NolaOps}).
 * Within tolerance of the reference.
 */
public interface AdapterOps {

    /**
     * Forward, batched over N tokens: {@code h = x·Aᵀ} and {@code y += s·h·Bᵀ}.
     *
     * @param x     [N, in], the layer input
     * @param a     [r, in], the (mixed) down factor
     * @param b     [out, r], the (mixed) up factor
     * @param scale s, finite
     * @param h     [N, r], written: the low-rank activation, kept for the backward pass
     * @param y     [N, out], accumulated: the frozen layer's output, to which the update is added
     */
    void forward(Tensor x, Tensor a, Tensor b, float scale, Tensor h, Tensor y);

    /**
     * Backward. With G = dy: {@code dB = s·Gᵀ·h}, {@code dh = s·G·B}, {@code dA = dhᵀ·x},
     * {@code dx += dh·A}.
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
    void backward(Tensor x, Tensor a, Tensor b, float scale, Tensor h, Tensor dy,
                  Tensor dh, Tensor dx, Tensor da, Tensor db);
}
