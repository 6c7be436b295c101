package dev.nola.kernels.tornado;

import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.vectors.Float16;

/**
 * Sixteen-lane helpers for the CPU kernels, inlined by TornadoVM. PoCL keeps explicit float16
 * arithmetic ({@code Float16.add/sub/mult}, which TornadoVM emits as OpenCL float16 operators) as
 * 512-bit vectors; the other {@code Float16} methods are Java code, emitted lane by lane, which PoCL
 * re-vectorises at most in 256-bit halves ({@code Float16.mult(Float16, float)} is sixteen scalar
 * products): hence {@link #splat} for a scalar operand. Sixteen adjacent scalar loads become one vector
 * load. No helper is named after an OpenCL built-in (max, exp, dot, …): one that TornadoVM does not
 * inline becomes an OpenCL function of that name, and the kernel fails to build.
 *
 * <p>The exception is {@link #fmaSplat16} and {@link #fma16}: {@code Float16} has no fma, TornadoVM
 * fuses only a scalar float multiply whose product feeds an add ({@code OCLFMAPhase}), and sixteen such
 * lanes come out as sixteen scalar {@code fma(x.sI, y.sI, acc.sI)} that PoCL's LLVM packs into one
 * {@code vfmadd231ps} on zmm registers (a broadcast and one fma per accumulator in the sgemm loops, read
 * with {@code objdump -d} from PoCL's kernel cache). Their lanes are read with {@code get(i)}, which
 * TornadoVM intrinsifies, not {@code getS0()} … {@code getS15()}, which are calls: Graal's inliner gives
 * up on a kernel after 5,000 exploration steps ({@code MethodInlineBailoutLimit}, at least one per call),
 * and with 32–48 {@code getS} calls per helper the sgemm kernels passed it and failed to build ("Unable to
 * build sketch for method: get"; with the limit lifted, {@code -Djdk.graal.MethodInlineBailoutLimit=0},
 * they built).
 */
final class Lanes {

    private Lanes() {
    }

    /** x[i .. i + 15]. */
    static Float16 load16(FloatArray x, int i) {
        return new Float16(x.get(i), x.get(i + 1), x.get(i + 2), x.get(i + 3), x.get(i + 4), x.get(i + 5), x.get(i + 6),
                x.get(i + 7), x.get(i + 8), x.get(i + 9), x.get(i + 10), x.get(i + 11), x.get(i + 12), x.get(i + 13),
                x.get(i + 14), x.get(i + 15));
    }

    /** x[i .. i + 15] = the lanes of s. */
    static void store16(FloatArray x, int i, Float16 s) {
        x.set(i, s.getS0());
        x.set(i + 1, s.getS1());
        x.set(i + 2, s.getS2());
        x.set(i + 3, s.getS3());
        x.set(i + 4, s.getS4());
        x.set(i + 5, s.getS5());
        x.set(i + 6, s.getS6());
        x.set(i + 7, s.getS7());
        x.set(i + 8, s.getS8());
        x.set(i + 9, s.getS9());
        x.set(i + 10, s.getS10());
        x.set(i + 11, s.getS11());
        x.set(i + 12, s.getS12());
        x.set(i + 13, s.getS13());
        x.set(i + 14, s.getS14());
        x.set(i + 15, s.getS15());
    }

    /** x in every lane. */
    static Float16 splat(float x) {
        return new Float16(x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x);
    }

    /**
     * acc + x·y in every lane as one fma each: Java rounds the product, TornadoVM writes the scalar
     * multiply-add as {@code fma} (see the class comment).
     */
    static Float16 fmaSplat16(float x, Float16 y, Float16 acc) {
        return new Float16(x * y.get(0) + acc.get(0), x * y.get(1) + acc.get(1), x * y.get(2) + acc.get(2),
                x * y.get(3) + acc.get(3), x * y.get(4) + acc.get(4), x * y.get(5) + acc.get(5), x * y.get(6) + acc.get(6),
                x * y.get(7) + acc.get(7), x * y.get(8) + acc.get(8), x * y.get(9) + acc.get(9), x * y.get(10) + acc.get(10),
                x * y.get(11) + acc.get(11), x * y.get(12) + acc.get(12), x * y.get(13) + acc.get(13),
                x * y.get(14) + acc.get(14), x * y.get(15) + acc.get(15));
    }

    /** acc + x·y lane by lane, one fma each (as {@link #fmaSplat16}). */
    static Float16 fma16(Float16 x, Float16 y, Float16 acc) {
        return new Float16(x.get(0) * y.get(0) + acc.get(0), x.get(1) * y.get(1) + acc.get(1), x.get(2) * y.get(2) + acc.get(2),
                x.get(3) * y.get(3) + acc.get(3), x.get(4) * y.get(4) + acc.get(4), x.get(5) * y.get(5) + acc.get(5),
                x.get(6) * y.get(6) + acc.get(6), x.get(7) * y.get(7) + acc.get(7), x.get(8) * y.get(8) + acc.get(8),
                x.get(9) * y.get(9) + acc.get(9), x.get(10) * y.get(10) + acc.get(10), x.get(11) * y.get(11) + acc.get(11),
                x.get(12) * y.get(12) + acc.get(12), x.get(13) * y.get(13) + acc.get(13), x.get(14) * y.get(14) + acc.get(14),
                x.get(15) * y.get(15) + acc.get(15));
    }

