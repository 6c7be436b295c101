package dev.nola.adapter.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CoefficientQuantizerTest {

    @Test
    void quantizesWithinHalfAStepAndKeepsTheMaxExactly() {
        SplittableRandom rnd = new SplittableRandom(2);
        for (int bits = 2; bits <= 8; bits++) {
            float[] v = new float[1000];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) rnd.nextGaussian();
            }
            v[17] = -5f;
            QuantizedVector q = CoefficientQuantizer.quantize(v, bits);
            int levels = (1 << (bits - 1)) - 1;
            assertEquals(5f / levels, q.step(), 1e-7f);
            float[] back = q.values();
            assertEquals(-5f, back[17], 1e-6f);
            for (int i = 0; i < v.length; i++) {
                assertTrue(Math.abs(back[i] - v[i]) <= q.step() / 2 * 1.0001, "bits " + bits + " element " + i);
            }
            QuantizedVector u = CoefficientQuantizer.unpack(CoefficientQuantizer.pack(q), v.length, bits, q.step());
            assertArrayEquals(q.codes(), u.codes(), "pack/unpack at " + bits + " bits");
            assertEquals((1000 * bits + 7) / 8, CoefficientQuantizer.pack(q).length);
        }
    }

    @Test
    void zeroVectorAndBadInput() {
        assertArrayEquals(new float[3], CoefficientQuantizer.fakeQuantize(new float[3], 4));
        assertThrows(IllegalArgumentException.class, () -> CoefficientQuantizer.quantize(new float[] {Float.NaN}, 4));
        assertThrows(IllegalArgumentException.class, () -> CoefficientQuantizer.quantize(new float[] {1}, 1));
        assertThrows(IllegalArgumentException.class, () -> CoefficientQuantizer.unpack(new byte[2], 5, 4, 1f));
        // 2 bits: codes are 0..2 offset-binary; 3 (0b11) is invalid
        assertThrows(IllegalArgumentException.class, () -> CoefficientQuantizer.unpack(new byte[] {3}, 1, 2, 1f));
    }
}
