package dev.nola.models.transformer;

import dev.nola.kernels.Device;
import dev.nola.kernels.LinalgOps;
import dev.nola.kernels.Tensor;

/**
 * A linear layer in GPT-2's Conv1D layout: weight stored [in, out] (Hugging Face's layout), y = x·W + b.
 * A layer may be a column slice of a wider stored weight (GPT-2's c_attn holds q, k and v side by side
 * as [C, 3C]): columns {@code col0 .. col0 + out − 1} of a weight with row stride {@code ld}, and the
 * matching slice of the bias; the matmuls read it in place through leading dimensions, no copy.
 *
 * @param weight the stored weight [in, ld]
 * @param bias   the stored bias [ld], or null
 * @param col0   the first column of this layer
 * @param in     input features
 * @param out    output features
 */
public record Conv1d(Tensor weight, Tensor bias, int col0, int in, int out) {

    /** A whole stored weight [in, out] with bias [out] (or null). */
    public static Conv1d of(Tensor weight, Tensor bias) {
        return new Conv1d(weight, bias, 0, weight.dim(0), weight.dim(1));
    }

    /** Columns col0 .. col0 + width − 1 of a stored weight [in, ld] and its bias. */
    public static Conv1d slice(Tensor weight, Tensor bias, int col0, int width) {
        return new Conv1d(weight, bias, col0, weight.dim(0), width);
    }

    private int ld() {
        return weight.dim(1);
    }

    private Tensor w() {
        return weight.view(col0, (int) (weight.size() - col0));
    }

    /** y [N, out] = x [N, in]·W + b (written). */
    public void forward(Device d, Tensor x, Tensor y) {
        int n = x.dim(0);
        d.linalg().matmulBatched(false, false, 1, n, out, in, 1f, x, in, 0, w(), ld(), 0, 0f, y, out, 0);
        if (bias != null) {
            d.nn().biasForward(y, bias.view(col0, out));
        }
    }

    /**
     * Backward: {@code dx += dy·Wᵀ}, and when given, {@code dweight += xᵀ·dy} and {@code dbias += Σ dy}
     * (dweight and dbias have the stored shapes of weight and bias, and this layer's slice is updated).
     *
     * @param dx      [N, in] accumulated, or null
     * @param dweight [in, ld] accumulated, or null (frozen)
     * @param dbias   [ld] accumulated, or null (frozen or no bias)
     */
    public void backward(Device d, Tensor x, Tensor dy, Tensor dx, Tensor dweight, Tensor dbias) {
        int n = x.dim(0);
        LinalgOps l = d.linalg();
        if (dx != null) {
            l.matmulBatched(false, true, 1, n, in, out, 1f, dy, out, 0, w(), ld(), 0, 1f, dx, in, 0);
        }
        if (dweight != null) {
            l.matmulBatched(true, false, 1, in, out, n, 1f, x, in, 0, dy, out, 0, 1f,
                    dweight.view(col0, (int) (dweight.size() - col0)), ld(), 0);
        }
        if (dbias != null) {
            d.nn().biasBackward(dy, dbias.view(col0, out));
        }
    }
}
