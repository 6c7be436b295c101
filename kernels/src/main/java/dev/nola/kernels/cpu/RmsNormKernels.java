package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.NnMath.BLOCK;
import static dev.nola.kernels.cpu.NnMath.S;
import static dev.nola.kernels.cpu.NnMath.V;
import static dev.nola.kernels.cpu.SegmentAccess.ORDER;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * RMS normalisation over rows of C channels, forward and backward, for a range of rows: the
 * LLaMA family's counterpart of {@link LayerNormKernels}, with the same fixed-order sums (vector
 * lanes over blocks, gathered lane by lane into a double, as {@link NnMath}) and the same per-range
 * partial sums for the weight gradient, which the caller adds in range order.
 */
final class RmsNormKernels {

    private RmsNormKernels() {
    }

    /** Rows [from, to) of {@code out = (x·rstd)·w}, rstd = 1/√(Σx²/c + eps) written. */
    static void forward(MemorySegment x, int xo, MemorySegment w, int wo, float eps, MemorySegment out, int oo, MemorySegment rstd, int ro, int c,
                        int from, int to) {
        int full = S.loopBound(c);
        for (int r = from; r < to; r++) {
            int row = xo + r * c;
            int orow = oo + r * c;
            float s = (float) (1 / Math.sqrt(NnMath.dot(x, row, x, row, c) / c + eps));
            int j = 0;
            for (; j < full; j += V) {
                FloatVector.fromMemorySegment(S, x, 4L * (row + j), ORDER).mul(s).mul(FloatVector.fromMemorySegment(S, w, 4L * (wo + j), ORDER)).intoMemorySegment(out, 4L * (orow + j), ORDER);
            }
            for (; j < c; j++) {
                out.setAtIndex(JAVA_FLOAT, orow + j, x.getAtIndex(JAVA_FLOAT, row + j) * s * w.getAtIndex(JAVA_FLOAT, wo + j));
            }
            rstd.setAtIndex(JAVA_FLOAT, ro + r, s);
        }
    }

    /**
     * Rows [from, to) of the backward pass: {@code dx += rstd·(dn − norm·mean(dn·norm))} with
     * dn = dout·w and norm = x·rstd, and {@code pdw += dout·norm} into the partial sums pdw [C] at pw
     * (pdw may be null).
     */
    static void backward(MemorySegment g, int go, MemorySegment x, int xo, MemorySegment w, int wo, MemorySegment rstd, int ro, MemorySegment dx, int dOff,
                         MemorySegment pdw, int pw, int c, int from, int to) {
        float[] lanes = new float[V];
        int full = S.loopBound(c);
        for (int r = from; r < to; r++) {
            int grow = go + r * c;
            int xrow = xo + r * c;
            int drow = dOff + r * c;
            float s = rstd.getAtIndex(JAVA_FLOAT, ro + r);
            double sumDN = 0;
            int j = 0;
            while (j < full) {
                FloatVector acc = FloatVector.zero(S);
                int blockEnd = Math.min(full, j + BLOCK);
                for (; j < blockEnd; j += V) {
                    FloatVector dn = FloatVector.fromMemorySegment(S, g, 4L * (grow + j), ORDER).mul(FloatVector.fromMemorySegment(S, w, 4L * (wo + j), ORDER));
                    acc = dn.fma(FloatVector.fromMemorySegment(S, x, 4L * (xrow + j), ORDER).mul(s), acc);
                }
                acc.intoArray(lanes, 0);
                for (float lane : lanes) {
                    sumDN += lane;
                }
            }
            for (; j < c; j++) {
                sumDN += (double) (g.getAtIndex(JAVA_FLOAT, grow + j) * w.getAtIndex(JAVA_FLOAT, wo + j)) * (x.getAtIndex(JAVA_FLOAT, xrow + j) * s);
            }
            float meanDN = (float) (sumDN / c);
            FloatVector vNegMeanDN = FloatVector.broadcast(S, -meanDN);
            FloatVector vs = FloatVector.broadcast(S, s);
            for (j = 0; j < full; j += V) {
                FloatVector gv = FloatVector.fromMemorySegment(S, g, 4L * (grow + j), ORDER);
                FloatVector dn = gv.mul(FloatVector.fromMemorySegment(S, w, 4L * (wo + j), ORDER));
                FloatVector norm = FloatVector.fromMemorySegment(S, x, 4L * (xrow + j), ORDER).mul(s);
                norm.fma(vNegMeanDN, dn).fma(vs, FloatVector.fromMemorySegment(S, dx, 4L * (drow + j), ORDER)).intoMemorySegment(dx, 4L * (drow + j), ORDER);
                if (pdw != null) {
                    gv.fma(norm, FloatVector.fromMemorySegment(S, pdw, 4L * (pw + j), ORDER)).intoMemorySegment(pdw, 4L * (pw + j), ORDER);
                }
            }
            for (; j < c; j++) {
                float gj = g.getAtIndex(JAVA_FLOAT, grow + j);
                float norm = x.getAtIndex(JAVA_FLOAT, xrow + j) * s;
                dx.setAtIndex(JAVA_FLOAT, drow + j, Math.fma(Math.fma(norm, -meanDN, gj * w.getAtIndex(JAVA_FLOAT, wo + j)), s, dx.getAtIndex(JAVA_FLOAT, drow + j)));
                if (pdw != null) {
                    pdw.setAtIndex(JAVA_FLOAT, pw + j, Math.fma(gj, norm, pdw.getAtIndex(JAVA_FLOAT, pw + j)));
                }
            }
        }
    }
}
