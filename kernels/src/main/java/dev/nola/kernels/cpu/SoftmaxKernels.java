package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.NnMath.S;
import static dev.nola.kernels.cpu.NnMath.V;
import static dev.nola.kernels.cpu.SegmentAccess.ORDER;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
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
    static void softmaxRow(MemorySegment x, int xo, MemorySegment out, int oo, int len, int l, float scale) {
        float m = NnMath.maxScaled(x, xo, len, scale);
        float inv = (float) (1.0 / NnMath.expShifted(x, xo, out, oo, len, scale, m));
        scaleRow(out, oo, len, inv);
        SegmentAccess.fill(out, oo + len, oo + l, 0f);
    }

    /** {@code a[o + j] *= f} for j &lt; len. */
    static void scaleRow(MemorySegment a, int o, int len, float f) {
        int full = S.loopBound(len);
        int j = 0;
        for (; j < full; j += V) {
            FloatVector.fromMemorySegment(S, a, 4L * (o + j), ORDER).mul(f).intoMemorySegment(a, 4L * (o + j), ORDER);
        }
        for (; j < len; j++) {
            a.setAtIndex(JAVA_FLOAT, o + j, a.getAtIndex(JAVA_FLOAT, o + j) * (f));
        }
    }

    /** Softmax backward of one row: {@code dx[j] = s·y[j]·(dy[j] − Σ_i y[i]·dy[i])}, written; dx may be dy. */
    static void softmaxBackwardRow(MemorySegment y, int yo, MemorySegment dy, int go, MemorySegment dx, int xo, int l, float scale) {
        float dot = (float) NnMath.dot(y, yo, dy, go, l);
        int full = S.loopBound(l);
        int j = 0;
        for (; j < full; j += V) {
            FloatVector g = FloatVector.fromMemorySegment(S, dy, 4L * (go + j), ORDER).sub(dot);
            FloatVector.fromMemorySegment(S, y, 4L * (yo + j), ORDER).mul(scale).mul(g).intoMemorySegment(dx, 4L * (xo + j), ORDER);
        }
        for (; j < l; j++) {
            dx.setAtIndex(JAVA_FLOAT, xo + j, scale * y.getAtIndex(JAVA_FLOAT, yo + j) * (dy.getAtIndex(JAVA_FLOAT, go + j) - dot));
        }
    }

    /**
     * Cross-entropy of one row with label smoothing ε:
     * {@code lse − (1−ε)·x[target] − ε·mean(x)}, in double from the float row sums.
     */
    static float crossEntropyRow(MemorySegment x, int xo, int v, int target, float smoothing) {
        float m = NnMath.maxScaled(x, xo, v, 1f);
        double lse = m + Math.log(NnMath.expShifted(x, xo, null, 0, v, 1f, m));
        double mean = smoothing == 0f ? 0 : NnMath.sum(x, xo, v) / v;
        return (float) (lse - (1 - (double) smoothing) * x.getAtIndex(JAVA_FLOAT, xo + target) - smoothing * mean);
    }

    /**
     * Cross-entropy backward of one row, written: {@code d[j] = g·(p[j] − ε/V − (1−ε)·[j = target])}
     * with p = softmax(x); d may be x at the same offset (the exponentials overwrite the logits as
     * they are read).
     */
    static void crossEntropyBackwardRow(MemorySegment x, int xo, MemorySegment d, int dOff, int v, int target, float smoothing,
                                        float g) {
        float m = NnMath.maxScaled(x, xo, v, 1f);
        float inv = (float) (1.0 / NnMath.expShifted(x, xo, d, dOff, v, 1f, m));
        float off = (float) (smoothing / (double) v);
        float onTarget = (float) (smoothing / (double) v + (1 - (double) smoothing));
        float eTarget = d.getAtIndex(JAVA_FLOAT, dOff + target);
        int full = S.loopBound(v);
        int j = 0;
        for (; j < full; j += V) {
            FloatVector.fromMemorySegment(S, d, 4L * (dOff + j), ORDER).mul(inv).sub(off).mul(g).intoMemorySegment(d, 4L * (dOff + j), ORDER);
        }
        for (; j < v; j++) {
            d.setAtIndex(JAVA_FLOAT, dOff + j, (d.getAtIndex(JAVA_FLOAT, dOff + j) * inv - off) * g);
        }
        d.setAtIndex(JAVA_FLOAT, dOff + target, (eTarget * inv - onTarget) * g);
    }
}
