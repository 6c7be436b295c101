package dev.nola.kernels;

/** The element types a {@link Tensor} can hold; both are 4 bytes wide. */
public enum DType {
    /** IEEE-754 binary32: activations, weights, gradients, coefficients. */
    FLOAT32,
    /** Two's-complement 32-bit integers: token ids, labels. */
    INT32;

    /** Bytes per element. */
    public int bytes() {
        return 4;
    }

    /** The lower-case name used in messages and files ({@code float32}, {@code int32}). */
    public String label() {
        return this == FLOAT32 ? "float32" : "int32";
    }
}
