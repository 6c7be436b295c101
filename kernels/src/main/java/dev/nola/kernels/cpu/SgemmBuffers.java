package dev.nola.kernels.cpu;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * One part's packing buffers for {@link Sgemm}: packed B, packed A, the register tile's spill and the
 * staged rows of a Bᵀ panel. A part takes a set from a shared pool and gives it back when it ends,
 * so the pool holds as many sets as parts ever ran at once (the cores, plus the calling thread).
 *
 * <p>Why not thread-locals: on JDK 25 (checked here) the common fork-join pool's workers erase their thread-locals
 * each time they go idle, which between two products they nearly always do. Thread-local buffers
 * were therefore allocated and zeroed anew for almost every parallel call: JFR counted ~490 MB of
 * {@code float[]} per three timed steps of a 2-layer GPT-2 (so 350–500 MB per step at 12 layers), the
 * garbage that set much of a cpu step's heap and RSS.
 */
final class SgemmBuffers {

    private static final ConcurrentLinkedDeque<SgemmBuffers> POOL = new ConcurrentLinkedDeque<>();

    /** Packed op(B) of one k slice of a column block; grown on demand, at most NC·KC floats. */
    float[] b = new float[0];
    /** Packed op(A): one MC × KC block. */
    final float[] a = new float[Sgemm.MC * Sgemm.KC];
    /** The micro-kernel's tile, stored before it is added to C. */
    final float[] tile = new float[Math.max(Sgemm.MR * Sgemm.NR, Sgemm.MR_NARROW * Sgemm.V)];
    /** Rows of one Bᵀ panel before they are transposed (NR × STAGE floats, native for vector access). */
    final MemorySegment staged = SegmentAccess.scratch(Sgemm.NR * SgemmPack.STAGE);

    private SgemmBuffers() {
    }

    /** A set no other part uses until it is {@link #release}d. */
    static SgemmBuffers take() {
        SgemmBuffers s = POOL.pollFirst();
        return s != null ? s : new SgemmBuffers();
    }

    /** Packed B with room for {@code floats}. */
    float[] packedB(int floats) {
        if (b.length < floats) {
            b = new float[floats];
        }
        return b;
    }

    void release() {
        POOL.addFirst(this);
    }
}
