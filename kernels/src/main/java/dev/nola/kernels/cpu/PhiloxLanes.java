package dev.nola.kernels.cpu;

import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Philox;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Philox4x32-10 on Vector API lanes: {@link #LANES} consecutive blocks of one basis matrix at a time,
 * one block per 64-bit lane, so the 32×32→64-bit products of a round are plain lane-wise long
 * multiplies of zero-extended words (no 16-bit splitting). The output is the scaled basis values in
 * <em>word-major</em> order: {@code dst[w·LANES + j]} is element {@code 4·(block0 + j) + w}. Consumers
 * that only need element-wise work (mixing, dot products) use that order directly and transpose
 * once; bit-identical to {@link Philox#block} followed by {@link Philox#uniform} and one multiply.
 */
final class PhiloxLanes {

    static final VectorSpecies<Long> LS = LongVector.SPECIES_PREFERRED;
    /** Blocks per step (4 with 256-bit vectors). */
    static final int LANES = LS.length();
    /** Floats with one lane per block. */
    static final VectorSpecies<Float> FS = FloatVector.SPECIES_128.length() == LANES ? FloatVector.SPECIES_128
            : VectorSpecies.of(float.class, VectorShape.forBitSize(32 * LANES));
    /** Elements per step: four words of each of LANES blocks. */
    static final int STEP = 4 * LANES;

    private static final long MASK = 0xFFFF_FFFFL;
    private static final long M0 = 0xD2511F53L;
    private static final long M1 = 0xCD9E8D57L;
    private static final LongVector IOTA = LongVector.zero(LS).addIndex(1);

    /** The per-stream constants: counter words 2 and 3, the ten round keys. */
    record Key(long c2, long c3, long[] k0, long[] k1, float scale) {

        static Key of(BasisStream s) {
            long[] k0 = new long[10];
            long[] k1 = new long[10];
            int a = (int) s.seed();
            int b = (int) (s.seed() >>> 32);
            for (int r = 0; r < 10; r++) {
                k0[r] = a & MASK;
                k1[r] = b & MASK;
                a += 0x9E3779B9;
                b += 0xBB67AE85;
            }
            return new Key(s.stream() & MASK, s.domain() & MASK, k0, k1, s.scale());
        }
    }

    private PhiloxLanes() {
    }

    /**
     * Writes the scaled values of blocks {@code block0 .. block0+LANES-1} of matrix {@code index}
     * into {@code dst[off .. off+STEP)} in word-major order.
     */
    static void fill(Key key, int block0, int index, float[] dst, int off) {
        LongVector c0 = IOTA.add(block0 & MASK);
        LongVector c1 = LongVector.broadcast(LS, index & MASK);
        LongVector c2 = LongVector.broadcast(LS, key.c2);
        LongVector c3 = LongVector.broadcast(LS, key.c3);
        long[] k0 = key.k0;
        long[] k1 = key.k1;
        for (int r = 0; r < 10; r++) {
            LongVector p0 = c0.mul(M0);
            LongVector p1 = c2.mul(M1);
            LongVector n0 = p1.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.XOR, c1).lanewise(VectorOperators.XOR, k0[r]);
            LongVector n2 = p0.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.XOR, c3).lanewise(VectorOperators.XOR, k1[r]);
            c1 = p1.and(MASK);
            c3 = p0.and(MASK);
            c0 = n0;
            c2 = n2;
        }
        float scale = key.scale;
        toFloat(c0, scale).intoArray(dst, off);
        toFloat(c1, scale).intoArray(dst, off + LANES);
        toFloat(c2, scale).intoArray(dst, off + 2 * LANES);
        toFloat(c3, scale).intoArray(dst, off + 3 * LANES);
    }

    /** ((w >>> 8) - 2^23) · 2^-23 (exact), then one rounded multiply by scale. */
    private static FloatVector toFloat(LongVector w, float scale) {
        LongVector x = w.lanewise(VectorOperators.LSHR, 8).sub(0x80_0000L);
        FloatVector f = (FloatVector) x.convertShape(VectorOperators.L2F, FS, 0);
        return f.mul(Philox.UNIFORM_STEP).mul(scale);
    }
}
