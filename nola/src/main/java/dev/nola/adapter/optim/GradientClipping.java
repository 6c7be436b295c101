package dev.nola.adapter.optim;

/**
 * Clipping by global L2 norm over several gradient arrays (as torch's clip_grad_norm_): when the norm
 * exceeds {@code maxNorm}, every element is multiplied by maxNorm / norm.
 */
public final class GradientClipping {

    private GradientClipping() {
    }

    /** The global L2 norm (accumulated in double). */
    public static double norm(float[]... grads) {
        double sum = 0;
        for (float[] g : grads) {
            for (float x : g) {
                sum += (double) x * x;
            }
        }
        return Math.sqrt(sum);
    }

    /**
     * Scales the gradients in place so their global norm is at most {@code maxNorm}.
     *
     * @return the norm before clipping (NaN or infinite when a gradient is; nothing is scaled then)
     */
    public static double clip(double maxNorm, float[]... grads) {
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) {
            throw new IllegalArgumentException("maxNorm must be finite and > 0, got " + maxNorm);
        }
        double n = norm(grads);
        if (Double.isFinite(n) && n > maxNorm) {
            double f = maxNorm / n;
            for (float[] g : grads) {
                for (int i = 0; i < g.length; i++) {
                    g[i] = (float) (g[i] * f);
                }
            }
        }
        return n;
    }
}
