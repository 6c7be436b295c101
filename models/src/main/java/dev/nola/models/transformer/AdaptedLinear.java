package dev.nola.models.transformer;

import dev.nola.adapter.Adapter;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.models.spec.LinearSpec;

/**
 * A frozen (or, in pretraining, trained) linear layer and the adapter that sits on it, if any — PEFT's
 * {@code LoraLayer} idea: y = x·op(W) + b + adapter(x).
 *
 * @param base    the linear layer
 * @param adapter its adapter, or null
 * @param dweight the stored weight's gradient (pretraining), or null
 * @param dbias   the stored bias's gradient (pretraining), or null
 */
record AdaptedLinear(Linear base, Adapter adapter, Tensor dweight, Tensor dbias) {

    static AdaptedLinear of(LinearSpec spec, DeviceWeights w, DeviceWeights grads, Adapter adapter) {
        if (adapter != null && (adapter.inFeatures() != spec.in() || adapter.outFeatures() != spec.out())) {
            throw new IllegalArgumentException("adapter " + spec.site() + " is [" + adapter.inFeatures() + " -> "
                    + adapter.outFeatures() + "]; this model's " + spec.module() + " is [" + spec.in() + " -> " + spec.out() + "]");
        }
        return new AdaptedLinear(Linear.of(spec, w), adapter,
                grads == null ? null : grads.get(spec.weight()),
                grads == null || spec.bias() == null ? null : grads.get(spec.bias()));
    }

    /** y [N, out] = x·op(W) + b, then the adapter adds into it. */
    void forward(Device d, Tensor x, Tensor y) {
        base.forward(d, x, y);
        if (adapter != null) {
            adapter.forward(x, y);
        }
    }

    /**
     * Inference with adapters per row: y [N, out] = x·op(W) + b over every row at once, then the
     * fixed adapter (if any), then each segment's factors of this layer's site add into that
     * segment's rows (views, no copy).
     *
     * @param rows which rows get which factors; null for none
     * @param h    scratch of at least N·r floats for the largest rank r in {@code rows}
     */
    void forward(Device d, Tensor x, Tensor y, RowAdapters rows, Tensor h) {
        forward(d, x, y);
        if (rows == null) {
            return;
        }
        int in = base.spec().in();
        int out = base.spec().out();
        String site = base.spec().site();
        for (RowAdapters.Segment s : rows.segments()) {
            RowAdapters.Factors f = site == null ? null : s.sites().get(site);
            if (f == null) {
                continue;
            }
            if (f.a().dim(1) != in || f.b().dim(0) != out) {
                throw new IllegalArgumentException("factors for " + site + " are A " + java.util.Arrays.toString(f.a().shape())
                        + ", B " + java.util.Arrays.toString(f.b().shape()) + "; this layer is [" + in + " -> " + out + "]");
            }
            d.adapter().forward(x.view((long) s.row0() * in, s.rows(), in), f.a(), f.b(), f.scale(),
                    h.view(0, s.rows(), f.rank()), y.view((long) s.row0() * out, s.rows(), out));
        }
    }

    /**
     * Whether {@link #backward} reads its input x: for the weight gradient, or for the adapter's (which
     * holds on to the forward's x). When not, the forward's x need not outlive the forward.
     */
    boolean readsInput() {
        return adapter != null || dweight != null;
    }

    /** The base layer's backward: dx += dy·op(W)ᵀ, weight gradients when training. */
    void backwardBase(Device d, Tensor x, Tensor dy, Tensor dx) {
        base.backward(d, x, dy, dx, dweight, dbias);
    }

    /** The adapter's backward: its parameter gradients, and dx += its input gradient. */
    void backwardAdapter(Tensor dy, Tensor dx) {
        if (adapter != null) {
            adapter.backward(dy, dx);
        }
    }

    /** The base's backward, then the adapter's. */
    void backward(Device d, Tensor x, Tensor dy, Tensor dx) {
        backwardBase(d, x, dy, dx);
        backwardAdapter(dy, dx);
    }
}
