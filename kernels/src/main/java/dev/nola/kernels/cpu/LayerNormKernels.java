package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.NnMath.BLOCK;
import static dev.nola.kernels.cpu.NnMath.S;
import static dev.nola.kernels.cpu.NnMath.V;
import static dev.nola.kernels.cpu.SegmentAccess.ORDER;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Layer normalisation over rows of C channels, forward and backward, for a range of rows. Row
 * statistics are float vector sums gathered into a double in a fixed order (as {@link NnMath});
 * the backward pass adds the weight and bias gradients of its rows into per-range partial sums that
 * the caller adds up in range order, so the result does not depend on which thread ran which range.
 */
final class LayerNormKernels {

    private LayerNormKernels() {
    }

    /**
     * Rows [from, to) of {@code out = (x − mean)·rstd·w + b}, writing mean and rstd (two passes for the
     * statistics, the variance about the float mean).
     */
    static void forward(MemorySegment x, int xo, MemorySegment w, int wo, MemorySegment b, int bo, float eps, MemorySegment out, int oo,
                        MemorySegment mean, int mo, MemorySegment rstd, int ro, int c, int from, int to) {
        for (int r = from; r < to; r++) {
            int row = xo + r * c;
            int orow = oo + r * c;
            float m = (float) (NnMath.sum(x, row, c) / c);
            float s = (float) (1 / Math.sqrt(squaredDeviation(x, row, c, m) / c + eps));
            int full = S.loopBound(c);
            int j = 0;
            for (; j < full; j += V) {
                FloatVector norm = FloatVector.fromMemorySegment(S, x, 4L * (row + j), ORDER).sub(m).mul(s);
                norm.fma(FloatVector.fromMemorySegment(S, w, 4L * (wo + j), ORDER), FloatVector.fromMemorySegment(S, b, 4L * (bo + j), ORDER)).intoMemorySegment(out, 4L * (orow + j), ORDER);
            }
            for (; j < c; j++) {
                out.setAtIndex(JAVA_FLOAT, orow + j, Math.fma((x.getAtIndex(JAVA_FLOAT, row + j) - m) * s, w.getAtIndex(JAVA_FLOAT, wo + j), b.getAtIndex(JAVA_FLOAT, bo + j)));
            }
            mean.setAtIndex(JAVA_FLOAT, mo + r, m);
            rstd.setAtIndex(JAVA_FLOAT, ro + r, s);
        }
    }

    /** Σ (x[o + j] − m)² for j &lt; len, in the fixed order of {@link NnMath}. */
    private static double squaredDeviation(MemorySegment x, int o, int len, float m) {
        float[] lanes = new float[V];
        double total = 0;
        int full = S.loopBound(len);
        int j = 0;
        while (j < full) {
            FloatVector acc = FloatVector.zero(S);
            int blockEnd = Math.min(full, j + BLOCK);
            for (; j < blockEnd; j += V) {
                FloatVector d = FloatVector.fromMemorySegment(S, x, 4L * (o + j), ORDER).sub(m);
                acc = d.fma(d, acc);
            }
            acc.intoArray(lanes, 0);
            for (float lane : lanes) {
                total += lane;
            }
        }
        for (; j < len; j++) {
            double d = x.getAtIndex(JAVA_FLOAT, o + j) - m;
            total += d * d;
        }
        return total;
    }

