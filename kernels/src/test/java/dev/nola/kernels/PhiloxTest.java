package dev.nola.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.apache.commons.rng.core.source32.Philox4x32;
import org.junit.jupiter.api.Test;

/** Philox4x32-10 against Random123's known answers and an independent implementation. */
class PhiloxTest {

    @Test
    void knownAnswerCounterZeroKeyZero() {
        int[] out = new int[4];
        Philox.block(0, 0, 0, 0, 0, 0, out);
        assertArrayEquals(new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}, out);
    }

    @Test
    void knownAnswerAllOnes() {
        // Random123 kat_vectors: philox4x32 10 rounds, counter ffffffff x4, key ffffffff x2.
        int[] out = new int[4];
        Philox.block(-1, -1, -1, -1, -1, -1, out);
        assertArrayEquals(new int[] {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}, out);
    }

    @Test
    void knownAnswerPi() {
        // Random123 kat_vectors: counter 243f6a88 85a308d3 13198a2e 03707344, key a4093822 299f31d0.
        int[] out = new int[4];
        Philox.block(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out);
        assertArrayEquals(new int[] {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}, out);
    }

    /**
     * Apache Commons RNG's Philox4x32 (an independent implementation) is the oracle: constructed with
     * key (k0, k1) and counter (c0..c3), its first four outputs are the block at counter c0 + 1.
     */
    @Test
    void agreesWithCommonsRng() {
        SplittableRandom r = new SplittableRandom(7);
        int[] out = new int[4];
        for (int t = 0; t < 200; t++) {
            int k0 = r.nextInt();
            int k1 = r.nextInt();
            int c0 = r.nextInt();
            int c1 = r.nextInt();
            int c2 = r.nextInt();
            int c3 = r.nextInt();
            Philox4x32 oracle = new Philox4x32(new int[] {k0, k1, c0, c1, c2, c3});
            // The oracle increments the 128-bit counter before the first block.
            long low = (c0 & 0xFFFFFFFFL) + 1;
            int n0 = (int) low;
            int n1 = c1 + (int) (low >>> 32);
            int n2 = c2 + ((low >>> 32) != 0 && n1 == 0 ? 1 : 0);
            int n3 = c3 + ((low >>> 32) != 0 && n1 == 0 && n2 == 0 ? 1 : 0);
            Philox.block(n0, n1, n2, n3, k0, k1, out);
            for (int lane = 0; lane < 4; lane++) {
                assertEquals(out[lane], oracle.nextInt(), "lane " + lane + " of trial " + t);
            }
        }
    }

    @Test
    void uniformMappingIsExactAndSymmetric() {
        assertEquals(-1.0f, Philox.uniform(0));
        assertEquals(1.0f - 0x1p-23f, Philox.uniform(-1));
        assertEquals(0.0f, Philox.uniform(0x80000000));
        assertEquals(0x1p-23f, Philox.uniform(0x80000100));
        // The low 8 bits never matter.
        assertEquals(Philox.uniform(0x12345600), Philox.uniform(0x123456ff));
        for (int w : new int[] {1, 77, 0x7fffffff, 0xdeadbeef}) {
            float u = Philox.uniform(w);
            assertTrue(u >= -1f && u < 1f, "uniform(" + w + ") = " + u);
            // exact: u * 2^23 is the integer (w >>> 8) - 2^23
            assertEquals((w >>> 8) - 0x800000, (int) (u * 0x1p23f));
        }
    }

    @Test
    void layoutIsCounterElementBlockIndexStreamDomain() {
        long seed = 0x1234_5678_9abc_def0L;
        int[] out = new int[4];
        // element 6 of matrix 3, stream 5, domain 1: block (1, 3, 5, 1), lane 2, key (lo, hi)
        Philox.block(1, 3, 5, 1, 0x9abcdef0, 0x12345678, out);
        assertEquals(Philox.uniform(out[2]), Philox.unscaledElement(seed, 5, 1, 3, 6));
    }
}
