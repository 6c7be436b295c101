package dev.nola.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.nola.kernels.Backends;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The cpu kernels against the reference at shapes the contract suite does not reach: several k
 * slices, row blocks and column chunks of {@link Sgemm} with ragged edges, the skinny adapter
 * shapes, strided batches above the parallel threshold, and several tiles of the mixing and
 * generating kernels with partial steps at the end.
 */
class CpuKernelsTest {

    private Device ref;
    private Device cpu;

    @BeforeEach
    void open() {
        ref = Backends.open("reference");
        cpu = Backends.open("cpu");
    }

    @AfterEach
    void close() {
        cpu.close();
        ref.close();
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    private float[] matmul(Device d, boolean ta, boolean tb, float alpha, float[] a, float[] b, float beta, float[] c0,
                           int m, int n, int k) {
        try (Tensor at = d.upload(a, ta ? new int[] {k, m} : new int[] {m, k});
             Tensor bt = d.upload(b, tb ? new int[] {n, k} : new int[] {k, n});
             Tensor ct = d.upload(c0.clone(), m, n)) {
            d.linalg().matmul(ta, tb, alpha, at, bt, beta, ct);
            return d.read(ct);
        }
    }

    @Test
    void sgemmAcrossBlocksAndSkinnyShapes() {
        SplittableRandom r = new SplittableRandom(21);
        // k > KC (several slices, beta applied once), m not a multiple of MR or of an A block's
        // rows (Sgemm.blockRows), n not of NR, and the adapter's skinny shapes (rank 8 on either
        // side, k = 8).
        int[][] mnk = {{200, 300, 600}, {97, 513, 257}, {1, 1000, 300}, {300, 1, 300}, {1024, 8, 96}, {8, 1024, 96},
                {130, 1024, 8}, {Sgemm.blockRows(Sgemm.sliceDepth(Sgemm.KC + 1)) + 1, 2 * Sgemm.NR + 3, Sgemm.KC + 1},
                {2 * Sgemm.blockRows(Sgemm.sliceDepth(2 * Sgemm.KC + 3)) + 7, 5, 2 * Sgemm.KC + 3}};
        for (int[] s : mnk) {
            int m = s[0];
            int n = s[1];
            int k = s[2];
            for (int variant = 0; variant < 4; variant++) {
                boolean ta = (variant & 1) != 0;
                boolean tb = (variant & 2) != 0;
                float alpha = variant == 2 ? -0.5f : 1.25f;
                float beta = variant % 2 == 0 ? 0f : 0.75f;
                float[] a = random(r, m * k);
                float[] b = random(r, k * n);
                float[] c0 = random(r, m * n);
                if (beta == 0f) {
                    c0[m * n - 1] = Float.NaN; // must not be read
                }
                float[] want = matmul(ref, ta, tb, alpha, a, b, beta, c0, m, n, k);
                float[] got = matmul(cpu, ta, tb, alpha, a, b, beta, c0, m, n, k);
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double bound = 0;
                        for (int p = 0; p < k; p++) {
                            float x = ta ? a[p * m + i] : a[i * k + p];
                            float y = tb ? b[j * k + p] : b[p * n + j];
                            bound += Math.abs((double) x * y);
                        }
                        bound = Math.abs(alpha) * bound + (beta == 0f ? 0 : Math.abs(beta * c0[i * n + j]));
                        // float32 accumulation over k ≤ 600 terms in any order: error < k·2^-24·bound
                        double tol = 1e-4 * bound + 1e-30;
                        double err = Math.abs((double) got[i * n + j] - want[i * n + j]);
                        if (!(err <= tol)) {
                            throw new AssertionError("sgemm m=" + m + " n=" + n + " k=" + k + " ta=" + ta + " tb=" + tb
                                    + " at (" + i + ", " + j + "): expected " + want[i * n + j] + ", got "
                                    + got[i * n + j] + " (error " + err + " > " + tol + ")");
                        }
                    }
                }
            }
        }
    }

    /**
     * Strided batches on both sides of Sgemm's parallel threshold (2^18 multiply-adds): below it the
     * whole batch runs on the calling thread; above it the three batches run one after another, each
     * split across threads (except on three cores: {@code Sgemm.batchesPerThread}; SgemmLayoutTest
     * takes the batches shared out among threads). Attention
     * heads write interleaved column slices of one C (ldc = C, strideC = headSize), so a kernel that
     * stores past a slice's last column would overwrite a neighbouring head; everything outside the
     * slices must come back unchanged.
     */
    @Test
    void sgemmBatchedOnBothSidesOfTheParallelThreshold() {
        SplittableRandom r = new SplittableRandom(23);
        for (int tokens : new int[] {20, 130}) {
            int heads = 3;
            int hs = 40;
            int channels = heads * hs + 3; // a padded row: the last 3 columns belong to no head
            // {transA, transB, m, n, k, lda, strideA, ldb, strideB, ldc, strideC}
            long[][] cases = {
                    {0, 1, tokens, tokens, hs, channels, hs, channels, hs, tokens, (long) tokens * tokens},
                    {0, 0, tokens, hs, tokens, tokens, (long) tokens * tokens, channels, hs, channels, hs},
                    {1, 0, tokens, hs, tokens, tokens, (long) tokens * tokens, channels, hs, channels, hs}};
            for (long[] c : cases) {
                boolean ta = c[0] != 0;
                boolean tb = c[1] != 0;
                int m = (int) c[2];
                int n = (int) c[3];
                int k = (int) c[4];
                int lda = (int) c[5];
                int ldb = (int) c[7];
                int ldc = (int) c[9];
                int aSize = (int) ((heads - 1) * c[6] + (long) ((ta ? k : m) - 1) * lda + (ta ? m : k));
                int bSize = (int) ((heads - 1) * c[8] + (long) ((tb ? n : k) - 1) * ldb + (tb ? k : n));
                int cSize = (int) ((heads - 1) * c[10] + (long) (m - 1) * ldc + n);
                float[] a = random(r, aSize);
                float[] b = random(r, bSize);
                float[] c0 = random(r, cSize);
                float[] want = batched(ref, ta, tb, heads, m, n, k, a, lda, c[6], b, ldb, c[8], c0, ldc, c[10]);
                float[] got = batched(cpu, ta, tb, heads, m, n, k, a, lda, c[6], b, ldb, c[8], c0, ldc, c[10]);
                boolean[] inBatch = new boolean[cSize];
                for (int q = 0; q < heads; q++) {
                    for (int i = 0; i < m; i++) {
                        java.util.Arrays.fill(inBatch, (int) (q * c[10] + (long) i * ldc), (int) (q * c[10] + (long) i * ldc + n), true);
                    }
                }
                for (int i = 0; i < want.length; i++) {
                    // k ≤ 130 products of values in [-1, 1] (alpha 1, beta 0.5): well under 1e-4·k; elsewhere exact
                    double tol = inBatch[i] ? 1e-4 * (k + 1) : 0;
                    if (!(Math.abs(want[i] - got[i]) <= tol)) {
                        throw new AssertionError("batched " + java.util.Arrays.toString(c) + " element " + i + ": expected "
                                + want[i] + ", got " + got[i]);
                    }
                }
            }
        }
    }

    private static float[] batched(Device d, boolean ta, boolean tb, int batch, int m, int n, int k, float[] a, int lda,
                                   long sa, float[] b, int ldb, long sb, float[] c, int ldc, long sc) {
        try (Tensor at = d.upload(a, a.length); Tensor bt = d.upload(b, b.length); Tensor ct = d.upload(c, c.length)) {
            d.linalg().matmulBatched(ta, tb, batch, m, n, k, 1f, at, lda, sa, bt, ldb, sb, 0.5f, ct, ldc, sc);
            return d.read(ct);
        }
    }

    @Test
    void basisAndFusedKernelsAcrossTiles() {
        SplittableRandom r = new SplittableRandom(22);
        int tile = GeneratedKernels.TILE;
        // widths across several tiles of each kernel, the LLaMA step's factors (r = 8: q's A and B and v's A of
        // 8 × 576, v's B of 192 × 8), and a width whose per-thread mix tiles end in a scalar tail; k = 37 is odd,
        // so the mix's two-row passes end with a single row
        int[] sizes = {2 * tile + 5, MixKernels.MIX_TILE * 3 + 17, PhiloxLanes.STEP - 1, 4608, 1536, 1531};
        for (int n : sizes) {
            int k = 37;
            BasisStream s = new BasisStream(r.nextLong(), r.nextInt(), 1, 0.37f);
            float[] basisRef = new float[k * n];
            try (Tensor t = ref.allocate(k, n)) {
                ref.random().basis(s, 0, k, t);
                basisRef = ref.read(t);
            }
            float[] basisCpu;
            try (Tensor t = cpu.allocate(k, n)) {
                cpu.random().basis(s, 0, k, t);
                basisCpu = cpu.read(t);
            }
            assertBits(basisRef, basisCpu, "basis n=" + n);
            float[] c = random(r, k);
            float[] off = random(r, n);
            float[] grad = random(r, n);
            try (Tensor ct = cpu.upload(c, k); Tensor bt = cpu.upload(basisCpu, k, n); Tensor o1 = cpu.upload(off, n);
                 Tensor o2 = cpu.upload(off, n); Tensor gt = cpu.upload(grad, n); Tensor g1 = cpu.allocate(k);
                 Tensor g2 = cpu.allocate(k)) {
                cpu.nola().mix(ct, bt, o1, o1); // in place on the offset
                cpu.nola().mixGenerated(ct, s, o2, o2);
                float[] want = new float[n];
                for (int e = 0; e < n; e++) {
                    float acc = off[e];
                    for (int i = 0; i < k; i++) {
                        acc = Math.fma(c[i], basisRef[i * n + e], acc);
                    }
                    want[e] = acc;
                }
                assertBits(want, cpu.read(o1), "mix n=" + n);
                assertBits(want, cpu.read(o2), "mixGenerated n=" + n);
                cpu.nola().coefficientGradient(bt, gt, g1);
                cpu.nola().coefficientGradientGenerated(s, gt, g2);
                float[] m1 = cpu.read(g1);
                float[] m2 = cpu.read(g2);
                for (int i = 0; i < k; i++) {
                    double exact = 0;
                    double bound = 0;
                    for (int e = 0; e < n; e++) {
                        exact += (double) basisRef[i * n + e] * grad[e];
                        bound += Math.abs((double) basisRef[i * n + e] * grad[e]);
                    }
                    assertEquals(exact, m1[i], 1e-4 * bound, "coefficientGradient row " + i + " n=" + n);
                    assertEquals(exact, m2[i], 1e-4 * bound, "coefficientGradientGenerated row " + i + " n=" + n);
                }
            }
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
}
