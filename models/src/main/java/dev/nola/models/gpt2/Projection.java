package dev.nola.models.gpt2;

import java.util.Arrays;

/**
 * An affine map y = x·W + b of GPT-2, held in Hugging Face's Conv1D layout: the weight is row-major
 * [in, out] (row i holds the weights from input i), the transpose of {@code nn.Linear}'s [out, in].
 * The arrays are the checkpoint's own (no copy): writing into them changes the checkpoint. Equality
 * is identity, as for any record of arrays.
 *
 * @param in     the input width (≥ 1)
 * @param out    the output width (≥ 1)
 * @param weight row-major [in, out], in·out floats (Conv1D layout, as stored in the file)
 * @param bias   [out]
 */
public record Projection(int in, int out, float[] weight, float[] bias) {

    public Projection {
        if (in < 1 || out < 1) {
            throw new IllegalArgumentException("projection is [" + in + ", " + out + "]; expected both extents ≥ 1");
        }
        if (weight.length != (long) in * out) {
            throw new IllegalArgumentException("weight has " + weight.length + " floats; expected in·out = " + in + "·" + out
                    + " = " + (long) in * out);
        }
        if (bias.length != out) {
            throw new IllegalArgumentException("bias has " + bias.length + " floats; expected out = " + out);
        }
    }

    /** A projection from an {@code nn.Linear}-layout weight [out, in] (copied and transposed) and a bias [out] (copied). */
    public static Projection ofLinear(int out, int in, float[] weightOutIn, float[] bias) {
        if (weightOutIn.length != (long) in * out) {
            throw new IllegalArgumentException("weightOutIn has " + weightOutIn.length + " floats; expected out·in = "
                    + out + "·" + in + " = " + (long) in * out);
        }
        return new Projection(in, out, transpose(weightOutIn, out, in), bias.clone());
    }

    /** A new array holding the weight in {@code nn.Linear}'s layout, row-major [out, in], so y = x·Wᵀ + b. */
    public float[] linearWeight() {
        return transpose(weight, in, out);
    }

    /**
     * A copy of output columns [first, first + count): the projection to that slice of the output, with
     * weight [in, count] and bias [count]. For {@code c_attn} the slices [0, C), [C, 2C), [2C, 3C) are
     * the query, key and value projections.
     */
    public Projection columns(int first, int count) {
        if (first < 0 || count < 1 || (long) first + count > out) {
            throw new IllegalArgumentException("columns [" + first + ", " + ((long) first + count) + ") are not within [0, "
                    + out + "); expected 0 ≤ first and first + count ≤ out with count ≥ 1");
        }
        float[] w = new float[in * count];
        for (int i = 0; i < in; i++) {
            System.arraycopy(weight, i * out + first, w, i * count, count);
        }
        return new Projection(in, count, w, Arrays.copyOfRange(bias, first, first + count));
    }

    private static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = a[r * cols + c];
            }
        }
        return t;
    }
}
