package dev.nola.kernels.tornado;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Each CPU sgemm kernel of {@link SgemmKernels} forced on tornado:0:0 against the reference backend,
 * on shapes that the contract's automatic choice would not send to it: every transpose, edges of every
 * register block (m not a multiple of 6 or 3, n of 64 or 6, k of 16), B read in place (n a multiple of
 * 64) and packed, k deep enough to run in slices (above 2,560), more rows than one work-item's group (8
 * row blocks, 24 when k runs in slices), beta 0 and not, and a strided batch. Bound per element: 2⁻²⁰·(k + 2)·Σ|a||b| + 2⁻²⁰·|beta·c|.
 */
class TornadoSgemmTest {

    private static final int[][] SHAPES = {{7, 13, 35}, {13, 64, 17}, {6, 128, 48}, {5, 70, 33}, {53, 128, 600}, {13, 40, 530},
        {7, 64, 2600}, {151, 64, 2600}};

    @ParameterizedTest
    @EnumSource(value = TornadoLinalgOps.MatmulVariant.class, names = {"PANEL", "DOTS"})
    void matchesTheReference(TornadoLinalgOps.MatmulVariant variant) {
        try (Device dev = Backends.open("tornado:0:0"); Device ref = Backends.open("reference")) {
            ((TornadoLinalgOps) dev.linalg()).matmulVariant = variant;
            SplittableRandom r = new SplittableRandom(3);
            for (int[] s : SHAPES) {
                for (int t = 0; t < 4; t++) {
                    boolean ta = (t & 1) != 0;
                    boolean tb = (t & 2) != 0;
                    for (float beta : new float[] {0f, 0.5f}) {
                        check(dev, ref, r, 2, s[0], s[1], s[2], ta, tb, beta, variant);
                    }
                }
            }
        }
    }

    private static void check(Device dev, Device ref, SplittableRandom r, int batch, int m, int n, int k, boolean ta, boolean tb,
                              float beta, TornadoLinalgOps.MatmulVariant variant) {
        float[] a = random(r, batch * m * k);
        float[] b = random(r, batch * k * n);
        float[] c = random(r, batch * m * n);
        int lda = ta ? m : k;
        int ldb = tb ? k : n;
        float alpha = 1.25f;
        float[] want = run(ref, a, b, c, batch, m, n, k, ta, tb, lda, ldb, alpha, beta);
        float[] got = run(dev, a, b, c, batch, m, n, k, ta, tb, lda, ldb, alpha, beta);
        for (int z = 0; z < batch; z++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double abs = 0;
                    for (int p = 0; p < k; p++) {
                        float x = ta ? a[z * m * k + p * lda + i] : a[z * m * k + i * lda + p];
                        float y = tb ? b[z * k * n + j * ldb + p] : b[z * k * n + p * ldb + j];
                        abs += Math.abs(x * y);
                    }
                    int o = z * m * n + i * n + j;
                    double bound = Math.scalb(1.0, -20) * ((k + 2) * Math.abs(alpha) * abs + Math.abs(beta * c[o]));
                    String what = variant + " batch " + z + " C[" + i + "][" + j + "] of m=" + m + " n=" + n + " k=" + k
                            + " ta=" + ta + " tb=" + tb + " beta=" + beta + ": got " + got[o] + ", want " + want[o];
                    assertTrue(Math.abs(got[o] - want[o]) <= bound, what);
                }
            }
        }
    }

    private static float[] run(Device d, float[] a, float[] b, float[] c, int batch, int m, int n, int k, boolean ta, boolean tb,
                               int lda, int ldb, float alpha, float beta) {
        Tensor at = d.upload(a, batch * m * k);
        Tensor bt = d.upload(b, batch * k * n);
        Tensor ct = d.upload(c, batch * m * n);
        d.linalg().matmulBatched(ta, tb, batch, m, n, k, alpha, at, lda, (long) m * k, bt, ldb, (long) k * n, beta, ct, n,
                (long) m * n);
        float[] out = d.read(ct);
        at.close();
        bt.close();
        ct.close();
        return out;
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return x;
    }
}
