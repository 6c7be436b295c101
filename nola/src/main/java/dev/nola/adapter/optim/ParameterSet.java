package dev.nola.adapter.optim;

import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The trainable parameters of a model or adapter on one device, in a fixed order: what an optimizer
 * steps ({@link AdamW}), what {@link GradientClipping} measures, what a checkpoint saves. Holds no
 * memory of its own; the parameters' owners close them.
 */
public final class ParameterSet {

    private final Device device;
    private final List<Parameter> parameters = new ArrayList<>();

    public ParameterSet(Device device) {
        this.device = Checks.notNull("device", device);
    }

    /** A set of the given parameters, in order. */
    public static ParameterSet of(Device device, List<Parameter> parameters) {
        ParameterSet s = new ParameterSet(device);
        parameters.forEach(s::add);
        return s;
    }

    /**
     * Appends a parameter. Its tensors must live where the set's others do (the ops check each
     * tensor's device when they run; a decorating device may hand out its inner device's tensors).
     */
    public ParameterSet add(Parameter p) {
        Checks.notNull("parameter", p);
        Device owner = p.value().device();
        if (p.grad().device() != owner || !parameters.isEmpty() && parameters.get(0).value().device() != owner) {
            throw new IllegalArgumentException("parameter " + p.name() + " lives on device " + owner.id()
                    + ", unlike the others of this set");
        }
        parameters.add(p);
        return this;
    }

    /** Appends every parameter of another set. */
    public ParameterSet addAll(ParameterSet other) {
        other.parameters.forEach(this::add);
        return this;
    }

    /** The device. */
    public Device device() {
        return device;
    }

    /** The parameters, in order (unmodifiable). */
    public List<Parameter> list() {
        return Collections.unmodifiableList(parameters);
    }

    /** Total number of trainable numbers. */
    public long count() {
        long n = 0;
        for (Parameter p : parameters) {
            n += p.size();
        }
        return n;
    }

    /** Sets every gradient to zero, on the device. */
    public void zeroGradients() {
        for (Parameter p : parameters) {
            device.linalg().fill(p.grad(), 0f);
        }
    }
}
