package dev.nola.adapter.optim;

import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;

/**
 * Clipping by the global L2 norm of a {@link ParameterSet}'s gradients (as torch's
 * {@code clip_grad_norm_}), computed on the device: the sum of squares over every gradient, then
 * the factor {@code min(1, maxNorm / (norm + 1e-6))} that {@link AdamW#step(double, Tensor)} applies.
 * Nothing is read back unless the caller asks for the {@link #norm()}.
 */
public final class GradientClipping implements AutoCloseable {

    private final ParameterSet parameters;
    private final float maxNorm;
    private final Tensor sum;
    private final Tensor factor;

    /**
     * @param maxNorm the largest global norm, finite and &gt; 0
     */
    public GradientClipping(ParameterSet parameters, double maxNorm) {
        this.parameters = Checks.notNull("parameters", parameters);
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) {
            throw new IllegalArgumentException("maxNorm must be finite and > 0, got " + maxNorm);
        }
        this.maxNorm = (float) maxNorm;
        Device d = parameters.device();
        this.sum = d.allocate(1);
        this.factor = d.allocate(1);
    }

    /** Computes the global norm of the current gradients and returns the [1] factor tensor (owned by this object). */
    public Tensor clipFactor() {
        Device d = parameters.device();
        d.linalg().fill(sum, 0f);
        for (Parameter p : parameters.list()) {
            d.optim().sumOfSquares(p.grad(), sum);
        }
        d.optim().clipFactor(sum, maxNorm, factor);
        return factor;
    }

    /** The norm of the last {@link #clipFactor()} (reads one float back; NaN or ∞ when a gradient was). */
    public double norm() {
        return Math.sqrt(parameters.device().read(sum)[0]);
    }

    @Override
    public void close() {
        sum.close();
        factor.close();
    }
}
