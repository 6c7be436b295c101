package dev.nola.adapter.optim;

import dev.nola.kernels.AdamWStep;
import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW (Loshchilov and Hutter) over a {@link ParameterSet}, on the device: the moments live beside
 * the parameters and each step runs {@link dev.nola.kernels.OptimOps#adamw} per parameter, so nothing
 * is read back. For step t (from 1):
 * <pre>
 *   m = β1·m + (1−β1)·g,   v = β2·v + (1−β2)·g²
 *   m̂ = m / (1−β1^t),      v̂ = v / (1−β2^t)
 *   p = p − lr·(m̂ / (√v̂ + ε) + λ·p)
 * </pre>
 * The learning rate of each step comes from a schedule on the host; the bias corrections are computed
 * on the host in double. With clipping, g is the gradient times the factor of {@link GradientClipping}.
 */
public final class AdamW implements AutoCloseable {

    private final ParameterSet parameters;
    private final double beta1;
    private final double beta2;
    private final double epsilon;
    private final double weightDecay;
    private final List<Tensor> m = new ArrayList<>();
    private final List<Tensor> v = new ArrayList<>();
    private long step;

    /**
     * @param parameters  what to train; moments are allocated now, zero
     * @param beta1       in [0, 1)
     * @param beta2       in [0, 1)
     * @param epsilon     &gt; 0
     * @param weightDecay λ, ≥ 0 (decoupled: multiplied by the learning rate, not added to the gradient)
     */
    public AdamW(ParameterSet parameters, double beta1, double beta2, double epsilon, double weightDecay) {
        this.parameters = Checks.notNull("parameters", parameters);
        // validates the settings once, with the messages of AdamWStep
        AdamWStep.of(0, beta1, beta2, epsilon, weightDecay, 1);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
        this.weightDecay = weightDecay;
        Device d = parameters.device();
        try {
            for (Parameter p : parameters.list()) {
                m.add(d.allocate(p.value().shape()));
                v.add(d.allocate(p.value().shape()));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The NOLA GPT-2 script's settings: β1 0.9, β2 0.999, ε 1e-6, no weight decay. */
    public static AdamW nolaDefaults(ParameterSet parameters) {
        return new AdamW(parameters, 0.9, 0.999, 1e-6, 0.0);
    }

    /** Steps taken so far. */
    public long steps() {
        return step;
    }

    /** One update of every parameter with the learning rate {@code learningRate} (finite, ≥ 0). */
    public void step(double learningRate) {
        step(learningRate, null);
    }

    /**
     * One update of every parameter, each gradient multiplied by {@code gradScale[0]} on the device
     * (the factor of {@link GradientClipping#clipFactor}), or not scaled when it is null.
     */
    public void step(double learningRate, Tensor gradScale) {
        AdamWStep s = AdamWStep.of(learningRate, beta1, beta2, epsilon, weightDecay, step + 1);
        List<Parameter> list = parameters.list();
        if (list.size() != m.size()) {
            throw new IllegalStateException("the parameter set has " + list.size() + " parameters; this optimizer was made for "
                    + m.size());
        }
        for (int i = 0; i < list.size(); i++) {
            Parameter p = list.get(i);
            parameters.device().optim().adamw(p.value(), p.grad(), m.get(i), v.get(i), s, gradScale);
            p.touch();
        }
        step++;
    }

    /** The moments of parameter i (m, v), for checkpoints. */
    public Tensor[] moments(int i) {
        return new Tensor[] {m.get(i), v.get(i)};
    }

    /** Sets the step count (when resuming from a checkpoint whose moments were loaded). */
    public void restoreSteps(long steps) {
        if (steps < 0) {
            throw new IllegalArgumentException("steps must be >= 0, got " + steps);
        }
        this.step = steps;
    }

    /** Frees the moments. */
    @Override
    public void close() {
        m.forEach(Tensor::close);
        v.forEach(Tensor::close);
    }
}
