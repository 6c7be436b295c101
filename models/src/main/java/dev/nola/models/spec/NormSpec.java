package dev.nola.models.spec;

/**
 * A normalisation over the features of each position.
 *
 * @param kind   LayerNorm or RMSNorm
 * @param weight the gain's name
 * @param bias   the shift's name (LayerNorm), or null (RMSNorm has none)
 * @param eps    added to the variance (LayerNorm) or the mean square (RMSNorm); finite, &gt; 0
 */
public record NormSpec(Kind kind, String weight, String bias, float eps) {

    /** The normalisations a block may use. */
    public enum Kind {
        /** (x − mean)·rstd·w + b (GPT-2, ViT). */
        LAYER_NORM,
        /** x·rsqrt(mean(x²) + eps)·w (LLaMA). */
        RMS_NORM
    }

    public NormSpec {
        if (kind == null || weight == null) {
            throw new IllegalArgumentException("a norm needs a kind and a weight name");
        }
        if ((kind == Kind.LAYER_NORM) != (bias != null)) {
            throw new IllegalArgumentException("norm " + weight + ": LayerNorm has a bias, RMSNorm none");
        }
        if (!(eps > 0) || !Float.isFinite(eps)) {
            throw new IllegalArgumentException("norm " + weight + " has eps " + eps + "; expected a finite number > 0");
        }
    }
}
