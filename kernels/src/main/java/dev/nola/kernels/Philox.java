package dev.nola.kernels;

/**
 * Philox4x32-10, the counter-based generator of Salmon et al. (SC'11), exactly as in Random123,
 * and the element layout and uniform mapping that define a NOLA basis.
 *
 * <p>This class is the specification every backend implements (generator version
 * {@value #GENERATOR_VERSION}):
 * <ul>
 *   <li>key = the 64-bit seed as two 32-bit words, low word first;</li>
 *   <li>element {@code e} of basis matrix {@code i} of stream {@code s} in domain {@code d} is lane
 *       {@code e % 4} of the block at counter {@code (e / 4, i, s, d)};</li>
 *   <li>the 32-bit output {@code w} maps to {@code ((w >>> 8) - 2^23) * 2^-23}, exact in float32 and
 *       uniform on the 2^24 points of [-1, 1); the matrix's scale is then applied by one
 *       correctly rounded float multiply.</li>
 * </ul>
 * Every step is integer arithmetic or exact / single-rounded float arithmetic, so every backend
 * produces bit-identical bases.
 */
public final class Philox {

    /** The generator's name as written into adapter files. */
    public static final String GENERATOR_NAME = "philox4x32-10/u24-symmetric";
    /** The generator's version as written into adapter files; a change of algorithm is a new version. */
    public static final int GENERATOR_VERSION = 1;

    static final int M0 = 0xD2511F53;
    static final int M1 = 0xCD9E8D57;
    static final int W0 = 0x9E3779B9;
    static final int W1 = 0xBB67AE85;
    /** 2^-23 as a float, the step of the uniform grid. */
    public static final float UNIFORM_STEP = 0x1p-23f;

    private Philox() {
    }

    /**
     * One Philox4x32-10 block.
     *
     * @param c0  counter word 0
     * @param c1  counter word 1
     * @param c2  counter word 2
     * @param c3  counter word 3
     * @param k0  key word 0
     * @param k1  key word 1
     * @param out receives the four output words
     */
    public static void block(int c0, int c1, int c2, int c3, int k0, int k1, int[] out) {
        for (int round = 0; round < 10; round++) {
            long p0 = (M0 & 0xFFFFFFFFL) * (c0 & 0xFFFFFFFFL);
            long p1 = (M1 & 0xFFFFFFFFL) * (c2 & 0xFFFFFFFFL);
            int hi0 = (int) (p0 >>> 32);
            int lo0 = (int) p0;
            int hi1 = (int) (p1 >>> 32);
            int lo1 = (int) p1;
            c0 = hi1 ^ c1 ^ k0;
            c1 = lo1;
            c2 = hi0 ^ c3 ^ k1;
            c3 = lo0;
            k0 += W0;
            k1 += W1;
        }
        out[0] = c0;
        out[1] = c1;
        out[2] = c2;
        out[3] = c3;
    }

    /**
     * Maps a 32-bit output word to the uniform grid on [-1, 1).
     *
     * @param word a Philox output word
     * @return {@code ((word >>> 8) - 2^23) * 2^-23}, exactly
     */
    public static float uniform(int word) {
        return ((word >>> 8) - 0x800000) * UNIFORM_STEP;
    }

    /**
     * Element {@code element} of basis matrix {@code index} of a stream, unscaled.
     * Slow (one block per element); for tests and for documenting the layout.
     */
    public static float unscaledElement(long seed, int stream, int domain, int index, long element) {
        int[] out = new int[4];
        block((int) (element >>> 2), index, stream, domain, (int) seed, (int) (seed >>> 32), out);
        return uniform(out[(int) (element & 3)]);
    }
}
