package dev.nola.adapter.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** BF16 and F16 writing: round-to-nearest-even against known bit patterns, and a round trip through the reader. */
class HalfPrecisionWriterTest {

    private static float f(int bits) {
        return Float.intBitsToFloat(bits);
    }

    @Test
    void bf16RoundsToNearestTiesToEven() {
        assertEquals((short) 0x3F80, SafeTensorsWriter.bf16Bits(1.0f));
        assertEquals((short) 0xC000, SafeTensorsWriter.bf16Bits(-2.0f));
        assertEquals((short) 0x0000, SafeTensorsWriter.bf16Bits(0.0f));
        assertEquals((short) 0x8000, SafeTensorsWriter.bf16Bits(-0.0f));
        assertEquals((short) 0x3F80, SafeTensorsWriter.bf16Bits(f(0x3F807FFF)), "below half an ulp: down");
        assertEquals((short) 0x3F81, SafeTensorsWriter.bf16Bits(f(0x3F808001)), "above half an ulp: up");
        assertEquals((short) 0x3F80, SafeTensorsWriter.bf16Bits(f(0x3F808000)), "tie, even below: down");
        assertEquals((short) 0x3F82, SafeTensorsWriter.bf16Bits(f(0x3F818000)), "tie, odd below: up to even");
        assertEquals((short) 0x3FC0, SafeTensorsWriter.bf16Bits(f(0x3FBFFFFF)), "carry into the exponent field");
        assertEquals((short) 0x4049, SafeTensorsWriter.bf16Bits((float) Math.PI), "pi = 0x40490FDB");
        assertEquals((short) 0x7F80, SafeTensorsWriter.bf16Bits(Float.MAX_VALUE), "max float rounds to infinity");
        assertEquals((short) 0x0002, SafeTensorsWriter.bf16Bits(f(0x00018000)), "subnormal tie, odd below: up to even");
    }

    @Test
    void f16RoundsToNearestTiesToEven() {
        assertEquals((short) 0x3C00, SafeTensorsWriter.f16Bits(1.0f));
        assertEquals((short) 0x7BFF, SafeTensorsWriter.f16Bits(65504f), "largest half");
        assertEquals((short) 0x7C00, SafeTensorsWriter.f16Bits(65520f), "the tie above the largest rounds to infinity");
        assertEquals((short) 0x0001, SafeTensorsWriter.f16Bits(f(0x33800001)), "just above half the smallest subnormal");
        assertEquals((short) 0x0000, SafeTensorsWriter.f16Bits(f(0x33000000)), "half the smallest subnormal: tie to 0");
        assertEquals((short) 0x3C00, SafeTensorsWriter.f16Bits(1.0f + 0x1p-11f), "tie, even below: down");
        assertEquals((short) 0x3C02, SafeTensorsWriter.f16Bits(1.0f + 3 * 0x1p-11f), "tie, odd below: up");
        assertEquals((short) 0xC248, SafeTensorsWriter.f16Bits(-3.140625f));
    }

    @Test
    void writtenHalvesReadBackAsTheRoundedValues() {
        float[] v = {1.0f, f(0x3F818000), -0.3333333f, 1e-6f, 70000f};
        byte[] bf = new SafeTensorsWriter().bf16("w", new int[] {5}, v).toBytes(Map.of());
        try (SafeTensorsReader r = SafeTensorsReader.fromBytes(bf, "bf16")) {
            assertEquals(DType.BF16, r.tensors().get("w").dtype());
            float[] back = r.readFloats("w");
            for (int i = 0; i < v.length; i++) {
                assertEquals(Float.intBitsToFloat(SafeTensorsWriter.bf16Bits(v[i]) << 16), back[i], "element " + i);
            }
        }
        float[] h = {1.0f, -0.3333333f, 1e-6f, 65504f};
        byte[] f16 = new SafeTensorsWriter().floats("w", DType.F16, new int[] {2, 2}, h).toBytes(Map.of());
        try (SafeTensorsReader r = SafeTensorsReader.fromBytes(f16, "f16")) {
            assertEquals(DType.F16, r.tensors().get("w").dtype());
            float[] back = r.readFloats("w");
            assertEquals(-0.33325195f, back[1]);
            assertEquals(65504f, back[3]);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new SafeTensorsWriter().f16("w", new int[] {1}, new float[] {70000f}));
        assertTrue(e.getMessage().contains("infinite as F16"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new SafeTensorsWriter().bf16("w", new int[] {1}, new float[] {Float.NaN}));
    }
}
