package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.NnMath.BLOCK;
import static dev.nola.kernels.cpu.NnMath.S;
import static dev.nola.kernels.cpu.NnMath.V;

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
    static void forward(float[] x, int xo, float[] w, int wo, float eps, float[] out, int oo, float[] rstd, int ro, int c,
                        int from, int to) {
        int full = S.loopBound(c);
        for (int r = from; r < to; r++) {
            int row = xo + r * c;
            int orow = oo + r * c;
            float s = (float) (1 / Math.sqrt(NnMath.dot(x, row, x, row, c) / c + eps));
            int j = 0;
            for (; j < full; j += V) {
                FloatVector.fromArray(S, x, row + j).mul(s).mul(FloatVector.fromArray(S, w, wo + j)).intoArray(out, orow + j);
            }
            for (; j < c; j++) {
                out[orow + j] = x[row + j] * s * w[wo + j];
            }
            rstd[ro + r] = s;
        }
    }

    /**
     * Rows [from, to) of the backward pass: {@code dx += rstd·(dn − norm·mean(dn·norm))} with
     * dn = dout·w and norm = x·rstd, and {@code pdw += dout·norm} into the partial sums pdw [C] at pw
     * (pdw may be null).
     */
    static void backward(float[] g, int go, float[] x, int xo, float[] w, int wo, float[] rstd, int ro, float[] dx, int dOff,
                         float[] pdw, int pw, int c, int from, int to) {
        float[] lanes = new float[V];
        int full = S.loopBound(c);
        for (int r = from; r < to; r++) {
            int grow = go + r * c;
            int xrow = xo + r * c;
            int drow = dOff + r * c;
            float s = rstd[ro + r];
            double sumDN = 0;
            int j = 0;
            while (j < full) {
                FloatVector acc = FloatVector.zero(S);
                int blockEnd = Math.min(full, j + BLOCK);
                for (; j < blockEnd; j += V) {
                    FloatVector dn = FloatVector.fromArray(S, g, grow + j).mul(FloatVector.fromArray(S, w, wo + j));
                    acc = dn.fma(FloatVector.fromArray(S, x, xrow + j).mul(s), acc);
                }
                acc.intoArray(lanes, 0);
                for (float lane : lanes) {
                    sumDN += lane;
                }
            }
            for (; j < c; j++) {
                sumDN += (double) (g[grow + j] * w[wo + j]) * (x[xrow + j] * s);
            }
            float meanDN = (float) (sumDN / c);
            FloatVector vNegMeanDN = FloatVector.broadcast(S, -meanDN);
            FloatVector vs = FloatVector.broadcast(S, s);
            for (j = 0; j < full; j += V) {
                FloatVector gv = FloatVector.fromArray(S, g, grow + j);
                FloatVector dn = gv.mul(FloatVector.fromArray(S, w, wo + j));
                FloatVector norm = FloatVector.fromArray(S, x, xrow + j).mul(s);
                norm.fma(vNegMeanDN, dn).fma(vs, FloatVector.fromArray(S, dx, drow + j)).intoArray(dx, drow + j);
                if (pdw != null) {
                    gv.fma(norm, FloatVector.fromArray(S, pdw, pw + j)).intoArray(pdw, pw + j);
                }
            }
            for (; j < c; j++) {
                float gj = g[grow + j];
                float norm = x[xrow + j] * s;
                dx[drow + j] = Math.fma(Math.fma(norm, -meanDN, gj * w[wo + j]), s, dx[drow + j]);
                if (pdw != null) {
                    pdw[pw + j] = Math.fma(gj, norm, pdw[pw + j]);
                }
            }
        }
    }
}
