package dev.nola.models.gpt2;

/**
 * The affine parameters of one layer norm: y = (x − mean) / sqrt(var + ε) · weight + bias over the C
 * features of a position. The arrays are the checkpoint's own (no copy).
 *
 * @param weight the gain [C]
 * @param bias   the shift [C]
 */
public record LayerNorm(float[] weight, float[] bias) {

    public LayerNorm {
        if (weight.length != bias.length || weight.length == 0) {
            throw new IllegalArgumentException("layer norm weight has " + weight.length + " floats and bias " + bias.length
                    + "; expected the same number C ≥ 1");
        }
    }

    /** C, the number of features. */
    public int size() {
        return weight.length;
    }
}