    /** The sixteen lanes added pairwise. */
    static float sum16(Float16 s) {
        return (((s.getS0() + s.getS1()) + (s.getS2() + s.getS3())) + ((s.getS4() + s.getS5()) + (s.getS6() + s.getS7())))
                + (((s.getS8() + s.getS9()) + (s.getS10() + s.getS11())) + ((s.getS12() + s.getS13()) + (s.getS14() + s.getS15())));
    }

    /** The largest lane. */
    static float max16(Float16 s) {
        float a = TornadoMath.max(TornadoMath.max(TornadoMath.max(s.getS0(), s.getS1()), TornadoMath.max(s.getS2(), s.getS3())),
                TornadoMath.max(TornadoMath.max(s.getS4(), s.getS5()), TornadoMath.max(s.getS6(), s.getS7())));
        float b = TornadoMath.max(TornadoMath.max(TornadoMath.max(s.getS8(), s.getS9()), TornadoMath.max(s.getS10(), s.getS11())),
                TornadoMath.max(TornadoMath.max(s.getS12(), s.getS13()), TornadoMath.max(s.getS14(), s.getS15())));
        return TornadoMath.max(a, b);
    }

    /** The lane-wise maximum. */
    static Float16 maximum(Float16 a, Float16 b) {
        return new Float16(TornadoMath.max(a.getS0(), b.getS0()), TornadoMath.max(a.getS1(), b.getS1()),
                TornadoMath.max(a.getS2(), b.getS2()), TornadoMath.max(a.getS3(), b.getS3()), TornadoMath.max(a.getS4(), b.getS4()),
                TornadoMath.max(a.getS5(), b.getS5()), TornadoMath.max(a.getS6(), b.getS6()), TornadoMath.max(a.getS7(), b.getS7()),
                TornadoMath.max(a.getS8(), b.getS8()), TornadoMath.max(a.getS9(), b.getS9()),
                TornadoMath.max(a.getS10(), b.getS10()), TornadoMath.max(a.getS11(), b.getS11()),
                TornadoMath.max(a.getS12(), b.getS12()), TornadoMath.max(a.getS13(), b.getS13()),
                TornadoMath.max(a.getS14(), b.getS14()), TornadoMath.max(a.getS15(), b.getS15()));
    }

    /** e^x lane by lane (sixteen independent exponentials, no chain between them). */
    static Float16 exponential(Float16 x) {
        return new Float16(TornadoMath.exp(x.getS0()), TornadoMath.exp(x.getS1()), TornadoMath.exp(x.getS2()),
                TornadoMath.exp(x.getS3()), TornadoMath.exp(x.getS4()), TornadoMath.exp(x.getS5()), TornadoMath.exp(x.getS6()),
                TornadoMath.exp(x.getS7()), TornadoMath.exp(x.getS8()), TornadoMath.exp(x.getS9()), TornadoMath.exp(x.getS10()),
                TornadoMath.exp(x.getS11()), TornadoMath.exp(x.getS12()), TornadoMath.exp(x.getS13()), TornadoMath.exp(x.getS14()),
                TornadoMath.exp(x.getS15()));
    }

    /** o_slot[i .. i + 15] = the lanes of s over two output slots ({@link NnKernels#slotSet}). */
    static void slotStore16(FloatArray o0, FloatArray o1, int slot, int i, Float16 s) {
        if (slot == 0) {
            store16(o0, i, s);
        } else {
            store16(o1, i, s);
        }
    }

    /** o_slot[i .. i + 15] of two output slots ({@link NnKernels#slotGet}). */
    static Float16 slotLoad16(FloatArray o0, FloatArray o1, int slot, int i) {
        Float16 r;
        if (slot == 0) {
            r = load16(o0, i);
        } else {
            r = load16(o1, i);
        }
        return r;
    }

    /** The square root lane by lane (sixteen independent calls). */
    static Float16 squareRoots(Float16 x) {
        return new Float16(TornadoMath.sqrt(x.getS0()), TornadoMath.sqrt(x.getS1()), TornadoMath.sqrt(x.getS2()),
                TornadoMath.sqrt(x.getS3()), TornadoMath.sqrt(x.getS4()), TornadoMath.sqrt(x.getS5()), TornadoMath.sqrt(x.getS6()),
                TornadoMath.sqrt(x.getS7()), TornadoMath.sqrt(x.getS8()), TornadoMath.sqrt(x.getS9()), TornadoMath.sqrt(x.getS10()),
                TornadoMath.sqrt(x.getS11()), TornadoMath.sqrt(x.getS12()), TornadoMath.sqrt(x.getS13()),
                TornadoMath.sqrt(x.getS14()), TornadoMath.sqrt(x.getS15()));
    }
}
