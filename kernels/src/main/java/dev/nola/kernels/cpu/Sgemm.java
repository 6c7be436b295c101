package dev.nola.kernels.cpu;

import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision GEMM, {@code C[m,n] = alpha·op(A)·op(B) + beta·C}, on float arrays in row-major
 * layout, in the GotoBLAS style: op(B) is packed in {@link #KC}-deep slices of {@link #NR}-wide
 * column panels, op(A) in {@link #MC}-row blocks of {@link #MR}-row panels, and a register-blocked
 * micro-kernel keeps an MR × NR tile of C (MR·2 vectors) in registers while it streams one A panel
 * and one B panel through L1. Transposes are absorbed by the packing, so the micro-kernel sees one
 * layout for all four combinations.
 *
 * <p>Order of work: for each k slice (sequential, because C accumulates across slices) op(B) is
 * packed in parallel, then the (row block × column chunk) tiles of C run in parallel on the common
 * fork-join pool, each packing its own A block. The first slice applies {@code beta} (and does not
 * read C when {@code beta == 0}); later slices add.
 */
final class Sgemm {

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int V = S.length();
    /** V shorts (bfloat16 bits) and V ints: the shapes that widen one float vector's worth of a bfloat16 B. */
    private static final VectorSpecies<Short> HALVES = VectorSpecies.of(short.class, VectorShape.forBitSize(V * 16));
    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, S.vectorShape());
    /**
     * Rows of the register tile. 4 × 2 vectors = 8 accumulators, as many as two FMA pipes with a
     * 4-cycle latency keep busy; a 6 × 2 tile (12 accumulators, the textbook choice for 16 AVX2
     * registers) ran ~30% slower in isolation under C2, which appears to spill at that pressure.
     */
    static final int MR = 4;
    /** Columns of the register tile: two vectors. */
    static final int NR = 2 * V;
    /** Depth of one k slice: an A panel (MR·KC) and a B panel (NR·KC) fit L1 together. */
    static final int KC = 256;
    /** Rows of the narrow register tile, used when op(B) has at most one vector of columns (rank-r shapes). */
    static final int MR_NARROW = 8;
    /** Rows of one packed A block (kept in L2); a multiple of MR and MR_NARROW. */
    static final int MC = 96;
    /** Below this many multiply-adds the call runs on the calling thread only. */
    private static final long PARALLEL_THRESHOLD = 1L << 18;

    private static final ThreadLocal<float[]> B_PACK = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> A_PACK = ThreadLocal.withInitial(() -> new float[MC * KC]);
    private static final ThreadLocal<float[]> EDGE = ThreadLocal.withInitial(() -> new float[Math.max(MR * NR, MR_NARROW * V)]);

    private Sgemm() {
    }

    /**
     * Strided batched GEMM: C_q = alpha·op(A_q)·op(B_q) + beta·C_q for q &lt; batch, element (i, j) of
     * stored X_q at {@code x[xOff + q·strideX + i·ldx + j]}. Small products (attention heads) run one
     * batch per thread; large ones one after another, each parallel inside.
     */
    static void gemmBatched(boolean transA, boolean transB, int batch, float alpha,
                            float[] a, int aOff, int lda, long strideA, float[] b, int bOff, int ldb, long strideB,
                            float beta, float[] c, int cOff, int ldc, long strideC, int m, int n, int k) {
        gemmBatched(transA, transB, batch, alpha, a, aOff, lda, strideA, b, null, bOff, ldb, strideB, beta, c, cOff, ldc,
                strideC, m, n, k);
    }

    /**
     * As {@link #gemmBatched(boolean, boolean, int, float, float[], int, int, long, float[], int, int, long, float, float[], int, int, long, int, int, int)}
     * with B given either as floats ({@code b}) or, when {@code bHalf} is not null, as bfloat16 bits
     * ({@code b} then unused): the B packing widens them, so everything after it is the float32 path.
     */
    static void gemmBatched(boolean transA, boolean transB, int batch, float alpha,
                            float[] a, int aOff, int lda, long strideA, float[] b, short[] bHalf, int bOff, int ldb,
                            long strideB, float beta, float[] c, int cOff, int ldc, long strideC, int m, int n, int k) {
        if (batch == 1 || (long) m * n * k >= PARALLEL_THRESHOLD) {
            for (int q = 0; q < batch; q++) {
                gemm(transA, transB, alpha, a, (int) (aOff + q * strideA), lda, b, bHalf, (int) (bOff + q * strideB), ldb,
                        beta, c, (int) (cOff + q * strideC), ldc, m, n, k, true);
            }
            return;
        }
        IntStream.range(0, batch).parallel().forEach(q -> gemm(transA, transB, alpha,
                a, (int) (aOff + q * strideA), lda, b, bHalf, (int) (bOff + q * strideB), ldb,
                beta, c, (int) (cOff + q * strideC), ldc, m, n, k, false));
    }

    /** One GEMM on row-major arrays with offsets and leading dimensions (A [m, k], or [k, m] when transA; B [k, n] or [n, k]). */
    static void gemm(boolean transA, boolean transB, float alpha, float[] a, int aOff, int lda, float[] b, int bOff,
                     int ldb, float beta, float[] c, int cOff, int ldc, int m, int n, int k) {
        gemm(transA, transB, alpha, a, aOff, lda, b, null, bOff, ldb, beta, c, cOff, ldc, m, n, k, true);
    }

    private static void gemm(boolean transA, boolean transB, float alpha, float[] a, int aOff, int lda, float[] b,
                             short[] bHalf, int bOff, int ldb, float beta, float[] c, int cOff, int ldc, int m, int n, int k,
                             boolean mayFork) {
        if (k == 0 || alpha == 0f) {
            scaleC(beta, c, cOff, ldc, m, n);
            return;
        }
        // A product with at most one vector of columns (x·Aᵀ at rank 8) would waste half of the
        // 4 × 2-vector tile on padding; it gets an 8 × 1-vector tile instead.
        boolean narrow = n <= V;
        int tm = narrow ? MR_NARROW : MR;
        int tn = narrow ? V : NR;
        int threads = mayFork && (long) m * n * k >= PARALLEL_THRESHOLD ? Runtime.getRuntime().availableProcessors() : 1;
        // One independent part of C per thread, cut along the dimension with more tiles: each part
        // runs every k slice on its own (its own packed A and B), so no thread ever waits for another
        // until the end. Synchronising every k slice cost a third of the 2-thread throughput.
        int rowTiles = (m + tm - 1) / tm;
        int colTiles = (n + tn - 1) / tn;
        boolean byRows = rowTiles >= colTiles;
        int tiles = byRows ? rowTiles : colTiles;
        int parts = Math.max(1, Math.min(threads, tiles));
        IntStream range = IntStream.range(0, parts);
        (parts > 1 ? range.parallel() : range).forEach(t -> {
            int first = (int) ((long) tiles * t / parts);
            int last = (int) ((long) tiles * (t + 1) / parts);
            int i0 = byRows ? first * tm : 0;
            int i1 = byRows ? Math.min(m, last * tm) : m;
            int j0 = byRows ? 0 : first * tn;
            int j1 = byRows ? n : Math.min(n, last * tn);
            part(transA, transB, alpha, a, aOff, lda, b, bHalf, bOff, ldb, beta, c, cOff, ldc, m, n, k, i0, i1, j0, j1, narrow);
        });
    }

    /** C[i0..i1, j0..j1] of the product, all k slices, on the calling thread. */
    private static void part(boolean transA, boolean transB, float alpha, float[] a, int aOff, int lda, float[] b,
                             short[] bHalf, int bOff, int ldb, float beta, float[] c, int cOff, int ldc,
                             int m, int n, int k, int i0, int i1, int j0, int j1, boolean narrow) {
        int tm = narrow ? MR_NARROW : MR;
        int tn = narrow ? V : NR;
        int panels = (j1 - j0 + tn - 1) / tn;
        float[] bp = B_PACK.get();
        int need = panels * tn * Math.min(KC, k);
        if (bp.length < need) {
            bp = new float[need];
            B_PACK.set(bp);
        }
        float[] ap = A_PACK.get();
        float[] t2 = EDGE.get();
        for (int pc = 0; pc < k; pc += KC) {
            int kc = Math.min(KC, k - pc);
            float slotBeta = pc == 0 ? beta : 1f;
            for (int jp = 0; jp < panels; jp++) {
                if (bHalf != null) {
                    packBHalf(transB, bHalf, bOff, ldb, pc, kc, j0 + jp * tn, Math.min(j1, n), tn, bp, jp * tn * kc);
                } else {
                    packB(transB, b, bOff, ldb, pc, kc, j0 + jp * tn, Math.min(j1, n), tn, bp, jp * tn * kc);
                }
            }
            for (int ib = i0; ib < i1; ib += MC) {
                int mc = Math.min(MC, i1 - ib);
                packA(transA, a, aOff, lda, ib, mc, pc, kc, tm, ap);
                for (int jp = 0; jp < panels; jp++) {
                    int j = j0 + jp * tn;
                    int nr = Math.min(tn, j1 - j);
                    int pOff = jp * tn * kc;
                    for (int i = 0; i < mc; i += tm) {
                        int mr = Math.min(tm, mc - i);
                        if (narrow) {
                            kernelNarrow(kc, ap, i * kc, bp, pOff, t2);
                        } else {
                            kernel(kc, ap, i * kc, bp, pOff, t2);
                        }
                        update(t2, tn, c, cOff, ldc, ib + i, j, mr, nr, alpha, slotBeta);
                    }
                }
            }
        }
    }

    private static void scaleC(float beta, float[] c, int cOff, int ldc, int m, int n) {
        for (int i = 0; i < m; i++) {
            for (int j = cOff + i * ldc, end = j + n; j < end; j++) {
                c[j] = beta == 0f ? 0f : beta * c[j];
            }
        }
    }

    /**
     * Packs the panel of op(B) starting at column j0 (width columns; those at or past jEnd are zero),
     * rows p0..p0+kc-1, as [kc][width] at bp[base..].
     */
    private static void packB(boolean transB, float[] b, int bOff, int ldb, int p0, int kc, int j0, int jEnd, int width,
                              float[] bp, int base) {
        int nr = Math.min(width, jEnd - j0);
        if (!transB) {
            if (nr == width) {
                for (int p = 0; p < kc; p++) {
                    int src = bOff + (p0 + p) * ldb + j0;
                    int dst = base + p * width;
                    for (int q = 0; q < width; q += V) {
                        FloatVector.fromArray(S, b, src + q).intoArray(bp, dst + q);
                    }
                }
            } else {
                for (int p = 0; p < kc; p++) {
                    int src = bOff + (p0 + p) * ldb + j0;
                    int dst = base + p * width;
                    for (int j = 0; j < width; j++) {
                        bp[dst + j] = j < nr ? b[src + j] : 0f;
                    }
                }
            }
        } else {
            // B is [n, k]: column j of op(B) is row j of B, contiguous in p.
            for (int j = 0; j < width; j++) {
                if (j < nr) {
                    int src = bOff + (j0 + j) * ldb + p0;
                    for (int p = 0; p < kc; p++) {
                        bp[base + p * width + j] = b[src + p];
                    }
                } else {
                    for (int p = 0; p < kc; p++) {
                        bp[base + p * width + j] = 0f;
                    }
                }
            }
        }
    }

    /**
     * {@link #packB} for a bfloat16 B: the same panel, each element widened exactly (its 16 bits become
     * the top half of a float32) as it is packed, so the micro-kernel and everything after it are the
     * float32 path and B is read at half the bytes.
     */
    private static void packBHalf(boolean transB, short[] b, int bOff, int ldb, int p0, int kc, int j0, int jEnd,
                                  int width, float[] bp, int base) {
        int nr = Math.min(width, jEnd - j0);
        if (!transB) {
            if (nr == width) {
                for (int p = 0; p < kc; p++) {
                    int src = bOff + (p0 + p) * ldb + j0;
                    int dst = base + p * width;
                    for (int q = 0; q < width; q += V) {
                        ((IntVector) ShortVector.fromArray(HALVES, b, src + q).convertShape(VectorOperators.S2I, INTS, 0))
                                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(bp, dst + q);
                    }
                }
            } else {
                for (int p = 0; p < kc; p++) {
                    int src = bOff + (p0 + p) * ldb + j0;
                    int dst = base + p * width;
                    for (int j = 0; j < width; j++) {
                        bp[dst + j] = j < nr ? Float.intBitsToFloat(b[src + j] << 16) : 0f;
                    }
                }
            }
        } else {
            for (int j = 0; j < width; j++) {
                if (j < nr) {
                    int src = bOff + (j0 + j) * ldb + p0;
                    for (int p = 0; p < kc; p++) {
                        bp[base + p * width + j] = Float.intBitsToFloat(b[src + p] << 16);
                    }
                } else {
                    for (int p = 0; p < kc; p++) {
                        bp[base + p * width + j] = 0f;
                    }
                }
            }
        }
    }

    /** Packs rows i0..i0+mc-1, depth p0..p0+kc-1 of op(A) as panels [kc][rows], zero-padded. */
    private static void packA(boolean transA, float[] a, int aOff, int lda, int i0, int mc, int p0, int kc, int rows, float[] ap) {
        if (transA) {
            // A is [k, m]: row p of A holds op(A)'s column p. Walk A row by row (p outer) so every
            // read is a contiguous run of mc floats; walking a panel down p instead strides by
            // m floats, which for m = 1024 maps all rows to one L1 set and misses on every read.
            for (int p = 0; p < kc; p++) {
                int src = aOff + (p0 + p) * lda + i0;
                for (int ip = 0; ip < mc; ip += rows) {
                    int mr = Math.min(rows, mc - ip);
                    int dst = ip * kc + p * rows;
                    for (int r = 0; r < rows; r++) {
                        ap[dst + r] = r < mr ? a[src + ip + r] : 0f;
                    }
                }
            }
            return;
        }
        for (int ip = 0; ip < mc; ip += rows) {
            int mr = Math.min(rows, mc - ip);
            int base = ip * kc;
            for (int r = 0; r < rows; r++) {
                if (r < mr) {
                    int src = aOff + (i0 + ip + r) * lda + p0;
                    for (int p = 0; p < kc; p++) {
                        ap[base + p * rows + r] = a[src + p];
                    }
                } else {
                    for (int p = 0; p < kc; p++) {
                        ap[base + p * rows + r] = 0f;
                    }
                }
            }
        }
    }

    /**
     * The MR × NR register tile: t[r·NR + q] = Σ_p A[p][r]·B[p][q]. Indices are written as linear
     * functions of the loop counter so C2 can hoist the array range checks out of the loop.
     */
    private static void kernel(int kc, float[] ap, int aOff, float[] bp, int bOff, float[] t) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int pa = aOff + p * MR;
            int pb = bOff + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, pb);
            FloatVector b1 = FloatVector.fromArray(S, bp, pb + V);
            FloatVector x = FloatVector.broadcast(S, ap[pa]);
            c00 = b0.fma(x, c00);
            c01 = b1.fma(x, c01);
            x = FloatVector.broadcast(S, ap[pa + 1]);
            c10 = b0.fma(x, c10);
            c11 = b1.fma(x, c11);
            x = FloatVector.broadcast(S, ap[pa + 2]);
            c20 = b0.fma(x, c20);
            c21 = b1.fma(x, c21);
            x = FloatVector.broadcast(S, ap[pa + 3]);
            c30 = b0.fma(x, c30);
            c31 = b1.fma(x, c31);
        }
        c00.intoArray(t, 0);
        c01.intoArray(t, V);
        c10.intoArray(t, NR);
        c11.intoArray(t, NR + V);
        c20.intoArray(t, 2 * NR);
        c21.intoArray(t, 2 * NR + V);
        c30.intoArray(t, 3 * NR);
        c31.intoArray(t, 3 * NR + V);
    }

    /** The MR_NARROW × V register tile: t[r·V + q] = Σ_p A[p][r]·B[p][q]. */
    private static void kernelNarrow(int kc, float[] ap, int aOff, float[] bp, int bOff, float[] t) {
        FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S), c2 = FloatVector.zero(S);
        FloatVector c3 = FloatVector.zero(S), c4 = FloatVector.zero(S), c5 = FloatVector.zero(S);
        FloatVector c6 = FloatVector.zero(S), c7 = FloatVector.zero(S);
        int pa = aOff;
        int pb = bOff;
        for (int p = 0; p < kc; p++, pa += MR_NARROW, pb += V) {
            FloatVector b0 = FloatVector.fromArray(S, bp, pb);
            c0 = b0.fma(FloatVector.broadcast(S, ap[pa]), c0);
            c1 = b0.fma(FloatVector.broadcast(S, ap[pa + 1]), c1);
            c2 = b0.fma(FloatVector.broadcast(S, ap[pa + 2]), c2);
            c3 = b0.fma(FloatVector.broadcast(S, ap[pa + 3]), c3);
            c4 = b0.fma(FloatVector.broadcast(S, ap[pa + 4]), c4);
            c5 = b0.fma(FloatVector.broadcast(S, ap[pa + 5]), c5);
            c6 = b0.fma(FloatVector.broadcast(S, ap[pa + 6]), c6);
            c7 = b0.fma(FloatVector.broadcast(S, ap[pa + 7]), c7);
        }
        c0.intoArray(t, 0);
        c1.intoArray(t, V);
        c2.intoArray(t, 2 * V);
        c3.intoArray(t, 3 * V);
        c4.intoArray(t, 4 * V);
        c5.intoArray(t, 5 * V);
        c6.intoArray(t, 6 * V);
        c7.intoArray(t, 7 * V);
    }

    /**
     * C tile = alpha·t + beta·C (C unread when beta == 0), from the tile's accumulators in t (rows
     * of width floats); only the top-left mr × nr corner is stored.
     * Kept apart from the micro-kernel so that neither passes vectors across a call (which would
     * box them when the JIT does not inline).
     */
    private static void update(float[] t, int width, float[] c, int cOff, int ldc, int i, int j, int mr, int nr,
                               float alpha, float beta) {
        // Two loops rather than a vector reassigned under a condition: C2 boxes a vector that
        // merges across branches and falls back to the Java implementation (seen in profiles).
        if (nr == width && beta == 0f) {
            FloatVector va = FloatVector.broadcast(S, alpha);
            for (int r = 0; r < mr; r++) {
                int o = cOff + (i + r) * ldc + j;
                for (int q = 0; q < width; q += V) {
                    FloatVector.fromArray(S, t, r * width + q).mul(va).intoArray(c, o + q);
                }
            }
            return;
        }
        if (nr == width) {
            FloatVector va = FloatVector.broadcast(S, alpha);
            FloatVector vb = FloatVector.broadcast(S, beta);
            for (int r = 0; r < mr; r++) {
                int o = cOff + (i + r) * ldc + j;
                for (int q = 0; q < width; q += V) {
                    FloatVector.fromArray(S, c, o + q).fma(vb, FloatVector.fromArray(S, t, r * width + q).mul(va))
                            .intoArray(c, o + q);
                }
            }
            return;
        }
        for (int r = 0; r < mr; r++) {
            int o = cOff + (i + r) * ldc + j;
            for (int q = 0; q < nr; q++) {
                float v = alpha * t[r * width + q];
                c[o + q] = beta == 0f ? v : Math.fma(beta, c[o + q], v);
            }
        }
    }
}
