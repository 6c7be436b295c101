package dev.nola.kernels.cpu;

import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Philox;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Philox4x32-10 on Vector API lanes: {@link #LANES} consecutive blocks of one basis matrix at a time,
 * one block per 64-bit lane, so the 32×32→64-bit products of a round are plain lane-wise long
 * multiplies of zero-extended words (no 16-bit splitting). The output is the scaled basis values in
 * the generator's order ({@link #position}), a fixed permutation within each step. Consumers
 * that only need element-wise work (mixing, dot products) use that order directly and transpose
 * once; bit-identical to {@link Philox#block} followed by {@link Philox#uniform} and one multiply.
 */
final class PhiloxLanes {

    static final VectorSpecies<Long> LS = LongVector.SPECIES_PREFERRED;
    /** Blocks per step (4 with 256-bit vectors). */
    static final int LANES = LS.length();
    /** Floats in one vector of the same size: two words of each block. */
    static final VectorSpecies<Float> FS = VectorSpecies.of(float.class, LS.vectorShape());
    /** Elements per step: four words of each of LANES blocks. */
    static final int STEP = 4 * LANES;
    /**
     * Where element q of a step lands in the generator's order: words 0, 1 of block j at 2j, 2j+1,
     * words 2, 3 at 2·LANES + 2j, 2·LANES + 2j + 1 (two 32-bit words packed in each 64-bit lane).
     */
    static int position(int q) {
        int j = q >>> 2;
        int w = q & 3;
        return (w >>> 1) * 2 * LANES + 2 * j + (w & 1);
    }

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
        // Two words per 64-bit lane, reinterpreted as 32-bit lanes: all integer steps and the
        // int-to-float conversion then run at full width without a long-to-float conversion, which
        // the JIT does not vectorise on every CPU. Written out (no helper taking a vector, which
        // would box it whenever the JIT declines to inline).
        float step = Philox.UNIFORM_STEP;
        float scale = key.scale;
        IntVector w01 = c0.or(c1.lanewise(VectorOperators.LSHL, 32)).reinterpretAsInts();
        IntVector w23 = c2.or(c3.lanewise(VectorOperators.LSHL, 32)).reinterpretAsInts();
        ((FloatVector) w01.lanewise(VectorOperators.LSHR, 8).sub(0x80_0000).convert(VectorOperators.I2F, 0))
                .mul(step).mul(scale).intoArray(dst, off);
        ((FloatVector) w23.lanewise(VectorOperators.LSHR, 8).sub(0x80_0000).convert(VectorOperators.I2F, 0))
                .mul(step).mul(scale).intoArray(dst, off + 2 * LANES);
    }
}
