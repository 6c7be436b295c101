package dev.nola.kernels.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.Backends;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What the contract suite cannot reach through {@code AUTO}: each sgemm variant forced on shapes at
 * and around its tile edges, and sizes large enough that the reductions use many work-groups per
 * row and the element-wise kernels many work-groups, all against the reference.
 */
class OpenClKernelsTest {

    private final OpenClBackend backend = new OpenClBackend();

    @BeforeEach
    void needsOpenCl() {
        Assumptions.assumeTrue(backend.availability().available(), () -> "opencl unavailable: " + backend.availability().reason());
    }

    private OpenClDevice first() {
        return (OpenClDevice) Backends.open(backend.devices().get(0).id());
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    @ParameterizedTest
    @EnumSource(value = OpenClOps.MatmulVariant.class, names = {"TILED", "BLOCKED", "PANEL"})
    void eachSgemmVariantMatchesTheReference(OpenClOps.MatmulVariant variant) {
        SplittableRandom r = new SplittableRandom(21);
        int[][] mnk = {{1, 1, 1}, {63, 65, 17}, {64, 64, 16}, {130, 70, 33}, {5, 200, 129}};
        try (OpenClDevice dev = first(); Device ref = Backends.open("reference")) {
            ((OpenClOps) dev.ops()).matmulVariant = variant;
            for (int[] s : mnk) {
                for (int t = 0; t < 4; t++) {
                    boolean ta = (t & 1) != 0;
                    boolean tb = (t & 2) != 0;
                    int m = s[0], n = s[1], k = s[2];
                    float[] a = random(r, m * k);
                    float[] b = random(r, k * n);
                    float[] c = random(r, m * n);
                    float beta = t == 0 ? 0f : 0.5f;
                    int[] as = ta ? new int[] {k, m} : new int[] {m, k};
                    int[] bs = tb ? new int[] {n, k} : new int[] {k, n};
                    float[] want = matmul(ref, ta, tb, a, as, b, bs, beta, c, m, n);
                    float[] got = matmul(dev, ta, tb, a, as, b, bs, beta, c, m, n);
                    for (int i = 0; i < want.length; i++) {
                        // |error| of a k-term float sum of products in [-1, 1]: well under k * 2^-22
                        double tol = (k + 2) * 0x1p-22;
                        assertTrue(Math.abs(want[i] - got[i]) <= tol, variant + " m=" + m + " n=" + n + " k=" + k
                                + " ta=" + ta + " tb=" + tb + " element " + i + ": " + want[i] + " vs " + got[i]);
                    }
                }
            }
        }
    }

    private static float[] matmul(Device d, boolean ta, boolean tb, float[] a, int[] as, float[] b, int[] bs,
                                  float beta, float[] c, int m, int n) {
        try (Tensor at = d.upload(a, as); Tensor bt = d.upload(b, bs); Tensor ct = d.upload(c, m, n)) {
            d.ops().matmul(ta, tb, 1.5f, at, bt, beta, ct);
            return d.read(ct);
        }
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"-DCHUNKED", ""})
    void largeSizesMatchTheReference(String reductionLayout) {
        SplittableRandom r = new SplittableRandom(22);
        int k = 3;
        int n = 300_001; // many work-groups per row in the reductions, and a ragged last block
        BasisStream s = new BasisStream(0xfeed_beefL, 5, 0, 0.125f);
        float[] c = random(r, k);
        float[] grad = random(r, n);
        try (OpenClDevice dev = first(); Device ref = Backends.open("reference")) {
            ((OpenClOps) dev.ops()).nolaOptions = reductionLayout; // CPU (chunked) and GPU (strided) layouts
            float[] basisRef = basis(ref, s, k, n);
            float[] basisDev = basis(dev, s, k, n);
            assertEquals(basisRef.length, basisDev.length);
            for (int i = 0; i < basisRef.length; i++) {
                assertEquals(Float.floatToRawIntBits(basisRef[i]), Float.floatToRawIntBits(basisDev[i]), "basis element " + i);
            }
            try (Tensor ct = dev.upload(c, k); Tensor out = dev.allocate(n); Tensor g = dev.upload(grad, n);
                 Tensor b = dev.upload(basisRef, k, n); Tensor cg = dev.allocate(k); Tensor cgg = dev.allocate(k);
                 Tensor out2 = dev.allocate(n)) {
                dev.ops().mixGenerated(ct, s, null, out);
                dev.ops().mix(ct, b, null, out2);
                dev.ops().coefficientGradient(b, g, cg);
                dev.ops().coefficientGradientGenerated(s, g, cgg);
                float[] mixed = dev.read(out);
                float[] mixed2 = dev.read(out2);
                for (int e = 0; e < n; e++) {
                    float acc = 0f;
                    for (int i = 0; i < k; i++) {
                        acc = Math.fma(c[i], basisRef[i * n + e], acc);
                    }
                    assertEquals(Float.floatToRawIntBits(acc), Float.floatToRawIntBits(mixed[e]), "mixGenerated element " + e);
                    assertEquals(Float.floatToRawIntBits(acc), Float.floatToRawIntBits(mixed2[e]), "mix element " + e);
                }
                float[] got = dev.read(cg);
                float[] gotFused = dev.read(cgg);
                for (int i = 0; i < k; i++) {
                    double want = 0;
                    double bound = 0;
                    for (int e = 0; e < n; e++) {
                        want += (double) basisRef[i * n + e] * grad[e];
                        bound += Math.abs((double) basisRef[i * n + e] * grad[e]);
                    }
                    assertTrue(Math.abs(got[i] - want) <= 1e-5 * bound, "gradient " + i + ": " + got[i] + " vs " + want);
                    assertTrue(Math.abs(gotFused[i] - want) <= 1e-5 * bound, "fused gradient " + i + ": " + gotFused[i] + " vs " + want);
                }
            }
        }
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"-DCHUNKED", ""})
    void mixesAndGradientsMatchTheReferenceInBothLayouts(String layout) {
        SplittableRandom r = new SplittableRandom(23);
        BasisStream s = new BasisStream(0x1234_5678_9abcL, 2, 1, 0.5f);
        // k = 11: two passes of four rows and three single rows in mix, one fused-gradient row per
        // work-item on a CPU device; n spans several CPU tiles with a ragged end; k = 37 and 40: four
        // gradient rows per work-item (with and without a partial last four, and a ragged n)
        for (int[] shape : new int[][] {{11, 9_003}, {4, 7}, {1, 1}, {6, 4_099}, {40, 32}, {37, 1_001}, {17, 33}}) {
            int k = shape[0];
            int n = shape[1];
            float[] c = random(r, k);
            float[] offset = random(r, n);
            try (OpenClDevice dev = first(); Device ref = Backends.open("reference")) {
                ((OpenClOps) dev.ops()).nolaOptions = layout;
                float[] basisRef = basis(ref, s, k, n);
                assertBitIdentical(basisRef, basis(dev, s, k, n), "basis k=" + k + " n=" + n);
                try (Tensor ct = dev.upload(c, k); Tensor b = dev.upload(basisRef, k, n); Tensor off = dev.upload(offset, n);
                     Tensor out = dev.allocate(n); Tensor out2 = dev.allocate(n); Tensor inPlace = dev.upload(offset, n);
                     Tensor cg = dev.allocate(k); Tensor cgg = dev.allocate(k)) {
                    dev.ops().coefficientGradient(b, off, cg);
                    dev.ops().coefficientGradientGenerated(s, off, cgg);
                    float[] got = dev.read(cg);
                    float[] gotFused = dev.read(cgg);
                    for (int i = 0; i < k; i++) {
                        double want = 0;
                        double bound = 0;
                        for (int e = 0; e < n; e++) {
                            want += (double) basisRef[i * n + e] * offset[e];
                            bound += Math.abs((double) basisRef[i * n + e] * offset[e]);
                        }
                        String at = " k=" + k + " n=" + n + " row " + i + ": ";
                        assertTrue(Math.abs(got[i] - want) <= 1e-5 * bound + 1e-30, "gradient" + at + got[i] + " vs " + want);
                        assertTrue(Math.abs(gotFused[i] - want) <= 1e-5 * bound + 1e-30, "fused gradient" + at + gotFused[i] + " vs " + want);
                    }
                    dev.ops().mix(ct, b, off, out);
                    dev.ops().mixGenerated(ct, s, off, out2);
                    dev.ops().mix(ct, b, inPlace, inPlace);
                    float[] want = new float[n];
                    for (int e = 0; e < n; e++) {
                        float acc = offset[e];
                        for (int i = 0; i < k; i++) {
                            acc = Math.fma(c[i], basisRef[i * n + e], acc);
                        }
                        want[e] = acc;
                    }
                    assertBitIdentical(want, dev.read(out), "mix k=" + k + " n=" + n);
                    assertBitIdentical(want, dev.read(out2), "mixGenerated k=" + k + " n=" + n);
                    assertBitIdentical(want, dev.read(inPlace), "mix in place k=" + k + " n=" + n);
                }
            }
        }
    }

    private static void assertBitIdentical(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what + ": length");
        for (int e = 0; e < want.length; e++) {
            assertEquals(Float.floatToRawIntBits(want[e]), Float.floatToRawIntBits(got[e]), what + ": element " + e);
        }
    }

    private static float[] basis(Device d, BasisStream s, int k, int n) {
        try (Tensor t = d.allocate(k, n)) {
            d.ops().basis(s, 0, k, t);
            return d.read(t);
        }
    }
}
