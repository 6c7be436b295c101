package dev.nola.models.transformer;

import dev.nola.kernels.Device;
import dev.nola.kernels.LinalgOps;
import dev.nola.kernels.Tensor;
import dev.nola.models.spec.Layout;
import dev.nola.models.spec.LinearSpec;

/**
 * A linear layer on the device, y = x·op(W) + b, in either stored layout, possibly a slice of a fused
 * weight: a Conv1D layer is columns {@code offset .. offset + out − 1} of a weight [in, stored] (read in
 * place through its leading dimension), a Linear one rows {@code offset ..} of a weight [stored, in]
 * (a contiguous range). No copy either way.
 *
 * @param spec   the layer
 * @param weight the stored weight (Conv1D [in, stored], Linear [stored, in])
 * @param bias   the stored bias [stored], or null
 */
public record Linear(LinearSpec spec, Tensor weight, Tensor bias) {

    /** The layer of a spec over the device weights. */
    public static Linear of(LinearSpec spec, DeviceWeights w) {
        return new Linear(spec, w.get(spec.weight()), spec.bias() == null ? null : w.get(spec.bias()));
    }

    private boolean conv1d() {
        return spec.layout() == Layout.CONV1D;
    }

    /** The stored weight from this layer's first element on. */
    private static Tensor from(Tensor stored, LinearSpec s) {
        long first = s.layout() == Layout.CONV1D ? s.offset() : (long) s.offset() * s.in();
        return stored.view(first, (int) (stored.size() - first));
    }

    private int ld() {
        return conv1d() ? spec.stored() : spec.in();
    }

    /** y [N, out] = x [N, in]·op(W) + b (written). */
    public void forward(Device d, Tensor x, Tensor y) {
        int n = x.dim(0);
        int in = spec.in();
        int out = spec.out();
        d.linalg().matmulBatched(false, !conv1d(), 1, n, out, in, 1f, x, in, 0, from(weight, spec), ld(), 0, 0f, y, out, 0);
        if (bias != null) {
            d.nn().biasForward(y, bias.view(spec.offset(), out));
        }
    }

    /**
     * Backward: {@code dx += dy·op(W)ᵀ}, and when given, {@code dweight += ∂} and {@code dbias += Σ dy}
     * (dweight and dbias have the stored shapes; this layer's slice of them is updated).
     *
     * @param dx      [N, in] accumulated, or null
     * @param dweight the stored weight's gradient, accumulated, or null (frozen)
     * @param dbias   the stored bias's gradient, accumulated, or null
     */
    public void backward(Device d, Tensor x, Tensor dy, Tensor dx, Tensor dweight, Tensor dbias) {
        int n = x.dim(0);
        int in = spec.in();
        int out = spec.out();
        LinalgOps l = d.linalg();
        Tensor w = from(weight, spec);
        if (dx != null) {
            if (conv1d()) {
                l.matmulBatched(false, true, 1, n, in, out, 1f, dy, out, 0, w, ld(), 0, 1f, dx, in, 0);
            } else {
                l.matmulBatched(false, false, 1, n, in, out, 1f, dy, out, 0, w, ld(), 0, 1f, dx, in, 0);
            }
        }
        if (dweight != null) {
            if (conv1d()) {
                l.matmulBatched(true, false, 1, in, out, n, 1f, x, in, 0, dy, out, 0, 1f, from(dweight, spec), ld(), 0);
            } else {
                l.matmulBatched(true, false, 1, out, in, n, 1f, dy, out, 0, x, in, 0, 1f, from(dweight, spec), ld(), 0);
            }
        }
        if (dbias != null) {
            d.nn().biasBackward(dy, dbias.view(spec.offset(), out));
        }
    }

    /**
     * Adds {@code delta} (nn.Linear's [out, in], as an adapter's ΔW) into this layer's part of a host copy
     * of the stored weight, in the stored layout.
     */
    public static void addDelta(LinearSpec s, float[] stored, float[] delta) {
        int in = s.in();
        int out = s.out();
        if (delta.length != in * out) {
            throw new IllegalArgumentException("ΔW has " + delta.length + " floats; expected out·in = " + out * in);
        }
        for (int r = 0; r < out; r++) {
            for (int i = 0; i < in; i++) {
                if (s.layout() == Layout.CONV1D) {
                    stored[i * s.stored() + s.offset() + r] += delta[r * in + i];
                } else {
                    stored[(s.offset() + r) * in + i] += delta[r * in + i];
                }
            }
        }
    }
}