    /**
     * Rows [from, to) of the backward pass: {@code dx += rstd·(dn − mean(dn) − norm·mean(dn·norm))}
     * with dn = dout·w and norm = (x − mean)·rstd, and {@code pdw += dout·norm}, {@code pdb += dout}
     * into the partial sums pdw [C] at pw and pdb [C] at pb (either array may be null).
     */
    static void backward(MemorySegment g, int go, MemorySegment x, int xo, MemorySegment w, int wo, MemorySegment mean, int mo, MemorySegment rstd,
                         int ro, MemorySegment dx, int dOff, MemorySegment pdw, int pw, MemorySegment pdb, int pb, int c, int from, int to) {
        float[] lanes = new float[V];
        int full = S.loopBound(c);
        for (int r = from; r < to; r++) {
            int grow = go + r * c;
            int xrow = xo + r * c;
            int drow = dOff + r * c;
            float m = mean.getAtIndex(JAVA_FLOAT, mo + r);
            float s = rstd.getAtIndex(JAVA_FLOAT, ro + r);
            double sumD = 0;
            double sumDN = 0;
            int j = 0;
            while (j < full) {
                FloatVector accD = FloatVector.zero(S);
                FloatVector accDN = FloatVector.zero(S);
                int blockEnd = Math.min(full, j + BLOCK);
                for (; j < blockEnd; j += V) {
                    FloatVector dn = FloatVector.fromMemorySegment(S, g, 4L * (grow + j), ORDER).mul(FloatVector.fromMemorySegment(S, w, 4L * (wo + j), ORDER));
                    FloatVector norm = FloatVector.fromMemorySegment(S, x, 4L * (xrow + j), ORDER).sub(m).mul(s);
                    accD = accD.add(dn);
                    accDN = dn.fma(norm, accDN);
                }
                accD.intoArray(lanes, 0);
                for (float lane : lanes) {
                    sumD += lane;
                }
                accDN.intoArray(lanes, 0);
                for (float lane : lanes) {
                    sumDN += lane;
                }
            }
            for (; j < c; j++) {
                float dn = g.getAtIndex(JAVA_FLOAT, grow + j) * w.getAtIndex(JAVA_FLOAT, wo + j);
                sumD += dn;
                sumDN += (double) dn * ((x.getAtIndex(JAVA_FLOAT, xrow + j) - m) * s);
            }
            float meanD = (float) (sumD / c);
            float meanDN = (float) (sumDN / c);
            FloatVector vNegMeanDN = FloatVector.broadcast(S, -meanDN);
            FloatVector vs = FloatVector.broadcast(S, s);
            j = 0;
            for (; j < full; j += V) {
                FloatVector gv = FloatVector.fromMemorySegment(S, g, 4L * (grow + j), ORDER);
                FloatVector dn = gv.mul(FloatVector.fromMemorySegment(S, w, 4L * (wo + j), ORDER));
                FloatVector norm = FloatVector.fromMemorySegment(S, x, 4L * (xrow + j), ORDER).sub(m).mul(s);
                FloatVector val = norm.fma(vNegMeanDN, dn.sub(meanD));
                val.fma(vs, FloatVector.fromMemorySegment(S, dx, 4L * (drow + j), ORDER)).intoMemorySegment(dx, 4L * (drow + j), ORDER);
                if (pdw != null) {
                    gv.fma(norm, FloatVector.fromMemorySegment(S, pdw, 4L * (pw + j), ORDER)).intoMemorySegment(pdw, 4L * (pw + j), ORDER);
                }
                if (pdb != null) {
                    gv.add(FloatVector.fromMemorySegment(S, pdb, 4L * (pb + j), ORDER)).intoMemorySegment(pdb, 4L * (pb + j), ORDER);
                }
            }
            for (; j < c; j++) {
                float gj = g.getAtIndex(JAVA_FLOAT, grow + j);
                float dn = gj * w.getAtIndex(JAVA_FLOAT, wo + j);
                float norm = (x.getAtIndex(JAVA_FLOAT, xrow + j) - m) * s;
                float val = Math.fma(norm, -meanDN, dn - meanD);
                dx.setAtIndex(JAVA_FLOAT, drow + j, Math.fma(val, s, dx.getAtIndex(JAVA_FLOAT, drow + j)));
                if (pdw != null) {
                    pdw.setAtIndex(JAVA_FLOAT, pw + j, Math.fma(gj, norm, pdw.getAtIndex(JAVA_FLOAT, pw + j)));
                }
                if (pdb != null) {
                    pdb.setAtIndex(JAVA_FLOAT, pb + j, pdb.getAtIndex(JAVA_FLOAT, pb + j) + (gj));
                }
            }
        }
    }
}
