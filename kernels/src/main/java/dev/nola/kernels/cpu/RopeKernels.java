package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.NnMath.S;
import static dev.nola.kernels.cpu.NnMath.V;
import static dev.nola.kernels.cpu.SegmentAccess.ORDER;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
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
    static void rotate(MemorySegment x, int xo, MemorySegment cos, int co, MemorySegment sin, int so, MemorySegment out, int oo, boolean transpose,
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
                    FloatVector a = FloatVector.fromMemorySegment(S, x, 4L * (xi + i), ORDER);
                    FloatVector b = FloatVector.fromMemorySegment(S, x, 4L * (xi + half + i), ORDER);
                    FloatVector c = FloatVector.fromMemorySegment(S, cos, 4L * (co + table + i), ORDER);
                    FloatVector s = FloatVector.fromMemorySegment(S, sin, 4L * (so + table + i), ORDER);
                    if (transpose) {
                        a.mul(c).add(b.mul(s)).intoMemorySegment(out, 4L * (oi + i), ORDER);
                        b.mul(c).sub(a.mul(s)).intoMemorySegment(out, 4L * (oi + half + i), ORDER);
                    } else {
                        a.mul(c).sub(b.mul(s)).intoMemorySegment(out, 4L * (oi + i), ORDER);
                        b.mul(c).add(a.mul(s)).intoMemorySegment(out, 4L * (oi + half + i), ORDER);
                    }
                }
                for (; i < half; i++) {
                    float a = x.getAtIndex(JAVA_FLOAT, xi + i);
                    float b = x.getAtIndex(JAVA_FLOAT, xi + half + i);
                    float c = cos.getAtIndex(JAVA_FLOAT, co + table + i);
                    float s = transpose ? -sin.getAtIndex(JAVA_FLOAT, so + table + i) : sin.getAtIndex(JAVA_FLOAT, so + table + i);
                    out.setAtIndex(JAVA_FLOAT, oi + i, a * c - b * s);
                    out.setAtIndex(JAVA_FLOAT, oi + half + i, b * c + a * s);
                }
            }
        }
    }
}
