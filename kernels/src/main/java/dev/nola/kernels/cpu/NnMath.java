package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.SegmentAccess.ORDER;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The row primitives of the nn kernels on float arrays: a vector exp, and sums, dot products and
 * maxima over a row. Every result is a function of the input bits alone:
 * <ul>
 *   <li>exp is computed here from IEEE additions, multiplications and fmas, not with
 *       {@code lanewise(EXP)}: that one is the SVML routine once C2 has compiled the caller but the
 *       scalar {@code Math.exp} before, and the two differ in the last bit for about 1% of inputs, so
 *       the same call would give different results before and after warm-up;</li>
 *   <li>sums never use {@code reduceLanes(ADD)} (its order is unspecified); vector lanes are
 *       accumulated over blocks of {@link #BLOCK} elements and then added lane by lane, in lane
 *       order, into a double.</li>
 * </ul>
 */
final class NnMath {

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int V = S.length();
    /** Elements per vector-accumulator block of a sum: 64 terms per lane, then a double. */
    static final int BLOCK = 64 * V;

    private static final float LOG2E = 1.44269504088896341f;
    /** ln 2 split for Cody–Waite reduction: HI has 9 trailing zero bits, so n·HI is exact for |n| ≤ 2⁹. */
    private static final float LN2_HI = 0.693145751953125f;
    private static final float LN2_LO = 1.42860682030941723212e-6f;
    /** 1.5·2²³: adding it rounds a float of magnitude below 2²² to an integer held in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;
    /** The bits of ROUNDER less the exponent bias, so that (bits(k) − this) &lt;&lt; 23 is the float 2ⁿ. */
    private static final int ROUNDER_BITS_LESS_BIAS = Float.floatToRawIntBits(ROUNDER) - 127;
    /** exp is computed on [−88, 88]; below −87.34 the result is 0 or a subnormal (the true value is &lt; 1.2e-38). */
    private static final float EXP_LO = -88f;
    private static final float EXP_HI = 88f;
    // Taylor coefficients 1/k! of exp(r) on |r| ≤ ln2/2: the r⁸/8! remainder is below 5.2e-9 relative (0.05 ulp).
    private static final float E2 = 1f / 2;
    private static final float E3 = 1f / 6;
    private static final float E4 = 1f / 24;
    private static final float E5 = 1f / 120;
    private static final float E6 = 1f / 720;
    private static final float E7 = 1f / 5040;
    private static final FloatVector NEG_LN2_HI = FloatVector.broadcast(S, -LN2_HI);
    private static final FloatVector NEG_LN2_LO = FloatVector.broadcast(S, -LN2_LO);
    private static final FloatVector V_E2 = FloatVector.broadcast(S, E2);
    private static final FloatVector V_E3 = FloatVector.broadcast(S, E3);
    private static final FloatVector V_E4 = FloatVector.broadcast(S, E4);
    private static final FloatVector V_E5 = FloatVector.broadcast(S, E5);
    private static final FloatVector V_ONE = FloatVector.broadcast(S, 1f);

    private NnMath() {
    }

    /**
     * {@code out[oo + j] = exp(scale·x[xo + j] − shift)} for j &lt; len (the argument formed with one
     * rounding, by fma) and returns the sum of those values; {@code out} may be {@code x} at the same
     * offset (in place), or null to only sum. Accurate to about 2 ulp for arguments in [−87, 88];
     * arguments below give 0 or a subnormal, −∞ gives 0, NaN gives NaN.
     *
     * <p>The clamp to [−88, 88] is a compare and a blend rather than {@code max/min}, whose Java
     * semantics (NaN, −0) cost C2 several instructions each: the whole exp ran 15% faster so.
     *
     * <p>exp(a) = 2ⁿ·exp(r) with n = round(a·log₂e) and r = a − n·ln2 (|r| ≤ ln2/2, Cody–Waite with
     * fmas), exp(r) by its Taylor polynomial of degree 7, and 2ⁿ built in the exponent bits.
     */
    static double expShifted(MemorySegment x, int xo, MemorySegment out, int oo, int len, float scale, float shift) {
        FloatVector vs = FloatVector.broadcast(S, scale);
        FloatVector vShift = FloatVector.broadcast(S, -shift);
        float[] lanes = new float[V];
        double total = 0;
        int full = S.loopBound(len);
        int j = 0;
        while (j < len) {
            FloatVector acc = FloatVector.zero(S);
            int blockEnd = Math.min(full, j + BLOCK);
            for (; j < blockEnd; j += V) {
                FloatVector e = exp(FloatVector.fromMemorySegment(S, x, 4L * (xo + j), ORDER).fma(vs, vShift));
                if (out != null) {
                    e.intoMemorySegment(out, 4L * (oo + j), ORDER);
                }
                acc = acc.add(e);
            }
            if (j == full && j < len) {
                // The ragged end as one masked vector: the same formula, so every element gets the same bits
                // whatever its position.
                VectorMask<Float> m = S.indexInRange(j, len);
                FloatVector e = exp(FloatVector.fromMemorySegment(S, x, 4L * (xo + j), ORDER, m).fma(vs, vShift));
                if (out != null) {
                    e.intoMemorySegment(out, 4L * (oo + j), ORDER, m);
                }
                acc = acc.add(e, m);
                j = len;
            }
            acc.intoArray(lanes, 0);
            for (float lane : lanes) {
                total += lane;
            }
        }
        return total;
    }

    /** exp of every lane, by the scheme of {@link #expShifted} (clamp, Cody–Waite, degree-7 Taylor, 2ⁿ from bits). */
    private static FloatVector exp(FloatVector arg) {
        FloatVector a = arg.blend(EXP_LO, arg.lt(EXP_LO)).blend(EXP_HI, arg.compare(VectorOperators.GT, EXP_HI));
        FloatVector k = a.fma(LOG2E, ROUNDER);
        FloatVector n = k.sub(ROUNDER);
        FloatVector r = n.fma(NEG_LN2_HI, a);
        r = n.fma(NEG_LN2_LO, r);
        FloatVector p = r.fma(E7, E6);
        p = p.fma(r, V_E5);
        p = p.fma(r, V_E4);
        p = p.fma(r, V_E3);
        p = p.fma(r, V_E2);
        p = p.fma(r, V_ONE);
        p = p.fma(r, V_ONE);
        FloatVector pow2 = ((IntVector) k.reinterpretAsInts()).sub(ROUNDER_BITS_LESS_BIAS)
                .lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(pow2);
    }

    /** Σ x[xo + j] for j &lt; len, in the fixed order of the class comment. */
    static double sum(MemorySegment x, int xo, int len) {
        float[] lanes = new float[V];
        double total = 0;
        int full = S.loopBound(len);
        int j = 0;
        while (j < full) {
            FloatVector acc = FloatVector.zero(S);
            int blockEnd = Math.min(full, j + BLOCK);
            for (; j < blockEnd; j += V) {
                acc = acc.add(FloatVector.fromMemorySegment(S, x, 4L * (xo + j), ORDER));
            }
            acc.intoArray(lanes, 0);
            for (float lane : lanes) {
                total += lane;
            }
        }
        for (; j < len; j++) {
            total += x.getAtIndex(JAVA_FLOAT, xo + j);
        }
        return total;
    }

    /** Σ a[ao + j]·b[bo + j] for j &lt; len (products by fma into the lanes), in a fixed order. */
    static double dot(MemorySegment a, int ao, MemorySegment b, int bo, int len) {
        float[] lanes = new float[V];
        double total = 0;
        int full = S.loopBound(len);
        int j = 0;
        while (j < full) {
            FloatVector acc = FloatVector.zero(S);
            int blockEnd = Math.min(full, j + BLOCK);
            for (; j < blockEnd; j += V) {
                acc = FloatVector.fromMemorySegment(S, a, 4L * (ao + j), ORDER).fma(FloatVector.fromMemorySegment(S, b, 4L * (bo + j), ORDER), acc);
            }
            acc.intoArray(lanes, 0);
            for (float lane : lanes) {
                total += lane;
            }
        }
        for (; j < len; j++) {
            total += (double) a.getAtIndex(JAVA_FLOAT, ao + j) * b.getAtIndex(JAVA_FLOAT, bo + j);
        }
        return total;
    }

    /**
     * max_j scale·x[xo + j] over j &lt; len (len &gt; 0), each product rounded to float. NaN entries are
     * skipped (they make the exp sum NaN anyway); a compare and a blend instead of {@code max}, whose
     * Java semantics cost C2 twice the time.
     */
    static float maxScaled(MemorySegment x, int xo, int len, float scale) {
        int full = S.loopBound(len);
        float m = Float.NEGATIVE_INFINITY;
        int j = 0;
        if (full > 0) {
            FloatVector vm = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (; j < full; j += V) {
                FloatVector v = FloatVector.fromMemorySegment(S, x, 4L * (xo + j), ORDER).mul(scale);
                vm = vm.blend(v, v.compare(VectorOperators.GT, vm));
            }
            m = vm.reduceLanes(VectorOperators.MAX);
        }
        for (; j < len; j++) {
            float v = scale * x.getAtIndex(JAVA_FLOAT, xo + j);
            if (v > m) {
                m = v;
            }
        }
        return m;
    }
}
