package dev.nola.adapter.quant;

/**
 * Per-vector max-abs quantization of NOLA coefficients (nola-spec.md §3.4): for b bits, L = 2^(b−1)−1
 * levels each side, step = max|v| / L, code = round(v / step) clamped to [−L, L]. Used post-training
 * (quantize when saving) and for quantization-aware training, where the forward pass uses
 * {@link #fakeQuantize} and the gradient passes straight through to the float coefficients.
 *
 * <p>Codes are stored packed: each code as the unsigned b-bit value code + L, least significant bit
 * first, in ⌈n·b/8⌉ bytes.
 */
public final class CoefficientQuantizer {

    private CoefficientQuantizer() {
    }

    static void checkBits(int bits) {
        if (bits < 2 || bits > 8) {
            throw new IllegalArgumentException("bits must be in 2..8, got " + bits);
        }
    }

    /** L = 2^(b−1) − 1, the largest code. */
    public static int levels(int bits) {
        checkBits(bits);
        return (1 << (bits - 1)) - 1;
    }

    /** Quantizes a finite vector. */
    public static QuantizedVector quantize(float[] v, int bits) {
        int levels = levels(bits);
        float max = 0f;
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                throw new IllegalArgumentException("v[" + i + "] is " + v[i] + "; only finite coefficients can be quantized");
            }
            max = Math.max(max, Math.abs(v[i]));
        }
        byte[] codes = new byte[v.length];
        float step = max / levels;
        if (step > 0f) {
            for (int i = 0; i < v.length; i++) {
                long q = Math.round(v[i] / step);
                codes[i] = (byte) Math.max(-levels, Math.min(levels, q));
            }
        } else {
            step = 0f;
        }
        return new QuantizedVector(bits, step, codes);
    }

    /** quantize then dequantize: the values the forward pass sees under quantization-aware training. */
    public static float[] fakeQuantize(float[] v, int bits) {
        return quantize(v, bits).values();
    }

    /** The bytes {@link #pack} writes for n codes of b bits. */
    public static int packedLength(int n, int bits) {
        checkBits(bits);
        return (int) ((Math.multiplyExact((long) n, bits) + 7) / 8);
    }

    /** Packs codes into ⌈n·b/8⌉ bytes (see the class comment). */
    public static byte[] pack(QuantizedVector q) {
        int bits = q.bits();
        int levels = levels(bits);
        byte[] out = new byte[packedLength(q.codes().length, bits)];
        long bit = 0;
        for (byte c : q.codes()) {
            int u = c + levels;
            for (int j = 0; j < bits; j++, bit++) {
                if (((u >>> j) & 1) != 0) {
                    out[(int) (bit >>> 3)] |= (byte) (1 << (bit & 7));
                }
            }
        }
        return out;
    }

    /**
     * Unpacks n codes of b bits.
     *
     * @throws IllegalArgumentException when the byte count is not ⌈n·b/8⌉ or a code exceeds 2L
     */
    public static QuantizedVector unpack(byte[] packed, int n, int bits, float step) {
        int levels = levels(bits);
        if (n < 0 || packed.length != packedLength(n, bits)) {
            throw new IllegalArgumentException("packed codes have " + packed.length + " bytes, expected "
                    + (n < 0 ? "n >= 0" : packedLength(n, bits)) + " for " + n + " codes of " + bits + " bits");
        }
        byte[] codes = new byte[n];
        long bit = 0;
        for (int i = 0; i < n; i++) {
            int u = 0;
            for (int j = 0; j < bits; j++, bit++) {
                u |= ((packed[(int) (bit >>> 3)] >>> (bit & 7)) & 1) << j;
            }
            if (u > 2 * levels) {
                throw new IllegalArgumentException("packed code " + i + " is " + u + ", above " + (2 * levels)
                        + " (the largest " + bits + "-bit code)");
            }
            codes[i] = (byte) (u - levels);
        }
        return new QuantizedVector(bits, step, codes);
    }
}
