package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.NnMath.S;
import static dev.nola.kernels.cpu.NnMath.V;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * Row kernels of the softmax family on float arrays: the scaled, optionally causal softmax and its
 * backward, and cross-entropy over a vocabulary row fused with its softmax. One row per call; the
 * caller spreads rows over threads. Each row reads its input once for the maximum and once for the
 * exponentials ({@link NnMath#expShifted}, which also stores them), then scales in place, so a
 * row of the GPT-2 vocabulary (50,257 floats, 196 KiB) is read from memory once and then from L2.
 */
final class SoftmaxKernels {

    private SoftmaxKernels() {
    }

    /**
     * Softmax forward of one row: {@code out[j] = exp(s·x[j] − m) / Σ} for j &lt; len,
     * {@code out[j] = 0} for len ≤ j &lt; l (the causal mask); out may be x at the same offset.
     */
    static void softmaxRow(float[] x, int xo, float[] out, int oo, int len, int l, float scale) {
        float m = NnMath.maxScaled(x, xo, len, scale);
        float inv = (float) (1.0 / NnMath.expShifted(x, xo, out, oo, len, scale, m));
        scaleRow(out, oo, len, inv);
        Arrays.fill(out, oo + len, oo + l, 0f);
    }

    /** {@code a[o + j] *= f} for j &lt; len. */
    static void scaleRow(float[] a, int o, int len, float f) {
        int full = S.loopBound(len);
        int j = 0;
        for (; j < full; j += V) {
            FloatVector.fromArray(S, a, o + j).mul(f).intoArray(a, o + j);
        }
        for (; j < len; j++) {
            a[o + j] *= f;
        }
    }

    /** Softmax backward of one row: {@code dx[j] = s·y[j]·(dy[j] − Σ_i y[i]·dy[i])}, written; dx may be dy. */
    static void softmaxBackwardRow(float[] y, int yo, float[] dy, int go, float[] dx, int xo, int l, float scale) {
        float dot = (float) NnMath.dot(y, yo, dy, go, l);
        int full = S.loopBound(l);
        int j = 0;
        for (; j < full; j += V) {
            FloatVector g = FloatVector.fromArray(S, dy, go + j).sub(dot);
            FloatVector.fromArray(S, y, yo + j).mul(scale).mul(g).intoArray(dx, xo + j);
        }
        for (; j < l; j++) {
            dx[xo + j] = scale * y[yo + j] * (dy[go + j] - dot);
        }
    }

    /**
     * Cross-entropy of one row with label smoothing ε:
     * {@code lse − (1−ε)·x[target] − ε·mean(x)}, in double from the float row sums.
     */
    static float crossEntropyRow(float[] x, int xo, int v, int target, float smoothing) {
        float m = NnMath.maxScaled(x, xo, v, 1f);
        double lse = m + Math.log(NnMath.expShifted(x, xo, null, 0, v, 1f, m));
        double mean = smoothing == 0f ? 0 : NnMath.sum(x, xo, v) / v;
        return (float) (lse - (1 - (double) smoothing) * x[xo + target] - smoothing * mean);
    }

    /**
     * Cross-entropy backward of one row, written: {@code d[j] = g·(p[j] − ε/V − (1−ε)·[j = target])}
     * with p = softmax(x); d may be x at the same offset (the exponentials overwrite the logits as
     * they are read).
     */
    static void crossEntropyBackwardRow(float[] x, int xo, float[] d, int dOff, int v, int target, float smoothing,
                                        float g) {
        float m = NnMath.maxScaled(x, xo, v, 1f);
        float inv = (float) (1.0 / NnMath.expShifted(x, xo, d, dOff, v, 1f, m));
        float off = (float) (smoothing / (double) v);
        float onTarget = (float) (smoothing / (double) v + (1 - (double) smoothing));
        float eTarget = d[dOff + target];
        int full = S.loopBound(v);
        int j = 0;
        for (; j < full; j += V) {
            FloatVector.fromArray(S, d, dOff + j).mul(inv).sub(off).mul(g).intoArray(d, dOff + j);
        }
        for (; j < v; j++) {
            d[dOff + j] = (d[dOff + j] * inv - off) * g;
        }
        d[dOff + target] = (eTarget * inv - onTarget) * g;
    }
}
