package dev.nola.kernels.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * How the cpu kernels address tensor memory: tensors are {@link java.lang.foreign.MemorySegment}s
 * (native for the cpu device; heap-backed when a cpu family runs on a heap device in a test), read
 * and written by element index ({@code getAtIndex(JAVA_FLOAT, i)}) and by vector at byte offset
 * {@code 4·i} in the platform's byte order.
 */
final class SegmentAccess {

    /** The byte order of every vector load and store: the platform's, as the scalar layouts use. */
    static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private SegmentAccess() {
    }

    /**
     * A zeroed scratch buffer of {@code n} floats in native memory, readable by every thread, freed
     * by the GC once unreachable. Native rather than {@code MemorySegment.ofArray(float[])}: vector
     * loads and stores on a segment over a float[] are not intrinsified and ran 10–25× slower
     * (GELU forward, measured side by side).
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
