package dev.nola.kernels;

/**
 * The element types a {@link Tensor} can hold. float32 and int32 are 4 bytes wide; bfloat16 is 2 (the
 * top half of a float32), a storage type for frozen weights only: the host writes and reads it as
 * float[] (rounded to nearest even on the way in, {@link BFloat16}), and only the ops that say so
 * accept it (matmul's B, the embedding table of {@code encoderForward}); every other op refuses it.
 */
public enum DType {
    /** IEEE-754 binary32: activations, weights, gradients, coefficients. */
    FLOAT32(4, "float32"),
    /** Two's-complement 32-bit integers: token ids, labels. */
    INT32(4, "int32"),
    /** bfloat16: sign, 8 exponent bits, 7 mantissa bits; frozen base weights ({@code --weights bf16}). */
    BF16(2, "bfloat16");

    private final int bytes;
    private final String label;

    DType(int bytes, String label) {
        this.bytes = bytes;
        this.label = label;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** The lower-case name used in messages and files ({@code float32}, {@code int32}, {@code bfloat16}). */
    public String label() {
        return label;
    }
}
