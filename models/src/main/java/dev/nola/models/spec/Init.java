package dev.nola.models.spec;

/**
 * How a fresh model initialises one tensor.
 *
 * @param kind the rule
 * @param std  the standard deviation of {@link Kind#NORMAL}, else 0
 */
public record Init(Kind kind, double std) {

    /** The rules. */
    public enum Kind {
        /** Every element 0 (biases). */
        ZEROS,
        /** Every element 1 (norm gains). */
        ONES,
        /** Independent N(0, std²) draws, in the spec's draw order. */
        NORMAL
    }

    public Init {
        if (kind == null) {
            throw new IllegalArgumentException("init kind is null; expected ZEROS, ONES or NORMAL");
        }
        if (kind == Kind.NORMAL ? !(std > 0) || !Double.isFinite(std) : std != 0) {
            throw new IllegalArgumentException("init " + kind + " has std " + std + "; expected a finite std > 0 for NORMAL, 0 otherwise");
        }
    }

    /** All zeros. */
    public static final Init ZEROS = new Init(Kind.ZEROS, 0);
    /** All ones. */
    public static final Init ONES = new Init(Kind.ONES, 0);

    /** N(0, std²). */
    public static Init normal(double std) {
        return new Init(Kind.NORMAL, std);
    }
}
