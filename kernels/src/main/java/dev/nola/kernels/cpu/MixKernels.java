package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.SegmentAccess.ORDER;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The memory-bound NOLA kernels on a materialised basis [k, n] (row-major, row i = basis matrix i):
 * mixing (a transposed GEMV whose per-element order is fixed by the contract) and the coefficient
 * gradient (a GEMV). Both read the basis exactly once and are parallel over the common fork-join
 * pool.
 */
final class MixKernels {

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int V = S.length();
    /**
     * The widest mixing tile: its accumulators (16 KiB) stay in L1 while every basis row streams a
     * contiguous 16 KiB segment, which the hardware prefetchers follow. Measured against 512, 1024
     * and 2048 on the development machine (interleaved with a triad, best of 15): 4096 reached the
     * triad's bandwidth, 1024 about 80% of it, 512 about 60%.
     */
    static final int MIX_TILE = 4096;
    /**
     * Basis rows folded into the accumulators per pass over a tile. Two, not four: over 60 bases of
     * the LLaMA step's shapes (k = 1000, n = 4608 and 1536; 1.1 GB, so from DRAM) on the 2-core
     * development machine, side by side in one JVM, two rows per pass mixed at 35–40 GB/s against
     * four's 21–25 (one row: about 20), at any tile width from 768 to n/2; on a more loaded machine
     * 22–27 against 15–20. Four concurrent row streams per thread are more than the hardware
     * prefetchers follow well; the accumulators' extra loads and stores hit L1.
     */
    static final int MIX_ROWS = 2;
    /** Basis rows per group of the coefficient gradient (four rows share each load of grad). */
    private static final int ROWS = 4;

    private MixKernels() {
    }

    /**
     * out[e] = off[e] (or 0) + Σ_i c[i]·basis[i·n + e] with one fma per term in ascending i, so the
     * result is bit-identical to the scalar definition. {@code off} may be {@code out}.
     */
    static void mix(MemorySegment c, MemorySegment basis, MemorySegment off, MemorySegment out, int k, int n) {
        // Narrower tiles when n is small, so that every core gets one.
        int threads = Runtime.getRuntime().availableProcessors();
        int perThread = (n + threads - 1) / threads;
        int tile = Math.clamp((perThread + V - 1) / V * V, 256, MIX_TILE);
        mix(c, basis, off, out, k, n, tile);
    }

    /** As {@link #mix} with tiles of {@code tile} columns (for tuning). */
    static void mix(MemorySegment c, MemorySegment basis, MemorySegment off, MemorySegment out, int k, int n, int tile) {
        int tiles = (n + tile - 1) / tile;
        boolean parallel = tiles > 1 && (long) k * n >= (1 << 16);
        if (parallel) {
            IntStream.range(0, tiles).parallel().forEach(t -> mixTile(c, basis, off, out, k, n, t * tile, tile));
        } else {
            for (int t = 0; t < tiles; t++) {
                mixTile(c, basis, off, out, k, n, t * tile, tile);
            }
        }
    }

    private static void mixTile(MemorySegment c, MemorySegment basis, MemorySegment off, MemorySegment out, int k, int n, int e0, int tile) {
        int width = Math.min(tile, n - e0);
        float[] acc = new float[width];
        if (off != null) {
            MemorySegment.copy(off, JAVA_FLOAT, 4L * e0, acc, 0, width);
        }
        int vb = S.loopBound(width);
        int i = 0;
        for (; i + MIX_ROWS <= k; i += MIX_ROWS) {
            long r0 = 4L * ((long) i * n + e0);
            twoRows(acc, basis, r0, r0 + 4L * n, c.getAtIndex(JAVA_FLOAT, i), c.getAtIndex(JAVA_FLOAT, i + 1), vb, width);
        }
        for (; i < k; i++) {
            oneRow(acc, basis, 4L * ((long) i * n + e0), c.getAtIndex(JAVA_FLOAT, i), vb, width);
        }
        MemorySegment.copy(acc, 0, out, JAVA_FLOAT, 4L * e0, width);
    }

    /** acc[e] = fma(c1, basis row 1, fma(c0, basis row 0, acc[e])) over the tile; rows at byte offsets r0, r1. */
    private static void twoRows(float[] acc, MemorySegment basis, long r0, long r1, float c0, float c1, int vb, int width) {
        FloatVector x0 = FloatVector.broadcast(S, c0);
        FloatVector x1 = FloatVector.broadcast(S, c1);
        int e = 0;
        for (; e < vb; e += V) {
            FloatVector a = FloatVector.fromMemorySegment(S, basis, r0 + 4L * e, ORDER).fma(x0, FloatVector.fromArray(S, acc, e));
            FloatVector.fromMemorySegment(S, basis, r1 + 4L * e, ORDER).fma(x1, a).intoArray(acc, e);
        }
        for (; e < width; e++) {
            float a = Math.fma(c0, basis.get(JAVA_FLOAT, r0 + 4L * e), acc[e]);
            acc[e] = Math.fma(c1, basis.get(JAVA_FLOAT, r1 + 4L * e), a);
        }
    }

    /** acc[e] = fma(c0, basis row, acc[e]) over the tile; the row at byte offset r0. */
    private static void oneRow(float[] acc, MemorySegment basis, long r0, float c0, int vb, int width) {
        FloatVector x0 = FloatVector.broadcast(S, c0);
        int e = 0;
        for (; e < vb; e += V) {
            FloatVector.fromMemorySegment(S, basis, r0 + 4L * e, ORDER).fma(x0, FloatVector.fromArray(S, acc, e)).intoArray(acc, e);
        }
        for (; e < width; e++) {
            acc[e] = Math.fma(c0, basis.get(JAVA_FLOAT, r0 + 4L * e), acc[e]);
        }
    }

