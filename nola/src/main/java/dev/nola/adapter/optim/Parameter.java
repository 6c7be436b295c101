package dev.nola.adapter.optim;

import dev.nola.kernels.Checks;
import dev.nola.kernels.Tensor;

/**
 * One trainable tensor and its gradient, both on the device, with a version that every change of the
 * value bumps (an optimizer step, a load), so that whatever is derived from the value (a NOLA
 * adapter's mixed factors) knows when to recompute without reading anything back.
 */
public final class Parameter {

    private final String name;
    private final Tensor value;
    private final Tensor grad;
    private long version;

    /**
     * @param name  a name for messages (e.g. {@code h.3.attn.q.alpha})
     * @param value the trainable values, float32
     * @param grad  the accumulated gradient, float32, the size of value
     */
    public Parameter(String name, Tensor value, Tensor grad) {
        this.name = Checks.notNull("name", name);
        this.value = Checks.notNull("value", value);
        this.grad = Checks.notNull("grad", grad);
        Checks.size("grad", grad, value.size(), "the size of " + name);
    }

    /** The name. */
    public String name() {
        return name;
    }

    /** The values on the device. */
    public Tensor value() {
        return value;
    }

    /** The accumulated gradient on the device. */
    public Tensor grad() {
        return grad;
    }

    /** Number of elements. */
    public long size() {
        return value.size();
    }

    /** Bumped by every change of {@link #value()} through this project's code. */
    public long version() {
        return version;
    }

    /** Records that the value changed. */
    public void touch() {
        version++;
    }
}
