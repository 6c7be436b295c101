package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.SegmentAccess.ORDER;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision GEMM, {@code C[m,n] = alpha·op(A)·op(B) + beta·C}, on memory segments (tensor
 * storage; element i at byte 4·i) in row-major layout, in the GotoBLAS style: op(B) is packed in k
 * slices of at most {@link #KC} ({@link #sliceDepth}) of {@link #NR}-wide column panels, op(A) in
 * blocks of {@link #MC} × {@link #KC} floats ({@link #blockRows}) of {@link #MR}-row panels, and a register-blocked micro-kernel keeps an
 * MR × NR tile of C (MR·2 vectors) in registers while it streams one A panel and one B panel through
 * L1 and L2. Transposes are absorbed by the packing, so the micro-kernel sees one layout for all four
 * combinations.
 *
 * <p>Order of work: C is cut into one independent part per core (by rows when C has at least as many
 * rows as columns, else by columns), part 0 on the calling thread and the others on
 * {@link SgemmWorkers} (which spin briefly between products instead of parking), each with its own packed
 * buffers ({@link SgemmBuffers}, pooled across calls). A part runs as blocks of at most {@link #NC}
 * columns; within a block, for each k slice (sequential, because C accumulates across slices) and
 * each A block, every B panel meets every A micro-panel; an untransposed B slice is packed whole
 * first, row by row, and a Bᵀ panel just before the first A block uses it. The first slice applies
 * {@code beta} (and does not read C when {@code beta == 0}); later slices add. Each element of C is
 * thus one chain of fused multiply-adds per slice, in ascending k, whatever part, block or thread
 * computes it: the bits do not depend on the thread count. Packing ({@link SgemmPack}) is the only
 * place tensor memory is read for A and B, so another element type (bf16, say) widens there and the
 * micro-kernels stay float.
 */
final class Sgemm {

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int V = S.length();
    /**
     * Rows of the register tile. With 16 vector registers (AVX2): 4 × 2 vectors = 8 accumulators, as
     * many as two FMA pipes with a 4-cycle latency keep busy; a 6 × 2 tile (12 accumulators, the
     * textbook choice) ran ~30% slower in isolation under C2, which appears to spill at that pressure.
     * With AVX-512's 32 registers: 8 × 2 vectors = 16 accumulators, two B loads and a broadcast, so
     * each B vector loaded feeds eight FMAs instead of four. That already keeps both FMA pipes full:
     * C2's loop is 16 FMAs, 2 loads, 8 broadcasts from memory and 7 integer instructions per k step,
     * no spills; alone on packed panels it ran at ~220 GFLOP/s on one Zen 5 core, as did 4 × 4 and
     * 6 × 4 tiles (thread CPU time, under load). A 12 × 2 tile (24 accumulators, no spills either)
     * left the step's products within noise, so the time outside the micro-kernel (packing, C
     * updates) is where a product's remaining cost lies.
     */
    static final int MR = V >= 16 ? 8 : 4;
    /** Columns of the register tile: two vectors. */
    static final int NR = 2 * V;
    /**
     * Greatest depth of one k slice ({@link #sliceDepth}). Every slice after the first reads and
     * rewrites C (its lines come back from L3 or memory). At 768 the step's k = 768 products write C
     * once and k = 2,304 or 3,072 three or four times; a B panel (NR·KC floats, 96 KiB) then streams
     * from L2 rather than sitting in L1. Against 256, side by side (thread CPU time on one core, best
     * of 9, under load): the LM head's 128-row logits block 13% less, the whole 512-row head 8%
     * less, the step's other products within ±4% (noise here).
     */
    static final int KC = 768;
    /** Rows of the narrow register tile, used when op(B) has at most one vector of columns (rank-r shapes). */
    static final int MR_NARROW = 8;
    /**
     * Rows of one packed A block at the greatest slice depth: the block buffer holds MC × KC floats
     * (768 KiB, kept in L2), and shallower slices fill it with more rows ({@link #blockRows}); a
     * multiple of MR and MR_NARROW. Each A block reads every packed B panel of the part once, so
     * fewer, taller blocks mean fewer passes over packed B; the step's k = 768 products have
     * m = 512 (tokens), two blocks.
     */
    static final int MC = 256;
    /**
     * Columns of C per packed B block (a multiple of NR and of V): a part wider than this runs as
     * several blocks, each packing its own B and repacking A. It bounds the packed B buffer at
     * NC·KC floats (6 MiB) per thread; without it the LM head (n = 50,257) kept a 77 MiB packed copy
     * per thread alive. Repacking A costs about 1/NC of the arithmetic. The step's other products
     * have at most 1,536 columns per thread, so only the LM head and square products meet it.
     */
    static final int NC = 2048;
    /**
     * Bytes of an untransposed B above which it is taken to stream from memory ({@link #streamsRows}):
     * this machine's L3 (32 MiB). The step's weights are at most 9.4 MB (GPT-2's 768 × 3,072); the
     * LM head's embedding, 113–154 MB.
     */
    static final long STREAMED_B_BYTES = 32L << 20;
    /** Below this many multiply-adds the call runs on the calling thread only. */
    private static final long PARALLEL_THRESHOLD = 1L << 18;

    private Sgemm() {
    }

    /**
     * Strided batched GEMM: C_q = alpha·op(A_q)·op(B_q) + beta·C_q for q &lt; batch, element (i, j) of
     * stored X_q at {@code x[xOff + q·strideX + i·ldx + j]}. The batches are shared out among the
     * threads, each running whole products ({@link #batchesPerThread}); otherwise they run one after
     * another, each parallel inside.
     */
    static void gemmBatched(boolean transA, boolean transB, int batch, float alpha,
                            MemorySegment a, int aOff, int lda, long strideA, MemorySegment b, int bOff, int ldb, long strideB,
                            float beta, MemorySegment c, int cOff, int ldc, long strideC, int m, int n, int k) {
        gemmBatched(transA, transB, batch, alpha, a, aOff, lda, strideA, b, false, bOff, ldb, strideB, beta, c, cOff, ldc,
                strideC, m, n, k);
    }

    /**
     * As {@link #gemmBatched(boolean, boolean, int, float, MemorySegment, int, int, long, MemorySegment, int, int, long, float, MemorySegment, int, int, long, int, int, int)}
     * with B's elements either float32 or, when {@code halfB}, bfloat16 bits (2-byte elements, so
     * {@code bOff}, {@code ldb} and {@code strideB} count shorts): the B packing widens them, so
     * everything after it is the float32 path.
     */
    static void gemmBatched(boolean transA, boolean transB, int batch, float alpha,
                            MemorySegment a, int aOff, int lda, long strideA, MemorySegment b, boolean halfB, int bOff, int ldb,
                            long strideB, float beta, MemorySegment c, int cOff, int ldc, long strideC, int m, int n, int k) {
        int threads = Runtime.getRuntime().availableProcessors();
        if (!batchesPerThread(batch, (long) m * n * k, threads)) {
            for (int q = 0; q < batch; q++) {
                gemm(transA, transB, alpha, a, (int) (aOff + q * strideA), lda, b, halfB, (int) (bOff + q * strideB), ldb,
                        beta, c, (int) (cOff + q * strideC), ldc, m, n, k, true);
            }
            return;
        }
        // Each thread a contiguous run of batches, each product whole on that thread (its bits are
        // those of the product computed alone: see the class comment).
        int parts = Math.min(threads, batch);
        forEachPart(parts, t -> {
            for (int q = (int) ((long) batch * t / parts), end = (int) ((long) batch * (t + 1) / parts); q < end; q++) {
                gemm(transA, transB, alpha, a, (int) (aOff + q * strideA), lda, b, halfB, (int) (bOff + q * strideB), ldb,
                        beta, c, (int) (cOff + q * strideC), ldc, m, n, k, false);
            }
        });
    }

    /**
     * Runs {@code part.accept(t)} for every t &lt; parts, part 0 on the calling thread and the others on
     * {@link SgemmWorkers}, or on the common pool while another thread's product holds those.
     */
    private static void forEachPart(int parts, IntConsumer part) {
        if (parts == 1) {
            part.accept(0);
        } else if (!SgemmWorkers.run(parts, part)) {
            IntStream.range(0, parts).parallel().forEach(part);
        }
    }

    /**
     * Whether a batch of products of {@code size} multiply-adds each runs as whole products shared
     * out among {@code threads} threads rather than one after another, each cut between the threads.
     * Whole products pay no fork-join hand-off per product and pack nothing twice, so they win
     * wherever the threads get equal shares: small products always (the hand-off outweighs them),
     * and any size when the batch divides evenly or gives every thread at least four products (so
     * the longest share is at most a quarter longer than the shortest). GPT-2's attention scores,
     * 48 products of 128 × 128 × 64 (2^20 multiply-adds, above the single-product threshold), ran
     * one after another, each a 2-thread fork of about 10 µs of one core's work, at 0.48×
     * torch.bmm (paired bench).
     */
    static boolean batchesPerThread(int batch, long size, int threads) {
        if (batch == 1 || threads == 1 || batch * size < PARALLEL_THRESHOLD) {
            return false;
        }
        return size < PARALLEL_THRESHOLD || batch % threads == 0 || batch >= 4 * threads;
    }

    /** One GEMM on row-major arrays with offsets and leading dimensions (A [m, k], or [k, m] when transA; B [k, n] or [n, k]). */
    static void gemm(boolean transA, boolean transB, float alpha, MemorySegment a, int aOff, int lda, MemorySegment b, int bOff,
                     int ldb, float beta, MemorySegment c, int cOff, int ldc, int m, int n, int k) {
        gemm(transA, transB, alpha, a, aOff, lda, b, false, bOff, ldb, beta, c, cOff, ldc, m, n, k, true);
    }

    private static void gemm(boolean transA, boolean transB, float alpha, MemorySegment a, int aOff, int lda, MemorySegment b,
                             boolean halfB, int bOff, int ldb, float beta, MemorySegment c, int cOff, int ldc, int m, int n, int k,
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
        // One independent part of C per thread: each part runs every k slice on its own (its own
        // packed A and B), so no thread ever waits for another until the end (synchronising every
        // k slice cost a third of the 2-thread throughput). A cut by rows has every thread pack all
        // of op(B); a cut by columns, all of op(A); so the cut goes along the longer side of C and
        // the smaller operand is the one packed twice. (Cutting 512 × 768 by rows, as an earlier
        // tile-count rule did, packed the 768 × 3072 B of the input gradient once per thread.)
        // A B that streams from memory is the exception (streamsRows): it goes by rows.
        int rowTiles = (m + tm - 1) / tm;
        int colTiles = (n + tn - 1) / tn;
        boolean byRows = m >= n || streamsRows(transB, halfB, n, k)
                ? rowTiles >= Math.min(threads, colTiles)
                : colTiles < Math.min(threads, rowTiles);
        int tiles = byRows ? rowTiles : colTiles;
        int parts = Math.max(1, Math.min(threads, tiles));
        forEachPart(parts, t -> {
            int first = (int) ((long) tiles * t / parts);
            int last = (int) ((long) tiles * (t + 1) / parts);
            int i0 = byRows ? first * tm : 0;
            int i1 = byRows ? Math.min(m, last * tm) : m;
            int j0 = byRows ? 0 : first * tn;
            int j1 = byRows ? n : Math.min(n, last * tn);
            for (int jc = j0; jc < j1; jc += NC) {
                part(transA, transB, alpha, a, aOff, lda, b, halfB, bOff, ldb, beta, c, cOff, ldc, k, i0, i1, jc,
                        Math.min(j1, jc + NC), narrow);
            }
        });
    }

    /**
     * Whether op(B) is an untransposed B too large to stay in cache ({@link #STREAMED_B_BYTES}), read
     * from memory row by row: then a cut by columns saves a thread hardly anything of B, because
     * reading part of every row costs about what reading the whole row does, and the product is cut by
     * rows instead (each thread packs all of B and half of A, rather than half of B's columns and
     * all of A). The LM head's input gradient dlogits·wte (128 × 50,257 × 768, B 154 MB), one thread,
     * thread CPU time, best of 9 under load: one column half (n = 384 of each 768-float row) took
     * 64.6–70.8 ms and its packing alone 19.2–22.3 ms, against 12.5–21.5 ms to pack the whole width;
     * one row half (m = 64) took 62.0 ms. LLaMA's (171 × 49,152 × 576): 62.5–68.5 ms by columns,
     * 56.9 ms by rows. On two threads, CPU time of both per product, by columns → by rows, best of
     * 11 in three runs: GPT-2's 0.81–0.97×, LLaMA's 0.83–0.97×.
     */
    static boolean streamsRows(boolean transB, boolean halfB, int n, int k) {
        return !transB && (long) k * n * (halfB ? 2 : 4) > STREAMED_B_BYTES;
    }

    /** C[i0..i1, j0..j1] of the product (at most {@link #NC} columns), all k slices, on the calling thread. */
    private static void part(boolean transA, boolean transB, float alpha, MemorySegment a, int aOff, int lda, MemorySegment b,
                             boolean halfB, int bOff, int ldb, float beta, MemorySegment c, int cOff, int ldc,
                             int k, int i0, int i1, int j0, int j1, boolean narrow) {
        SgemmBuffers buffers = SgemmBuffers.take();
        try {
            part(transA, transB, alpha, a, aOff, lda, b, halfB, bOff, ldb, beta, c, cOff, ldc, k, i0, i1, j0, j1, narrow,
                    buffers);
        } finally {
            buffers.release();
        }
    }

    private static void part(boolean transA, boolean transB, float alpha, MemorySegment a, int aOff, int lda, MemorySegment b,
                             boolean halfB, int bOff, int ldb, float beta, MemorySegment c, int cOff, int ldc,
                             int k, int i0, int i1, int j0, int j1, boolean narrow, SgemmBuffers buffers) {
        int tm = narrow ? MR_NARROW : MR;
        int tn = narrow ? V : NR;
        int panels = (j1 - j0 + tn - 1) / tn;
        int depth = sliceDepth(k);
        int blockRows = blockRows(depth);
        float[] bp = buffers.packedB(panels * tn * depth);
        float[] ap = buffers.a;
        float[] t2 = buffers.tile;
        for (int pc = 0; pc < k; pc += depth) {
            int kc = Math.min(depth, k - pc);
            float slotBeta = pc == 0 ? beta : 1f;
            // An untransposed B slice is packed whole, row by row, before any kernel runs: each row
            // of B is then read as one run (up to 16 KB) instead of one 128-byte piece per panel,
            // 256 rows apart. When B streams from memory (the LM head's input gradient: k = 50,257,
            // n = 768) the short pieces left it waiting on memory: a third more CPU time there on
            // one thread, 5–15% more at the step's 512-row shapes (measured side by side, under
            // load). Bᵀ panels stay packed just before their first use (SgemmPack stages their rows).
            if (!transB) {
                SgemmPack.packBRows(b, halfB, bOff, ldb, pc, kc, j0, j1, tn, bp);
            }
            for (int ib = i0; ib < i1; ib += blockRows) {
                int mc = Math.min(blockRows, i1 - ib);
                SgemmPack.packA(transA, a, aOff, lda, ib, mc, pc, kc, tm, ap);
                for (int jp = 0; jp < panels; jp++) {
                    int j = j0 + jp * tn;
                    int nr = Math.min(tn, j1 - j);
                    int pOff = jp * tn * kc;
                    if (ib == i0 && transB) {
                        // Packed just before its first use, so the first row block finds it in L1.
                        SgemmPack.packB(transB, b, halfB, bOff, ldb, pc, kc, j, j1, tn, bp, pOff, buffers.staged);
                    }
                    for (int i = 0; i < mc; i += tm) {
                        int mr = Math.min(tm, mc - i);
                        if (narrow) {
                            kernelNarrow(kc, ap, i * kc, bp, pOff, t2);
                        } else if (MR == 8 && mr <= 4) {
                            // A last panel of at most 4 rows (LLaMA's 171-row LM head blocks end in
                            // 3) runs the 4-row tile on the panel's first rows: half the work of the
                            // 8-row one, with the same chain of fused multiply-adds per element
                            // (2–4% less CPU time on those blocks on one thread: see the commit).
                            kernel(kc, ap, i * kc, bp, pOff, t2);
                        } else if (MR == 8) {
                            kernel8(kc, ap, i * kc, bp, pOff, t2);
                        } else {
                            kernel(kc, ap, i * kc, bp, pOff, t2);
                        }
                        update(t2, tn, c, cOff, ldc, ib + i, j, mr, nr, alpha, slotBeta);
                    }
                }
            }
        }
    }

    /**
     * Rows of one packed A block for slices {@code depth} deep: as many as fill the buffer of
     * {@link #MC} × {@link #KC} floats (the L2-sized block), a multiple of 8 (of MR and MR_NARROW),
     * so shallower products get taller blocks and pass over their packed B fewer times: the weight
     * gradients' 768 rows at k = 512 run as two blocks of 384 instead of three of 256 (6–9% less CPU
     * time on one thread for each of the four, k = 192's input gradient 3–4% less, shapes with
     * k ≥ 768 unchanged; alternating with the 256-row blocks in one JVM, best and median of 11,
     * under load). It depends on k alone; the bits of C do not depend on it at all.
     */
    static int blockRows(int depth) {
        return (MC * KC / depth) & ~7;
    }

    /**
     * The depth of every k slice but the last for a product of depth k: k cut into the fewest slices
     * of at most {@link #KC}, of equal depth rounded up to a multiple of 16 (whole register
     * transposes in the packing), so k = 1,024 runs as 2 × 512 rather than 768 + 256. It depends on k
     * alone, so the bits of C do not depend on the split, the column block or the thread count.
     */
    static int sliceDepth(int k) {
        int slices = (k + KC - 1) / KC;
        int depth = (k + slices - 1) / slices;
        return Math.min(KC, (depth + 15) & ~15);
    }

    private static void scaleC(float beta, MemorySegment c, int cOff, int ldc, int m, int n) {
        for (int i = 0; i < m; i++) {
            for (int j = cOff + i * ldc, end = j + n; j < end; j++) {
                c.setAtIndex(JAVA_FLOAT, j, beta == 0f ? 0f : beta * c.getAtIndex(JAVA_FLOAT, j));
            }
        }
    }

    /**
     * The 4 × NR register tile (AVX2; on AVX-512 the first 4 rows of an 8-row panel): t[r·NR + q] =
     * Σ_p A[p][r]·B[p][q]. Indices are written as linear functions of the loop counter so C2 can hoist
     * the array range checks out of the loop.
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

    /** The 8 × NR register tile (AVX-512): t[r·NR + q] = Σ_p A[p][r]·B[p][q]. */
    private static void kernel8(int kc, float[] ap, int aOff, float[] bp, int bOff, float[] t) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S);
        FloatVector c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int pa = aOff + p * 8;
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
            x = FloatVector.broadcast(S, ap[pa + 4]);
            c40 = b0.fma(x, c40);
            c41 = b1.fma(x, c41);
            x = FloatVector.broadcast(S, ap[pa + 5]);
            c50 = b0.fma(x, c50);
            c51 = b1.fma(x, c51);
            x = FloatVector.broadcast(S, ap[pa + 6]);
            c60 = b0.fma(x, c60);
            c61 = b1.fma(x, c61);
            x = FloatVector.broadcast(S, ap[pa + 7]);
            c70 = b0.fma(x, c70);
            c71 = b1.fma(x, c71);
        }
        c00.intoArray(t, 0);
        c01.intoArray(t, V);
        c10.intoArray(t, NR);
        c11.intoArray(t, NR + V);
        c20.intoArray(t, 2 * NR);
        c21.intoArray(t, 2 * NR + V);
        c30.intoArray(t, 3 * NR);
        c31.intoArray(t, 3 * NR + V);
        c40.intoArray(t, 4 * NR);
        c41.intoArray(t, 4 * NR + V);
        c50.intoArray(t, 5 * NR);
        c51.intoArray(t, 5 * NR + V);
        c60.intoArray(t, 6 * NR);
        c61.intoArray(t, 6 * NR + V);
        c70.intoArray(t, 7 * NR);
        c71.intoArray(t, 7 * NR + V);
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
    private static void update(float[] t, int width, MemorySegment c, int cOff, int ldc, int i, int j, int mr, int nr,
                               float alpha, float beta) {
        // Two loops rather than a vector reassigned under a condition: C2 boxes a vector that
        // merges across branches and falls back to the Java implementation (seen in profiles).
        if (nr == width && beta == 0f) {
            FloatVector va = FloatVector.broadcast(S, alpha);
            for (int r = 0; r < mr; r++) {
                int o = cOff + (i + r) * ldc + j;
                for (int q = 0; q < width; q += V) {
                    FloatVector.fromArray(S, t, r * width + q).mul(va).intoMemorySegment(c, 4L * (o + q), ORDER);
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
                    FloatVector.fromMemorySegment(S, c, 4L * (o + q), ORDER).fma(vb, FloatVector.fromArray(S, t, r * width + q).mul(va))
                            .intoMemorySegment(c, 4L * (o + q), ORDER);
                }
            }
            return;
        }
        for (int r = 0; r < mr; r++) {
            int o = cOff + (i + r) * ldc + j;
            for (int q = 0; q < nr; q++) {
                float v = alpha * t[r * width + q];
                c.setAtIndex(JAVA_FLOAT, o + q, beta == 0f ? v : Math.fma(beta, c.getAtIndex(JAVA_FLOAT, o + q), v));
            }
        }
    }
}