    /** out[i] = Σ_e basis[i·n + e]·grad[e], in any order (four rows share each load of grad). */
    static void coefficientGradient(MemorySegment basis, MemorySegment grad, MemorySegment out, int k, int n) {
        int groups = (k + ROWS - 1) / ROWS;
        boolean parallel = groups > 1 && (long) k * n >= (1 << 16);
        if (parallel) {
            IntStream.range(0, groups).parallel().forEach(g -> gradientRows(basis, grad, out, k, n, g * ROWS));
        } else {
            for (int g = 0; g < groups; g++) {
                gradientRows(basis, grad, out, k, n, g * ROWS);
            }
        }
    }

    private static void gradientRows(MemorySegment basis, MemorySegment grad, MemorySegment out, int k, int n, int i0) {
        if (i0 + ROWS > k) {
            for (int i = i0; i < k; i++) {
                out.setAtIndex(JAVA_FLOAT, i, dot(basis, i * n, grad, 0, n));
            }
            return;
        }
        int r0 = i0 * n;
        int r1 = r0 + n;
        int r2 = r1 + n;
        int r3 = r2 + n;
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        FloatVector b0 = FloatVector.zero(S), b1 = FloatVector.zero(S), b2 = FloatVector.zero(S), b3 = FloatVector.zero(S);
        int bound2 = n - n % (2 * V);
        int e = 0;
        for (; e < bound2; e += 2 * V) {
            FloatVector g0 = FloatVector.fromMemorySegment(S, grad, 4L * e, ORDER);
            FloatVector g1 = FloatVector.fromMemorySegment(S, grad, 4L * (e + V), ORDER);
            a0 = FloatVector.fromMemorySegment(S, basis, 4L * (r0 + e), ORDER).fma(g0, a0);
            b0 = FloatVector.fromMemorySegment(S, basis, 4L * (r0 + e + V), ORDER).fma(g1, b0);
            a1 = FloatVector.fromMemorySegment(S, basis, 4L * (r1 + e), ORDER).fma(g0, a1);
            b1 = FloatVector.fromMemorySegment(S, basis, 4L * (r1 + e + V), ORDER).fma(g1, b1);
            a2 = FloatVector.fromMemorySegment(S, basis, 4L * (r2 + e), ORDER).fma(g0, a2);
            b2 = FloatVector.fromMemorySegment(S, basis, 4L * (r2 + e + V), ORDER).fma(g1, b2);
            a3 = FloatVector.fromMemorySegment(S, basis, 4L * (r3 + e), ORDER).fma(g0, a3);
            b3 = FloatVector.fromMemorySegment(S, basis, 4L * (r3 + e + V), ORDER).fma(g1, b3);
        }
        // lanes added in lane order (reduceLanes' order is unspecified and differs between the
        // interpreter and C2, which would make a resumed run differ from an uninterrupted one)
        float[] lanes = new float[V];
        a0.add(b0).intoArray(lanes, 0);
        float s0 = laneSum(lanes);
        a1.add(b1).intoArray(lanes, 0);
        float s1 = laneSum(lanes);
        a2.add(b2).intoArray(lanes, 0);
        float s2 = laneSum(lanes);
        a3.add(b3).intoArray(lanes, 0);
        float s3 = laneSum(lanes);
        for (; e < n; e++) {
            float g = grad.getAtIndex(JAVA_FLOAT, e);
            s0 = Math.fma(basis.getAtIndex(JAVA_FLOAT, r0 + e), g, s0);
            s1 = Math.fma(basis.getAtIndex(JAVA_FLOAT, r1 + e), g, s1);
            s2 = Math.fma(basis.getAtIndex(JAVA_FLOAT, r2 + e), g, s2);
            s3 = Math.fma(basis.getAtIndex(JAVA_FLOAT, r3 + e), g, s3);
        }
        out.setAtIndex(JAVA_FLOAT, i0, s0);
        out.setAtIndex(JAVA_FLOAT, i0 + 1, s1);
        out.setAtIndex(JAVA_FLOAT, i0 + 2, s2);
        out.setAtIndex(JAVA_FLOAT, i0 + 3, s3);
    }

    /** lanes[0] + lanes[1] + … in index order: a reduction whose result does not depend on the JIT. */
    static float laneSum(float[] lanes) {
        float s = 0f;
        for (float x : lanes) {
            s += x;
        }
        return s;
    }

    /** Σ_e a[aOff + e]·b[bOff + e] over e &lt; len, two vector accumulators, lanes summed in order. */
    static float dot(MemorySegment a, int aOff, MemorySegment b, int bOff, int len) {
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = FloatVector.zero(S);
        int bound2 = len - len % (2 * V);
        int e = 0;
        for (; e < bound2; e += 2 * V) {
            s0 = FloatVector.fromMemorySegment(S, a, 4L * (aOff + e), ORDER).fma(FloatVector.fromMemorySegment(S, b, 4L * (bOff + e), ORDER), s0);
            s1 = FloatVector.fromMemorySegment(S, a, 4L * (aOff + e + V), ORDER).fma(FloatVector.fromMemorySegment(S, b, 4L * (bOff + e + V), ORDER), s1);
        }
        float[] lanes = new float[V];
        s0.add(s1).intoArray(lanes, 0);
        float sum = laneSum(lanes);
        for (; e < len; e++) {
            sum = Math.fma(a.getAtIndex(JAVA_FLOAT, aOff + e), b.getAtIndex(JAVA_FLOAT, bOff + e), sum);
        }
        return sum;
    }
}
