package dev.nola.adapter.optim;

/**
 * AdamW (Loshchilov and Hutter) on a flat host array of parameters, with bias correction and
 * decoupled weight decay: for step t (from 1),
 * <pre>
 *   m = β1·m + (1−β1)·g,   v = β2·v + (1−β2)·g²
 *   m̂ = m / (1−β1^t),      v̂ = v / (1−β2^t)
 *   p = p − lr·(m̂ / (√v̂ + ε) + λ·p)
 * </pre>
 * Adapter parameters are small (k + l per layer for NOLA), so the update runs on the host in double
 * precision per element and stores float32.
 */
public final class AdamW {

    private final double beta1;
    private final double beta2;
    private final double epsilon;
    private final double weightDecay;
    private final float[] m;
    private final float[] v;
    private long step;

    /**
     * @param size        the number of parameters, ≥ 0
     * @param beta1       in [0, 1)
     * @param beta2       in [0, 1)
     * @param epsilon     &gt; 0
     * @param weightDecay λ, ≥ 0 (decoupled: multiplied by the learning rate, not added to the gradient)
     */
    public AdamW(int size, double beta1, double beta2, double epsilon, double weightDecay) {
        if (size < 0) {
            throw new IllegalArgumentException("size must be >= 0, got " + size);
        }
        if (!(beta1 >= 0 && beta1 < 1)) {
            throw new IllegalArgumentException("beta1 must be in [0, 1), got " + beta1);
        }
        if (!(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
        }
        if (!(epsilon > 0) || Double.isInfinite(epsilon)) {
            throw new IllegalArgumentException("epsilon must be finite and > 0, got " + epsilon);
        }
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("weightDecay must be finite and >= 0, got " + weightDecay);
        }
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
        this.weightDecay = weightDecay;
        this.m = new float[size];
        this.v = new float[size];
    }

    /** The NOLA GPT-2 script's settings: β1 0.9, β2 0.999, ε 1e-6, no weight decay. */
    public static AdamW nolaDefaults(int size) {
        return new AdamW(size, 0.9, 0.999, 1e-6, 0.0);
    }

    /** Steps taken so far. */
    public long steps() {
        return step;
    }

    /**
     * One update in place.
     *
     * @param params    [size], updated
     * @param grads     [size], finite
     * @param learningRate finite, ≥ 0
     * @throws IllegalArgumentException on a length mismatch or a non-finite gradient (naming its index);
     *                                  nothing is updated then
     */
    public void step(float[] params, float[] grads, double learningRate) {
        if (params == null || grads == null) {
            throw new IllegalArgumentException("params and grads must not be null");
        }
        if (params.length != m.length || grads.length != m.length) {
            throw new IllegalArgumentException("params has " + params.length + " and grads " + grads.length
                    + " elements, expected " + m.length);
        }
        if (!(learningRate >= 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learningRate must be finite and >= 0, got " + learningRate);
        }
        for (int i = 0; i < grads.length; i++) {
            if (!Float.isFinite(grads[i])) {
                throw new IllegalArgumentException("grads[" + i + "] is " + grads[i] + " at step " + (step + 1)
                        + "; refusing to update with a non-finite gradient");
            }
        }
        step++;
        double c1 = 1 - Math.pow(beta1, step);
        double c2 = 1 - Math.pow(beta2, step);
        for (int i = 0; i < params.length; i++) {
            double g = grads[i];
            double mi = beta1 * m[i] + (1 - beta1) * g;
            double vi = beta2 * v[i] + (1 - beta2) * g * g;
            m[i] = (float) mi;
            v[i] = (float) vi;
            double update = (mi / c1) / (Math.sqrt(vi / c2) + epsilon) + weightDecay * params[i];
            params[i] = (float) (params[i] - learningRate * update);
        }
    }
}
