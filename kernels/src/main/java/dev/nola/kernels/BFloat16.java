package dev.nola.kernels;

/**
 * The one definition of float32 ↔ bfloat16 used by every backend and by the checkpoint writer:
 * narrowing rounds to nearest, ties to even (as PyTorch's {@code .bfloat16()}), a NaN stays a quiet
 * NaN, a finite value past bfloat16's range becomes infinity; widening is exact (the 16 bits become
 * the top half of a float32).
 */
public final class BFloat16 {

    private BFloat16() {
    }

    /** The bfloat16 bits of a float32, rounded to nearest, ties to even (a NaN stays a quiet NaN). */
    public static short round(float f) {
        int b = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((b >>> 16) | 0x0040);
        }
        return (short) ((b + 0x7FFF + ((b >>> 16) & 1)) >>> 16);
    }

    /** The float32 value of bfloat16 bits (exact). */
    public static float widen(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /** {@code dst[dstOff + i] = round(src[srcOff + i])} for i &lt; n. */
    public static void round(float[] src, int srcOff, short[] dst, int dstOff, int n) {
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = round(src[srcOff + i]);
        }
    }

    /** {@code dst[dstOff + i] = widen(src[srcOff + i])} for i &lt; n. */
    public static void widen(short[] src, int srcOff, float[] dst, int dstOff, int n) {
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = widen(src[srcOff + i]);
        }
    }

    /** The float32 values after a round trip through bfloat16 (what a bf16 tensor holds for them). */
    public static float[] rounded(float[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = widen(round(v[i]));
        }
        return out;
    }
}
