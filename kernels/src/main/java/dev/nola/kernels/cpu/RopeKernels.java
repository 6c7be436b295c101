package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.NnMath.S;
import static dev.nola.kernels.cpu.NnMath.V;

import jdk.incubator.vector.FloatVector;

/**
 * Rotary position embedding (Hugging Face's rotate_half layout) over a range of rows, forward or
 * transposed, in the float order of the contract: each product rounded, then one subtraction or
 * addition, no fma, in vector lanes and in the scalar tail alike, so the result is the reference's
 * bit for bit. The transposed rotation is the forward one with sin negated, which changes no bit of
 * a product but its sign. Each pair (i, i + d/2) is read before it is written, so out may be x.
 */
final class RopeKernels {

    private RopeKernels() {
    }

    /** Rows [from, to) of w = heads·headDim elements; row r is at position pos0 + r mod t of the [P, headDim/2] tables. */
    static void rotate(float[] x, int xo, float[] cos, int co, float[] sin, int so, float[] out, int oo, boolean transpose,
                       int t, int w, int headDim, int pos0, int from, int to) {
        int half = headDim / 2;
        int full = S.loopBound(half);
        for (int r = from; r < to; r++) {
            int table = (pos0 + r % t) * half;
            for (int h = 0; h < w; h += headDim) {
                int xi = xo + r * w + h;
                int oi = oo + r * w + h;
                int i = 0;
                for (; i < full; i += V) {
                    FloatVector a = FloatVector.fromArray(S, x, xi + i);
                    FloatVector b = FloatVector.fromArray(S, x, xi + half + i);
                    FloatVector c = FloatVector.fromArray(S, cos, co + table + i);
                    FloatVector s = FloatVector.fromArray(S, sin, so + table + i);
                    if (transpose) {
                        a.mul(c).add(b.mul(s)).intoArray(out, oi + i);
                        b.mul(c).sub(a.mul(s)).intoArray(out, oi + half + i);
                    } else {
                        a.mul(c).sub(b.mul(s)).intoArray(out, oi + i);
                        b.mul(c).add(a.mul(s)).intoArray(out, oi + half + i);
                    }
                }
                for (; i < half; i++) {
                    float a = x[xi + i];
                    float b = x[xi + half + i];
                    float c = cos[co + table + i];
                    float s = transpose ? -sin[so + table + i] : sin[so + table + i];
                    out[oi + i] = a * c - b * s;
                    out[oi + half + i] = b * c + a * s;
                }
            }
        }
    }
}
