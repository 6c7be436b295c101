package dev.nola.adapter;

import dev.nola.adapter.optim.ParameterSet;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;

/**
 * A low-rank update of one frozen linear layer {@code y = x·Wᵀ} with {@code W [out, in]} (nn.Linear
 * layout): the adapter adds {@code s·(x·Aᵀ)·Bᵀ}, i.e. {@code ΔW = s·B·A} with {@code A [r, in]} and
 * {@code B [out, r]}. Implementations differ in what they train: {@link LoraAdapter} trains A and B,
 * {@link NolaAdapter} trains the coefficients that mix A and B from seeded bases.
 *
 * <p>Trainable parameters and their gradients live on the device as a {@link ParameterSet}
 * ({@link #parameterSet()}): an optimizer steps them there ({@link dev.nola.adapter.optim.AdamW}), so a
 * training step reads nothing back. The mixed factors follow lazily at the next {@link #forward},
 * {@link #deltaWeight} or merge, recomputed only when a parameter's version changed. The flat host
 * views {@link #parameters()}, {@link #setParameters}, {@link #gradients()} copy (for files and tests).
 *
 * <p>Not thread-safe. Tensors passed in must belong to {@link #device()}.
 */
public interface Adapter extends AutoCloseable {

    /** The device holding the factors. */
    Device device();

    /** in: columns of x and of A. */
    int inFeatures();

    /** out: columns of y, rows of B. */
    int outFeatures();

    /** r. */
    int rank();

    /** s, the factor applied to B·A. */
    float scale();

    /**
     * {@code y += s·(x·Aᵀ)·Bᵀ}. Keeps {@code x} and the low-rank activation for {@link #backward}.
     *
     * @param x [N, in], must stay unchanged until {@link #backward}
     * @param y [N, out], accumulated (holds the frozen layer's output)
     */
    void forward(Tensor x, Tensor y);

    /**
     * Backward of the last {@link #forward}: accumulates the parameter gradients (on the device, see
     * {@link #parameterSet()}) and, when {@code dx} is given, {@code dx += dL/dx}. Uses the factors of
     * that forward even if parameters were set in between.
     *
     * @param dy [N, out], dL/dy with the N of the last forward
     * @param dx [N, in], accumulated, or null
     */
    void backward(Tensor dy, Tensor dx);

    /** The trainable parameters and their accumulated gradients, on the device. */
    ParameterSet parameterSet();

    /** The number of trainable parameters. */
    int parameterCount();

    /** A copy of the trainable parameters read from the device, flat, {@link #parameterCount()} long. */
    float[] parameters();

    /** Replaces the trainable parameters (finite values, {@link #parameterCount()} long), writing them to the device. */
    void setParameters(float[] values);

    /** A copy of the accumulated gradients read from the device, laid out as {@link #parameters()}. */
    float[] gradients();

    /** Sets the accumulated gradients to zero, on the device. */
    void zeroGradients();

    /** The current mixed down factor A [r, in] (owned by the adapter; do not close or write). */
    Tensor factorA();

    /** The current mixed up factor B [out, r] (owned by the adapter; do not close or write). */
    Tensor factorB();

    /** A new tensor {@code ΔW = s·B·A} [out, in]; the caller closes it. */
    Tensor deltaWeight();

    /** {@code w += ΔW}, w [out, in]. */
    void merge(Tensor w);

    /**
     * {@code w -= ΔW}, w [out, in]. Restores the weight of before {@link #merge} only up to float
     * rounding (each element may differ by about one ulp of its magnitude), provided the parameters did
     * not change in between.
     */
    void unmerge(Tensor w);

    /** Frees the adapter's device tensors; idempotent. */
    @Override
    void close();
}
