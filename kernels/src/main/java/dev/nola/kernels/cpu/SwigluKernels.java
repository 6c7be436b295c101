package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.NnMath.S;
import static dev.nola.kernels.cpu.NnMath.V;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * SwiGLU, {@code silu(gate)·up}, forward and backward over a range of elements, in blocks that stay
 * in L1 as {@link GeluKernels}: the exponent arguments −|gate| go into a scratch block, {@link NnMath}
 * exponentiates it in place (its exp, not {@code lanewise(EXP)}, so results do not depend on JIT
 * state), and a second pass finishes. With t = e^(−|g|) ∈ (0, 1], σ(g) = 1/(1 + t) for g ≥ 0 and
 * t/(1 + t) for g &lt; 0, so no exp overflows and the negative tail keeps its relative accuracy;
 * σ(1 − σ) = t/(1 + t)² for either sign, and silu'(g) = σ + g·t/(1 + t)².
 */
final class SwigluKernels {

    /** Elements per block: the scratch block (4 KiB) and the operands' blocks stay in L1. */
    static final int BLOCK = 1024;

    private SwigluKernels() {
    }

    /** s[i] = −|gate[go + i]| for i &lt; len. */
    private static void arguments(float[] gate, int go, float[] s, int len) {
        int full = S.loopBound(len);
        int i = 0;
        for (; i < full; i += V) {
            FloatVector.fromArray(S, gate, go + i).lanewise(VectorOperators.ABS).neg().intoArray(s, i);
        }
        for (; i < len; i++) {
            s[i] = -Math.abs(gate[go + i]);
        }
    }

    /** out[oo + i] = silu(gate[go + i])·up[uo + i] for i &lt; n; out may be gate or up at the same offset. */
    static void forward(float[] gate, int go, float[] up, int uo, float[] out, int oo, int n) {
        float[] scratch = new float[BLOCK];
        for (int b = 0; b < n; b += BLOCK) {
            int len = Math.min(BLOCK, n - b);
            arguments(gate, go + b, scratch, len);
            NnMath.expShifted(scratch, 0, scratch, 0, len, 1f, 0f);
            int full = S.loopBound(len);
            int i = 0;
            for (; i < full; i += V) {
                FloatVector g = FloatVector.fromArray(S, gate, go + b + i);
                FloatVector t = FloatVector.fromArray(S, scratch, i);
                VectorMask<Float> neg = g.lt(0f);
                FloatVector silu = g.mul(FloatVector.broadcast(S, 1f).blend(t, neg)).div(t.add(1f));
                silu.mul(FloatVector.fromArray(S, up, uo + b + i)).intoArray(out, oo + b + i);
            }
            for (; i < len; i++) {
                float g = gate[go + b + i];
                float t = scratch[i];
                out[oo + b + i] = g * (g < 0f ? t : 1f) / (t + 1f) * up[uo + b + i];
            }
        }
    }

    /** dgate += dout·up·silu'(gate), dup += dout·silu(gate), for i &lt; n. */
    static void backward(float[] gate, int go, float[] up, int uo, float[] dout, int doo, float[] dgate, int dgo, float[] dup,
                         int duo, int n) {
        float[] scratch = new float[BLOCK];
        for (int b = 0; b < n; b += BLOCK) {
            int len = Math.min(BLOCK, n - b);
            arguments(gate, go + b, scratch, len);
            NnMath.expShifted(scratch, 0, scratch, 0, len, 1f, 0f);
            int full = S.loopBound(len);
            int i = 0;
            for (; i < full; i += V) {
                int e = b + i;
                FloatVector g = FloatVector.fromArray(S, gate, go + e);
                FloatVector t = FloatVector.fromArray(S, scratch, i);
                FloatVector onePlus = t.add(1f);
                FloatVector sigma = FloatVector.broadcast(S, 1f).blend(t, g.lt(0f)).div(onePlus);
                FloatVector grad = g.mul(t).div(onePlus.mul(onePlus)).add(sigma);
                FloatVector d = FloatVector.fromArray(S, dout, doo + e);
                d.mul(FloatVector.fromArray(S, up, uo + e)).fma(grad, FloatVector.fromArray(S, dgate, dgo + e)).intoArray(dgate, dgo + e);
                d.fma(g.mul(sigma), FloatVector.fromArray(S, dup, duo + e)).intoArray(dup, duo + e);
            }
            for (; i < len; i++) {
                int e = b + i;
                float g = gate[go + e];
                float t = scratch[i];
                float onePlus = t + 1f;
                float sigma = (g < 0f ? t : 1f) / onePlus;
                float grad = g * t / (onePlus * onePlus) + sigma;
                float d = dout[doo + e];
                dgate[dgo + e] = Math.fma(d * up[uo + e], grad, dgate[dgo + e]);
                dup[duo + e] = Math.fma(d, g * sigma, dup[duo + e]);
            }
        }
    }
}
