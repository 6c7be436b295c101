package dev.nola.kernels;

/** The random family: the seeded basis of {@link Philox}. Bit-identical on every backend. */
public interface RandomOps {

    /**
     * Generates basis matrices {@code firstIndex .. firstIndex+count-1} of a stream. Bit-identical.
     *
     * @param stream     the seeded stream (seed, stream id, domain, scale)
     * @param firstIndex the index of the first matrix, &gt;= 0
     * @param count      how many matrices, &gt; 0
     * @param out        [count, n] (any shape of count·n elements): {@code out[j*n + e]} = element
     *                   {@code e} of matrix {@code firstIndex + j}; n = out.size() / count
     */
    void basis(BasisStream stream, int firstIndex, int count, Tensor out);
}
