package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.NnMath.S;
import static dev.nola.kernels.cpu.NnMath.V;
import static dev.nola.kernels.cpu.SegmentAccess.ORDER;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
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
    private static void arguments(MemorySegment gate, int go, MemorySegment s, int len) {
        int full = S.loopBound(len);
        int i = 0;
        for (; i < full; i += V) {
            FloatVector.fromMemorySegment(S, gate, 4L * (go + i), ORDER).lanewise(VectorOperators.ABS).neg().intoMemorySegment(s, 4L * i, ORDER);
        }
        for (; i < len; i++) {
            s.setAtIndex(JAVA_FLOAT, i, -Math.abs(gate.getAtIndex(JAVA_FLOAT, go + i)));
        }
    }

    /** out[oo + i] = silu(gate[go + i])·up[uo + i] for i &lt; n; out may be gate or up at the same offset. */
    static void forward(MemorySegment gate, int go, MemorySegment up, int uo, MemorySegment out, int oo, int n) {
        try (ScratchPool.Buffer held = ScratchPool.take(BLOCK)) {
            MemorySegment scratch = held.segment;
            for (int b = 0; b < n; b += BLOCK) {
                int len = Math.min(BLOCK, n - b);
                arguments(gate, go + b, scratch, len);
                NnMath.expShifted(scratch, 0, scratch, 0, len, 1f, 0f);
                int full = S.loopBound(len);
                int i = 0;
                for (; i < full; i += V) {
                    FloatVector g = FloatVector.fromMemorySegment(S, gate, 4L * (go + b + i), ORDER);
                    FloatVector t = FloatVector.fromMemorySegment(S, scratch, 4L * i, ORDER);
                    VectorMask<Float> neg = g.lt(0f);
                    FloatVector silu = g.mul(FloatVector.broadcast(S, 1f).blend(t, neg)).div(t.add(1f));
                    silu.mul(FloatVector.fromMemorySegment(S, up, 4L * (uo + b + i), ORDER)).intoMemorySegment(out, 4L * (oo + b + i), ORDER);
                }
                for (; i < len; i++) {
                    float g = gate.getAtIndex(JAVA_FLOAT, go + b + i);
                    float t = scratch.getAtIndex(JAVA_FLOAT, i);
                    out.setAtIndex(JAVA_FLOAT, oo + b + i, g * (g < 0f ? t : 1f) / (t + 1f) * up.getAtIndex(JAVA_FLOAT, uo + b + i));
                }
            }
        }
    }

    /** dgate += dout·up·silu'(gate), dup += dout·silu(gate), for i &lt; n. */
    static void backward(MemorySegment gate, int go, MemorySegment up, int uo, MemorySegment dout, int doo, MemorySegment dgate, int dgo, MemorySegment dup,
                         int duo, int n) {
        try (ScratchPool.Buffer held = ScratchPool.take(BLOCK)) {
            MemorySegment scratch = held.segment;
            for (int b = 0; b < n; b += BLOCK) {
                int len = Math.min(BLOCK, n - b);
                arguments(gate, go + b, scratch, len);
                NnMath.expShifted(scratch, 0, scratch, 0, len, 1f, 0f);
                int full = S.loopBound(len);
                int i = 0;
                for (; i < full; i += V) {
                    int e = b + i;
                    FloatVector g = FloatVector.fromMemorySegment(S, gate, 4L * (go + e), ORDER);
                    FloatVector t = FloatVector.fromMemorySegment(S, scratch, 4L * i, ORDER);
                    FloatVector onePlus = t.add(1f);
                    FloatVector sigma = FloatVector.broadcast(S, 1f).blend(t, g.lt(0f)).div(onePlus);
                    FloatVector grad = g.mul(t).div(onePlus.mul(onePlus)).add(sigma);
                    FloatVector d = FloatVector.fromMemorySegment(S, dout, 4L * (doo + e), ORDER);
                    d.mul(FloatVector.fromMemorySegment(S, up, 4L * (uo + e), ORDER)).fma(grad, FloatVector.fromMemorySegment(S, dgate, 4L * (dgo + e), ORDER)).intoMemorySegment(dgate, 4L * (dgo + e), ORDER);
                    d.fma(g.mul(sigma), FloatVector.fromMemorySegment(S, dup, 4L * (duo + e), ORDER)).intoMemorySegment(dup, 4L * (duo + e), ORDER);
                }
                for (; i < len; i++) {
                    int e = b + i;
                    float g = gate.getAtIndex(JAVA_FLOAT, go + e);
                    float t = scratch.getAtIndex(JAVA_FLOAT, i);
                    float onePlus = t + 1f;
                    float sigma = (g < 0f ? t : 1f) / onePlus;
                    float grad = g * t / (onePlus * onePlus) + sigma;
                    float d = dout.getAtIndex(JAVA_FLOAT, doo + e);
                    dgate.setAtIndex(JAVA_FLOAT, dgo + e, Math.fma(d * up.getAtIndex(JAVA_FLOAT, uo + e), grad, dgate.getAtIndex(JAVA_FLOAT, dgo + e)));
                    dup.setAtIndex(JAVA_FLOAT, duo + e, Math.fma(d, g * sigma, dup.getAtIndex(JAVA_FLOAT, duo + e)));
                }
            }
        }
    }
}
