package dev.nola.kernels;

/**
 * The scalars of one AdamW update (Loshchilov and Hutter), computed on the host for step t
 * (counted from 1): the learning rate of that step's schedule and the bias corrections
 * {@code 1 − β1^t}, {@code 1 − β2^t}. See {@link OptimOps#adamw}.
 *
 * @param learningRate  finite, &gt;= 0
 * @param beta1         in [0, 1)
 * @param beta2         in [0, 1)
 * @param epsilon       finite, &gt; 0
 * @param weightDecay   λ, finite, &gt;= 0 (decoupled: multiplied by the learning rate)
 * @param correction1   1 − β1^t, in (0, 1]
 * @param correction2   1 − β2^t, in (0, 1]
 */
public record AdamWStep(float learningRate, float beta1, float beta2, float epsilon, float weightDecay,
                        float correction1, float correction2) {

    public AdamWStep {
        if (!(learningRate >= 0) || Float.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learningRate must be finite and >= 0, got " + learningRate);
        }
        if (!(beta1 >= 0 && beta1 < 1)) {
            throw new IllegalArgumentException("beta1 must be in [0, 1), got " + beta1);
        }
        if (!(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
        }
        if (!(epsilon > 0) || Float.isInfinite(epsilon)) {
            throw new IllegalArgumentException("epsilon must be finite and > 0, got " + epsilon);
        }
        if (!(weightDecay >= 0) || Float.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("weightDecay must be finite and >= 0, got " + weightDecay);
        }
        if (!(correction1 > 0 && correction1 <= 1)) {
            throw new IllegalArgumentException("correction1 must be in (0, 1], got " + correction1);
        }
        if (!(correction2 > 0 && correction2 <= 1)) {
            throw new IllegalArgumentException("correction2 must be in (0, 1], got " + correction2);
        }
    }

    /**
     * The scalars of step {@code step} (from 1), bias corrections computed in double.
     *
     * @throws IllegalArgumentException when step &lt; 1 or a setting is out of range
     */
    public static AdamWStep of(double learningRate, double beta1, double beta2, double epsilon, double weightDecay,
                               long step) {
        if (step < 1) {
            throw new IllegalArgumentException("step must be >= 1, got " + step);
        }
        return new AdamWStep((float) learningRate, (float) beta1, (float) beta2, (float) epsilon, (float) weightDecay,
                (float) (1 - Math.pow(beta1, step)), (float) (1 - Math.pow(beta2, step)));
    }
}
