package dev.nola.adapter.quant;

/**
 * A coefficient vector quantized symmetrically to b bits: value i is {@code codes[i] · step}, with
 * integer codes in [−L, L], L = 2^(b−1) − 1.
 *
 * @param bits  b, in 2..8
 * @param step  the value of one code unit, max|v| / L (0 for an all-zero vector), finite and ≥ 0
 * @param codes the signed codes, one per coefficient
 */
public record QuantizedVector(int bits, float step, byte[] codes) {

    public QuantizedVector {
        CoefficientQuantizer.checkBits(bits);
        if (!Float.isFinite(step) || step < 0) {
            throw new IllegalArgumentException("step must be finite and >= 0, got " + step);
        }
        int levels = CoefficientQuantizer.levels(bits);
        for (int i = 0; i < codes.length; i++) {
            if (codes[i] < -levels || codes[i] > levels) {
                throw new IllegalArgumentException("codes[" + i + "] = " + codes[i] + " is outside [" + -levels + ", "
                        + levels + "] for " + bits + " bits");
            }
        }
    }

    /** The dequantized values. */
    public float[] values() {
        float[] v = new float[codes.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = codes[i] * step;
        }
        return v;
    }
}
