package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.SegmentAccess.get;
import static dev.nola.kernels.cpu.SegmentAccess.load;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code C[m,n] = alpha·op(A)·op(B) + beta·C} for a few rows of C (m ≤ {@link #MAX_ROWS}): a decode
 * step's projections and LM head (one token per sequence), where {@link Sgemm} would pack the whole
 * of op(B) (a weight: for the head 50,257 × 768 floats, written and read again) and fill three
 * quarters of its 4-row register tile with padding. Here B is read once, in place, and every row of
 * op(A) (copied to a contiguous scratch row, k floats) is applied to it while it is in registers: the
 * product runs at memory bandwidth. A, B and C are segments (element offsets, as {@link Sgemm}); the
 * copied rows of op(A) and the per-block accumulators are small heap arrays, never wrapped as segments.
 * B may be bfloat16 (a frozen weight): its elements are widened exactly as they are loaded, so a
 * bfloat16 decode step reads half the bytes of B and sums as the float32 path does over the widened B.
 *
 * <p>Two layouts of B: stored [n, k] (op(B) = Bᵀ, as a linear layer's weight or the LM head): each
 * column of C is a dot product of a row of B with each row of op(A), lanes summed at the end; stored
 * [k, n]: each row of B is added into vector accumulators of C's columns (a block of columns per task).
 * Columns are split among the common fork-join pool's threads in fixed blocks, and every element of C
 * is summed in an order fixed by k alone, so results do not depend on the thread count.
 */
final class Gemv {

    /** The most rows of C taken here; more go to {@link Sgemm}, whose packing then pays off. */
    static final int MAX_ROWS = 4;

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int V = S.length();
    /** Columns of C per parallel task (a multiple of the 2-vector tile). */
    private static final int BLOCK = 256;
    /** Below this many multiply-adds the product runs on the calling thread. */
    private static final long PARALLEL_THRESHOLD = 1L << 16;

    private Gemv() {
    }

    /** Whether a product of m rows is taken here. */
    static boolean takes(int m) {
        return m <= MAX_ROWS;
    }

    /**
     * As {@link Sgemm#gemmBatched}, for m ≤ {@link #MAX_ROWS}: large products one after another, each
     * parallel inside; small ones (a decode step's attention heads) one batch per thread. With
     * {@code halfB}, B's elements are bfloat16 bits (offsets and strides of B count 2-byte elements).
     */
    static void gemmBatched(boolean transA, boolean transB, int batch, float alpha,
                            MemorySegment a, int aOff, int lda, long strideA, MemorySegment b, boolean halfB, int bOff, int ldb,
                            long strideB, float beta, MemorySegment c, int cOff, int ldc, long strideC, int m, int n, int k) {
        boolean large = (long) m * n * k >= PARALLEL_THRESHOLD;
        IntStream qs = IntStream.range(0, batch);
        (batch > 1 && !large ? qs.parallel() : qs).forEach(q -> gemm(transA, transB, alpha,
                a, (int) (aOff + q * strideA), lda, b, halfB, (int) (bOff + q * strideB), ldb,
                beta, c, (int) (cOff + q * strideC), ldc, m, n, k, large));
    }

    private static void gemm(boolean transA, boolean transB, float alpha, MemorySegment a, int aOff, int lda,
                             MemorySegment b, boolean halfB, int bOff, int ldb, float beta, MemorySegment c, int cOff, int ldc,
                             int m, int n, int k,
                             boolean mayFork) {
        if (alpha == 0f) { // as BLAS (and Sgemm): C = beta·C, op(A)·op(B) not formed
            for (int i = 0; i < m; i++) {
                for (int j = cOff + i * ldc, end = j + n; j < end; j++) {
                    c.setAtIndex(JAVA_FLOAT, j, beta == 0f ? 0f : beta * c.getAtIndex(JAVA_FLOAT, j));
                }
            }
            return;
        }
        // op(A)'s rows, contiguous (a transposed A is strided by lda)
        float[] x = new float[m * k];
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) {
                x[i * k + p] = a.getAtIndex(JAVA_FLOAT, transA ? aOff + (long) p * lda + i : aOff + (long) i * lda + p);
            }
        }
        int blocks = (n + BLOCK - 1) / BLOCK;
        IntStream r = IntStream.range(0, blocks);
        (blocks > 1 && mayFork ? r.parallel() : r).forEach(blk -> {
            int j0 = blk * BLOCK;
            int j1 = Math.min(n, j0 + BLOCK);
            float[] acc = new float[m * (j1 - j0)];
            if (transB) {
                dots(x, m, k, b, halfB, bOff, ldb, j0, j1, acc);
            } else {
                rows(x, m, k, b, halfB, bOff, ldb, j0, j1, acc);
            }
            for (int i = 0; i < m; i++) {
                for (int j = j0; j < j1; j++) {
                    int ci = cOff + i * ldc + j;
                    float v = alpha * acc[i * (j1 - j0) + j - j0];
                    c.setAtIndex(JAVA_FLOAT, ci, beta == 0f ? v : Math.fma(beta, c.getAtIndex(JAVA_FLOAT, ci), v));
                }
            }
        });
    }

    /**
     * B stored [n, k]: acc[i, j − j0] = Σ_p x[i, p]·B[j, p], two rows of B at a time against every row
     * of x while those two rows are in L1.
     */
    private static void dots(float[] x, int m, int k, MemorySegment b, boolean half, int bOff, int ldb, int j0, int j1, float[] acc) {
        int w = j1 - j0;
        int bound = S.loopBound(k);
        int j = j0;
        for (; j + 1 < j1; j += 2) {
            int r0 = bOff + j * ldb;
            int r1 = r0 + ldb;
            for (int i = 0; i < m; i++) {
                int xi = i * k;
                FloatVector s0 = FloatVector.zero(S);
                FloatVector s1 = FloatVector.zero(S);
                int p = 0;
                for (; p < bound; p += V) {
                    FloatVector xv = FloatVector.fromArray(S, x, xi + p);
                    s0 = load(b, half, r0 + p).fma(xv, s0);
                    s1 = load(b, half, r1 + p).fma(xv, s1);
                }
                float t0 = s0.reduceLanes(VectorOperators.ADD);
                float t1 = s1.reduceLanes(VectorOperators.ADD);
                for (; p < k; p++) {
                    t0 = Math.fma(x[xi + p], get(b, half, r0 + p), t0);
                    t1 = Math.fma(x[xi + p], get(b, half, r1 + p), t1);
                }
                acc[i * w + j - j0] = t0;
                acc[i * w + j + 1 - j0] = t1;
            }
        }
        if (j < j1) {
            for (int i = 0; i < m; i++) {
                acc[i * w + j - j0] = dot(x, i * k, b, half, bOff + j * ldb, k, bound);
            }
        }
    }

    private static float dot(float[] x, int xi, MemorySegment b, boolean half, int r, int k, int bound) {
        FloatVector s = FloatVector.zero(S);
        int p = 0;
        for (; p < bound; p += V) {
            s = load(b, half, r + p).fma(FloatVector.fromArray(S, x, xi + p), s);
        }
        float t = s.reduceLanes(VectorOperators.ADD);
        for (; p < k; p++) {
            t = Math.fma(x[xi + p], get(b, half, r + p), t);
        }
        return t;
    }

    /**
     * B stored [k, n]: acc[i, j − j0] = Σ_p x[i, p]·B[p, j]. Four vectors of columns at a time stay in
     * registers through all k rows of B (each row of B contributes a few cache lines, read once for
     * m = 1; the tile, k·4 vectors, is in L2 for the other rows of x); the last columns one vector, then
     * one float, at a time.
     */
    private static void rows(float[] x, int m, int k, MemorySegment b, boolean half, int bOff, int ldb, int j0, int j1, float[] acc) {
        int w = j1 - j0;
        for (int i = 0; i < m; i++) {
            int xi = i * k;
            int ai = i * w;
            int j = 0;
            for (; j + 4 * V <= w; j += 4 * V) {
                FloatVector s0 = FloatVector.zero(S);
                FloatVector s1 = FloatVector.zero(S);
                FloatVector s2 = FloatVector.zero(S);
                FloatVector s3 = FloatVector.zero(S);
                for (int p = 0, r = bOff + j0 + j; p < k; p++, r += ldb) {
                    FloatVector xs = FloatVector.broadcast(S, x[xi + p]);
                    s0 = load(b, half, r).fma(xs, s0);
                    s1 = load(b, half, r + V).fma(xs, s1);
                    s2 = load(b, half, r + 2 * V).fma(xs, s2);
                    s3 = load(b, half, r + 3 * V).fma(xs, s3);
                }
                s0.intoArray(acc, ai + j);
                s1.intoArray(acc, ai + j + V);
                s2.intoArray(acc, ai + j + 2 * V);
                s3.intoArray(acc, ai + j + 3 * V);
            }
            for (; j + V <= w; j += V) {
                FloatVector s0 = FloatVector.zero(S);
                for (int p = 0, r = bOff + j0 + j; p < k; p++, r += ldb) {
                    s0 = load(b, half, r).fma(FloatVector.broadcast(S, x[xi + p]), s0);
                }
                s0.intoArray(acc, ai + j);
            }
            for (; j < w; j++) {
                float t = 0f;
                for (int p = 0, r = bOff + j0 + j; p < k; p++, r += ldb) {
                    t = Math.fma(x[xi + p], get(b, half, r), t);
                }
                acc[ai + j] = t;
            }
        }
    }
}
