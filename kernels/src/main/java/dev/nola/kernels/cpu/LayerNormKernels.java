package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.NnMath.BLOCK;
import static dev.nola.kernels.cpu.NnMath.S;
import static dev.nola.kernels.cpu.NnMath.V;

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
    static void forward(float[] x, int xo, float[] w, int wo, float[] b, int bo, float eps, float[] out, int oo,
                        float[] mean, int mo, float[] rstd, int ro, int c, int from, int to) {
        for (int r = from; r < to; r++) {
            int row = xo + r * c;
            int orow = oo + r * c;
            float m = (float) (NnMath.sum(x, row, c) / c);
            float s = (float) (1 / Math.sqrt(squaredDeviation(x, row, c, m) / c + eps));
            int full = S.loopBound(c);
            int j = 0;
            for (; j < full; j += V) {
                FloatVector norm = FloatVector.fromArray(S, x, row + j).sub(m).mul(s);
                norm.fma(FloatVector.fromArray(S, w, wo + j), FloatVector.fromArray(S, b, bo + j)).intoArray(out, orow + j);
            }
            for (; j < c; j++) {
                out[orow + j] = Math.fma((x[row + j] - m) * s, w[wo + j], b[bo + j]);
            }
            mean[mo + r] = m;
            rstd[ro + r] = s;
        }
    }

    /** Σ (x[o + j] − m)² for j &lt; len, in the fixed order of {@link NnMath}. */
    private static double squaredDeviation(float[] x, int o, int len, float m) {
        float[] lanes = new float[V];
        double total = 0;
        int full = S.loopBound(len);
        int j = 0;
        while (j < full) {
            FloatVector acc = FloatVector.zero(S);
            int blockEnd = Math.min(full, j + BLOCK);
            for (; j < blockEnd; j += V) {
                FloatVector d = FloatVector.fromArray(S, x, o + j).sub(m);
                acc = d.fma(d, acc);
            }
            acc.intoArray(lanes, 0);
            for (float lane : lanes) {
                total += lane;
            }
        }
        for (; j < len; j++) {
            double d = x[o + j] - m;
            total += d * d;
        }
        return total;
    }

    /**
     * Rows [from, to) of the backward pass: {@code dx += rstd·(dn − mean(dn) − norm·mean(dn·norm))}
     * with dn = dout·w and norm = (x − mean)·rstd, and {@code pdw += dout·norm}, {@code pdb += dout}
     * into the partial sums pdw [C] at pw and pdb [C] at pb (either array may be null).
     */
    static void backward(float[] g, int go, float[] x, int xo, float[] w, int wo, float[] mean, int mo, float[] rstd,
                         int ro, float[] dx, int dOff, float[] pdw, int pw, float[] pdb, int pb, int c, int from, int to) {
        float[] lanes = new float[V];
        int full = S.loopBound(c);
        for (int r = from; r < to; r++) {
            int grow = go + r * c;
            int xrow = xo + r * c;
            int drow = dOff + r * c;
            float m = mean[mo + r];
            float s = rstd[ro + r];
            double sumD = 0;
            double sumDN = 0;
            int j = 0;
            while (j < full) {
                FloatVector accD = FloatVector.zero(S);
                FloatVector accDN = FloatVector.zero(S);
                int blockEnd = Math.min(full, j + BLOCK);
                for (; j < blockEnd; j += V) {
                    FloatVector dn = FloatVector.fromArray(S, g, grow + j).mul(FloatVector.fromArray(S, w, wo + j));
                    FloatVector norm = FloatVector.fromArray(S, x, xrow + j).sub(m).mul(s);
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
                float dn = g[grow + j] * w[wo + j];
                sumD += dn;
                sumDN += (double) dn * ((x[xrow + j] - m) * s);
            }
            float meanD = (float) (sumD / c);
            float meanDN = (float) (sumDN / c);
            FloatVector vNegMeanDN = FloatVector.broadcast(S, -meanDN);
            FloatVector vs = FloatVector.broadcast(S, s);
            j = 0;
            for (; j < full; j += V) {
                FloatVector gv = FloatVector.fromArray(S, g, grow + j);
                FloatVector dn = gv.mul(FloatVector.fromArray(S, w, wo + j));
                FloatVector norm = FloatVector.fromArray(S, x, xrow + j).sub(m).mul(s);
                FloatVector val = norm.fma(vNegMeanDN, dn.sub(meanD));
                val.fma(vs, FloatVector.fromArray(S, dx, drow + j)).intoArray(dx, drow + j);
                if (pdw != null) {
                    gv.fma(norm, FloatVector.fromArray(S, pdw, pw + j)).intoArray(pdw, pw + j);
                }
                if (pdb != null) {
                    gv.add(FloatVector.fromArray(S, pdb, pb + j)).intoArray(pdb, pb + j);
                }
            }
            for (; j < c; j++) {
                float gj = g[grow + j];
                float dn = gj * w[wo + j];
                float norm = (x[xrow + j] - m) * s;
                float val = Math.fma(norm, -meanDN, dn - meanD);
                dx[drow + j] = Math.fma(val, s, dx[drow + j]);
                if (pdw != null) {
                    pdw[pw + j] = Math.fma(gj, norm, pdw[pw + j]);
                }
                if (pdb != null) {
                    pdb[pb + j] += gj;
                }
            }
        }
    }
}
