package dev.nola.kernels.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * How {@link Sgemm} lays its work out must not change a single bit of C: the transposes are absorbed
 * by the packing ({@link SgemmPack}, in-register V × V transposes for op(B) = Bᵀ), and each element
 * of C is summed in the same order whichever part, packed column block ({@link Sgemm#NC}) or thread
 * computes it. These tests compare bits between layouts; {@code CpuKernelsTest} and the contract
 * suite compare values with the reference.
 */
class SgemmLayoutTest {

    private static float[] random(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    /** x[rows, cols] stored transposed, as [cols, rows]. */
    private static float[] transpose(float[] x, int rows, int cols) {
        float[] t = new float[x.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = x[i * cols + j];
            }
        }
        return t;
    }

    /** C = op(A)·op(B) + 0.5·c0 through Sgemm itself (no Gemv for few rows), B from element bOff with rows ldb apart. */
    private static float[] gemm(boolean ta, boolean tb, float[] a, float[] b, int bOff, int ldb, float[] c0, int m, int n, int k) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment as = arena.allocateFrom(JAVA_FLOAT, a);
            MemorySegment bs = arena.allocateFrom(JAVA_FLOAT, b);
            MemorySegment cs = arena.allocateFrom(JAVA_FLOAT, c0);
            Sgemm.gemm(ta, tb, 1.5f, as, 0, ta ? m : k, bs, bOff, ldb, 0.5f, cs, 0, n, m, n, k);
            return cs.toArray(JAVA_FLOAT);
        }
    }

    private static void assertBits(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what + ": length");
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                throw new AssertionError(what + ": element " + i + " expected " + want[i] + ", got " + got[i]);
            }
        }
    }

    /**
     * op(A)·op(B) from A and B stored either way round gives the same bits: every packing path (the
     * register transposes on full panels, the element-wise rest: k not a multiple of V, k below V,
     * ragged and narrow panels, several k slices, A blocks and row groups cut short) puts each
     * element where the untransposed one does.
     */
    @Test
    void transposedStorageGivesTheSameBits() {
        SplittableRandom r = new SplittableRandom(31);
        int[][] mnk = {{9, 2 * Sgemm.NR, 16}, {13, 100, 37}, {40, 70, 7}, {20, Sgemm.V, 50}, {17, 5, 40},
                {33, 3 * Sgemm.NR + 1, Sgemm.KC + Sgemm.V + 3}, {300, 200, 300},
                // two A blocks, the second ragged; two k slices (416 + 393 deep), neither a whole
                // number of the packing's row groups (SgemmPack.PACK_GROUP)
                {Sgemm.blockRows(Sgemm.sliceDepth(Sgemm.KC + 2 * SgemmPack.PACK_GROUP + 9)) + 13, 2 * Sgemm.NR + 5,
                        Sgemm.KC + 2 * SgemmPack.PACK_GROUP + 9}};
        for (int[] s : mnk) {
            int m = s[0];
            int n = s[1];
            int k = s[2];
            float[] a = random(r, m * k);
            float[] b = random(r, k * n);
            float[] c0 = random(r, m * n);
            float[] at = transpose(a, m, k);
            float[] bt = transpose(b, k, n);
            float[] plain = gemm(false, false, a, b, 0, n, c0, m, n, k);
            String shape = "m=" + m + " n=" + n + " k=" + k;
            assertBits(plain, gemm(false, true, a, bt, 0, k, c0, m, n, k), "A·Bᵀ " + shape);
            assertBits(plain, gemm(true, false, at, b, 0, n, c0, m, n, k), "Aᵀ·B " + shape);
            assertBits(plain, gemm(true, true, at, bt, 0, k, c0, m, n, k), "Aᵀ·Bᵀ " + shape);
        }
    }

    /**
     * Rows in a short last tile (on AVX-512 one of at most 4 rows runs the 4-row tile, and more run
     * the 8-row one on a zero-padded panel) have the bits of the same rows inside a full tile: the
     * first m rows of a product with A extended to whole tiles, for every m short of those.
     */
    @Test
    void rowsOfAShortLastTileHaveTheBitsOfAFullOne() {
        SplittableRandom r = new SplittableRandom(47);
        int n = 2 * Sgemm.NR + 3;
        int k = Sgemm.KC + 40;
        int full = 3 * Sgemm.MR;
        float[] a = random(r, full * k);
        float[] b = random(r, k * n);
        float[] c0 = random(r, full * n);
        float[] whole = gemm(false, false, a, b, 0, n, c0, full, n, k);
        for (int m = full - Sgemm.MR + 1; m < full; m++) {
            float[] rows = gemm(false, false, java.util.Arrays.copyOf(a, m * k), b, 0, n, java.util.Arrays.copyOf(c0, m * n),
                    m, n, k);
            assertBits(java.util.Arrays.copyOf(whole, m * n), rows, "first " + m + " rows of " + full);
        }
    }

    /**
     * A B that streams from memory ({@link Sgemm#streamsRows}: the LM head's embedding) cuts the
     * product by rows, even with fewer rows than columns; the step's weights and a Bᵀ do not.
     */
    @Test
    void onlyAStreamedUntransposedBCutsByRows() {
        assertEquals(true, Sgemm.streamsRows(false, false, 768, 50257), "GPT-2 dlogits·wte");
        assertEquals(true, Sgemm.streamsRows(false, false, 576, 49152), "LLaMA dlogits·emb");
        assertEquals(true, Sgemm.streamsRows(false, true, 768, 50257), "bf16 wte");
        assertEquals(false, Sgemm.streamsRows(true, false, 50257, 768), "logits x·wteᵀ");
        assertEquals(false, Sgemm.streamsRows(false, false, 3072, 768), "GPT-2 MLP up");
        assertEquals(false, Sgemm.streamsRows(false, false, 768, 3072), "GPT-2 MLP down");
    }

    /**
     * A product cut by rows because its B streams (9 rows, 64 columns, B of 33.6 MB) has the bits of
     * its rows computed alone, on one thread: the cut changes nothing.
     */
    @Test
    void aStreamedBProductHasTheBitsOfItsRowsAlone() {
        SplittableRandom r = new SplittableRandom(53);
        int n = 64;
        int k = (int) (Sgemm.STREAMED_B_BYTES / 4 / n) + 100;
        int m = Sgemm.MR + 1;
        assertTrue(Sgemm.streamsRows(false, false, n, k));
        float[] a = random(r, m * k);
        float[] b = random(r, k * n);
        float[] c0 = random(r, m * n);
        float[] whole = gemm(false, false, a, b, 0, n, c0, m, n, k);
        int[][] rows = {{0, Sgemm.MR}, {Sgemm.MR, m}};
        for (int[] rs : rows) {
            int h = rs[1] - rs[0];
            float[] alone = gemm(false, false, java.util.Arrays.copyOfRange(a, rs[0] * k, rs[1] * k), b, 0, n,
                    java.util.Arrays.copyOfRange(c0, rs[0] * n, rs[1] * n), h, n, k);
            assertBits(java.util.Arrays.copyOfRange(whole, rs[0] * n, rs[1] * n), alone, "rows " + rs[0] + ".." + rs[1]);
        }
    }

    /**
     * Columns of C computed in a product wider than one packed block ({@link Sgemm#NC}), on one
     * thread (a product below the parallel threshold) and split across threads, have the bits of
     * the same columns computed alone: where the cuts fall changes nothing. The whole is also
     * checked against a double-precision sum.
     */
    @Test
    void everyColumnIsComputedAsIfAlone() {
        SplittableRandom r = new SplittableRandom(37);
        // {m, n, k}: 5·4133·9 multiply-adds run on the caller's thread in two column blocks; the
        // second is above the parallel threshold, so it is also cut between threads.
        int[][] shapes = {{5, Sgemm.NC + 37, 9}, {24, 2 * Sgemm.NC + 100, 40}};
        for (int[] s : shapes) {
            int m = s[0];
            int n = s[1];
            int k = s[2];
            float[] a = random(r, m * k);
            float[] b = random(r, k * n);
            float[] c0 = random(r, m * n);
            for (boolean tb : new boolean[] {false, true}) {
                float[] bs = tb ? transpose(b, k, n) : b;
                int ldb = tb ? k : n;
                float[] whole = gemm(false, tb, a, bs, 0, ldb, c0, m, n, k);
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j += 97) {
                        double sum = 0;
                        double bound = 0;
                        for (int p = 0; p < k; p++) {
                            sum += (double) a[i * k + p] * b[p * n + j];
                            bound += Math.abs((double) a[i * k + p] * b[p * n + j]);
                        }
                        double want = 1.5 * sum + 0.5 * c0[i * n + j];
                        assertEquals(want, whole[i * n + j], 1e-5 * (1.5 * bound + 1), "m=" + m + " n=" + n + " (" + i + ", " + j + ")");
                    }
                }
                int[][] slices = {{0, 7}, {Sgemm.NC - 3, Sgemm.NC + 30}, {n - 40, n}};
                for (int[] sl : slices) {
                    int w = sl[1] - sl[0];
                    float[] c0Slice = new float[m * w];
                    for (int i = 0; i < m; i++) {
                        System.arraycopy(c0, i * n + sl[0], c0Slice, i * w, w);
                    }
                    // B's columns sl[0]..sl[1] in place: an offset into the same rows (or, transposed, rows)
                    float[] alone = gemm(false, tb, a, bs, tb ? sl[0] * k : sl[0], ldb, c0Slice, m, w, k);
                    float[] fromWhole = new float[m * w];
                    for (int i = 0; i < m; i++) {
                        System.arraycopy(whole, i * n + sl[0], fromWhole, i * w, w);
                    }
                    assertBits(fromWhole, alone, "columns " + sl[0] + ".." + sl[1] + " of m=" + m + " n=" + n + " tb=" + tb);
                }
            }
        }
    }

    /**
     * A strided batch gives each product the bits of the same product computed alone, whether the
     * batches are shared out among threads or run one after another, each cut between threads
     * ({@link Sgemm#batchesPerThread}): batch counts 2–9 take both ways on two or more cores, even
     * and odd, at a product size below the parallel threshold and one above it. Heads write
     * interleaved column slices of one C, as attention does; what lies between must stay unchanged.
     */
    @Test
    void batchedProductsHaveTheBitsOfEachAlone() {
        SplittableRandom r = new SplittableRandom(41);
        // 40·48·64 multiply-adds: below the threshold alone, above it from three batches on; 70·67·60: above it
        int[][] mnk = {{40, 48, 64}, {70, 2 * Sgemm.NR + 3, 60}};
        for (int[] s : mnk) {
            int m = s[0];
            int n = s[1];
            int k = s[2];
            for (int batch = 2; batch <= 9; batch++) {
                for (boolean tb : new boolean[] {false, true}) {
                    // A_q [m, k] one after another; B_q [k, n] (or [n, k]) likewise; C_q columns
                    // q·(n + 1) .. q·(n + 1) + n − 1 of rows ldc = batch·(n + 1) floats wide
                    int ldc = batch * (n + 1);
                    float[] a = random(r, batch * m * k);
                    float[] b = random(r, batch * k * n);
                    float[] c0 = random(r, m * ldc);
                    float[] got;
                    try (Arena arena = Arena.ofShared()) {
                        MemorySegment as = arena.allocateFrom(JAVA_FLOAT, a);
                        MemorySegment bs = arena.allocateFrom(JAVA_FLOAT, b);
                        MemorySegment cs = arena.allocateFrom(JAVA_FLOAT, c0);
                        Sgemm.gemmBatched(false, tb, batch, 1.5f, as, 0, k, (long) m * k, bs, 0, tb ? k : n, (long) k * n,
                                0.5f, cs, 0, ldc, n + 1, m, n, k);
                        got = cs.toArray(JAVA_FLOAT);
                    }
                    String what = "m=" + m + " n=" + n + " k=" + k + " batch=" + batch + " tb=" + tb;
                    for (int q = 0; q < batch; q++) {
                        float[] aq = java.util.Arrays.copyOfRange(a, q * m * k, (q + 1) * m * k);
                        float[] bq = java.util.Arrays.copyOfRange(b, q * k * n, (q + 1) * k * n);
                        float[] cq = new float[m * n];
                        float[] gotQ = new float[m * n];
                        for (int i = 0; i < m; i++) {
                            System.arraycopy(c0, i * ldc + q * (n + 1), cq, i * n, n);
                            System.arraycopy(got, i * ldc + q * (n + 1), gotQ, i * n, n);
                        }
                        assertBits(gemm(false, tb, aq, bq, 0, tb ? k : n, cq, m, n, k), gotQ, what + " product " + q);
                    }
                    for (int i = 0; i < m; i++) {
                        for (int q = 0; q < batch; q++) {
                            int gap = i * ldc + q * (n + 1) + n;
                            assertEquals(c0[gap], got[gap], what + ": column between products, row " + i);
                        }
                    }
                }
            }
        }
    }
}
