package dev.nola.kernels;

/**
 * Names one family of seeded basis matrices: basis matrix {@code i} of this stream has elements
 * {@code scale * Philox.uniform(...)} at counters {@code (e/4, i, stream, domain)} under key
 * {@code seed} (see {@link Philox}).
 *
 * @param seed   the 64-bit seed (an unsigned value; any bit pattern is allowed)
 * @param stream a 32-bit stream id (unsigned) naming the matrix family: module, factor, layer
 * @param domain a 32-bit domain (unsigned) separating uses: {@link #DOMAIN_BASIS}, {@link #DOMAIN_OFFSET}, …
 * @param scale  the factor applied to every element, finite
 */
public record BasisStream(long seed, int stream, int domain, float scale) {

    /** Domain of the trainable-coefficient bases. */
    public static final int DOMAIN_BASIS = 0;
    /** Domain of the frozen offset matrix (the OFFSET init scheme's A₀). */
    public static final int DOMAIN_OFFSET = 1;

    public BasisStream {
        if (!Float.isFinite(scale)) {
            throw new IllegalArgumentException("scale must be finite, got " + scale);
        }
    }

    /** The same stream with another scale. */
    public BasisStream withScale(float newScale) {
        return new BasisStream(seed, stream, domain, newScale);
    }

    /** Element {@code element} of basis matrix {@code index}, scaled; one block per call (slow). */
    public float element(int index, long element) {
        return Philox.unscaledElement(seed, stream, domain, index, element) * scale;
    }
}
