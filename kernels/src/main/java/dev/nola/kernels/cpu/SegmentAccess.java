package dev.nola.kernels.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * How the cpu kernels address tensor memory: tensors are {@link java.lang.foreign.MemorySegment}s
 * (native for the cpu device; heap-backed when a cpu family runs on a heap device in a test), read
 * and written by element index ({@code getAtIndex(JAVA_FLOAT, i)}) and by vector at byte offset
 * {@code 4·i} in the platform's byte order.
 */
final class SegmentAccess {

    /** The byte order of every vector load and store: the platform's, as the scalar layouts use. */
    static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** As many shorts (bfloat16 bits) and ints as {@link #S} has floats: the shapes that widen one float vector. */
    private static final VectorSpecies<Short> HALVES = VectorSpecies.of(short.class, VectorShape.forBitSize(S.length() * 16));
    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, S.vectorShape());

    private SegmentAccess() {
    }

    /**
     * The {@code FloatVector.SPECIES_PREFERRED} vector of the bfloat16 elements m[i .. i + V) (element
     * index: byte offset 2·i), each widened exactly (its 16 bits become the top half of a float32).
     */
    static FloatVector widenHalves(MemorySegment m, long i) {
        return ((IntVector) ShortVector.fromMemorySegment(HALVES, m, 2L * i, ORDER).convertShape(VectorOperators.S2I, INTS, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** The bfloat16 element m[i] widened exactly to float32. */
    static float widenHalf(MemorySegment m, long i) {
        return Float.intBitsToFloat(m.getAtIndex(JAVA_SHORT, i) << 16);
    }

    /**
     * The vector of elements m[i .. i + V) of a float32 segment or, when {@code half}, of a bfloat16 one
     * (widened): where an operand may be either (matmul's B, the embedding table); {@code half} is
     * the same for a whole loop, so the branch costs nothing there.
     */
    static FloatVector load(MemorySegment m, boolean half, long i) {
        return half ? widenHalves(m, i) : FloatVector.fromMemorySegment(S, m, 4L * i, ORDER);
    }

    /** Element m[i] of a float32 segment or, when {@code half}, of a bfloat16 one (widened). */
    static float get(MemorySegment m, boolean half, long i) {
        return half ? widenHalf(m, i) : m.getAtIndex(JAVA_FLOAT, i);
    }

    /**
     * A zeroed scratch buffer of {@code n} floats in native memory, readable by every thread, freed
     * by the GC once unreachable: for a buffer an object kept for good holds ({@link SgemmBuffers}'
     * sets); a call's scratch comes from {@link ScratchPool}, freed deterministically. Native rather
     * than {@code MemorySegment.ofArray(float[])}: vector loads and stores on a segment over a float[]
     * are not intrinsified and ran 10–25× slower (GELU forward, measured side by side).
     */
    static MemorySegment scratch(int n) {
        return Arena.ofAuto().allocate((long) n * Float.BYTES, 64);
    }

    /** dst[d + i] = src[s + i] for i &lt; n (element indices); the ranges may overlap. */
    static void copy(MemorySegment src, long s, MemorySegment dst, long d, long n) {
        MemorySegment.copy(src, s * Float.BYTES, dst, d * Float.BYTES, n * Float.BYTES);
    }

    /** m[i] = value for from &lt;= i &lt; to (element indices). */
    static void fill(MemorySegment m, long from, long to, float value) {
        if (value == 0f && Float.floatToRawIntBits(value) == 0) {
            m.asSlice(from * Float.BYTES, (to - from) * Float.BYTES).fill((byte) 0);
            return;
        }
        for (long i = from; i < to; i++) {
            m.setAtIndex(JAVA_FLOAT, i, value);
        }
    }
}
