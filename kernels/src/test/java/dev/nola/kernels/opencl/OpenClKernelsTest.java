package dev.nola.kernels.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.Backends;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.contract.Contract;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What the contract suite cannot reach through {@code AUTO}: the whole contract in both kernel
 * layouts and with each sgemm variant forced; each variant on shapes at and around its tile edges
 * and on strided batches; and sizes large enough that the reductions use many work-groups per row
 * and the element-wise kernels many work-groups, all against the reference.
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

    /**
     * The whole op contract (views, batches, every family) in what {@code AUTO} does not pick on this
     * device: the other kernel layout of the random and nola families, and each sgemm variant forced
     * (the adapter family runs on it too). The default configuration runs in {@code OpsContractTest}.
     */
    @TestFactory
    Stream<DynamicNode> theContractInTheOtherLayoutAndEachSgemmVariant() {
        boolean cpu = backend.devices().get(0).type() == DeviceInfo.Type.CPU;
        String other = cpu ? "" : "-DCHUNKED";
        List<DynamicNode> nodes = new ArrayList<>();
        nodes.add(DynamicContainer.dynamicContainer("layout " + (cpu ? "strided (GPU)" : "-DCHUNKED (CPU)"),
                Contract.forDevice(() -> {
                    OpenClDevice d = first();
                    d.layoutOptions = other;
                    return d;
                })));
        for (OpenClLinalgOps.MatmulVariant v : List.of(OpenClLinalgOps.MatmulVariant.TILED,
                OpenClLinalgOps.MatmulVariant.BLOCKED, OpenClLinalgOps.MatmulVariant.PANEL,
                OpenClLinalgOps.MatmulVariant.DOTS)) {
            nodes.add(DynamicContainer.dynamicContainer("sgemm " + v, Contract.forDevice(() -> {
                OpenClDevice d = first();
                ((OpenClLinalgOps) d.linalg()).matmulVariant = v;
                return d;
            })));
        }
        return nodes.stream();
    }

    @ParameterizedTest
    @EnumSource(value = OpenClLinalgOps.MatmulVariant.class, names = {"AUTO", "TILED", "BLOCKED", "PANEL", "DOTS"})
    void eachSgemmVariantMatchesTheReference(OpenClLinalgOps.MatmulVariant variant) {
        SplittableRandom r = new SplittableRandom(21);
        // past the tile edges of each variant (PANEL: 6 x 64 blocks, DOTS: 4 x 6 and k by 16), a k long
        // enough that PANEL runs it in slices, and a Bᵀ large enough that AUTO takes DOTS on a CPU device
        int[][] mnk = {{1, 1, 1}, {63, 65, 17}, {64, 64, 16}, {130, 70, 33}, {5, 200, 129}, {13, 130, 3001},
                {9, 1100, 1001}};
        try (OpenClDevice dev = first(); Device ref = Backends.open("reference")) {
            ((OpenClLinalgOps) dev.linalg()).matmulVariant = variant;
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

    /**
     * Each variant on strided batches as the model uses them: attention heads (Q·Kᵀ per head from
     * column slices with ld = C, and P·V written back into interleaved column slices of C), one
     * weight broadcast to every batch (strideB = 0), padded leading dimensions, all at offsets into
     * shared buffers. Elements of C outside the batches must come back unchanged.
     */
    @ParameterizedTest
    @EnumSource(value = OpenClLinalgOps.MatmulVariant.class, names = {"TILED", "BLOCKED", "PANEL", "DOTS"})
    void eachSgemmVariantRunsStridedBatches(OpenClLinalgOps.MatmulVariant variant) {
        SplittableRandom r = new SplittableRandom(24);
        int tokens = 70;
        int heads = 3;
        int hs = 24;
        int channels = heads * hs;
        // {transA, transB, batch, m, n, k, lda, strideA, ldb, strideB, ldc, strideC}
        long[][] cases = {
                {0, 1, heads, tokens, tokens, hs, channels, hs, channels, hs, tokens, (long) tokens * tokens},
                {0, 0, heads, tokens, hs, tokens, tokens, (long) tokens * tokens, channels, hs, channels, hs},
                {1, 0, heads, tokens, hs, tokens, tokens, (long) tokens * tokens, channels, hs, channels, hs},
                {0, 0, 4, 33, 65, 17, 17, 33 * 17, 65, 0, 65, 33 * 65},
                {1, 1, 2, 64, 64, 64, 70, 64 * 70 + 3, 66, 64 * 66 + 1, 67, 64 * 67 + 5},
                // B read in place by PANEL (n a multiple of its 64 columns), rows padded, batches apart
                {0, 0, 3, 10, 128, 20, 20, 200, 131, 20 * 131 + 7, 128, 10 * 128},
                {0, 0, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1}};
        try (OpenClDevice dev = first(); Device ref = Backends.open("reference")) {
            ((OpenClLinalgOps) dev.linalg()).matmulVariant = variant;
            for (long[] c : cases) {
                boolean ta = c[0] != 0;
                boolean tb = c[1] != 0;
                int batch = (int) c[2];
                int m = (int) c[3];
                int n = (int) c[4];
                int k = (int) c[5];
                int lda = (int) c[6];
                int ldb = (int) c[8];
                int ldc = (int) c[10];
                int aSize = (int) ((batch - 1) * c[7] + (long) ((ta ? k : m) - 1) * lda + (ta ? m : k));
                int bSize = (int) ((batch - 1) * c[9] + (long) ((tb ? n : k) - 1) * ldb + (tb ? k : n));
                int cSize = (int) ((batch - 1) * c[11] + (long) (m - 1) * ldc + n);
                float[] a = random(r, aSize);
                float[] b = random(r, bSize);
                float[] c0 = random(r, cSize);
                float[] want = batched(ref, ta, tb, batch, m, n, k, a, lda, c[7], b, ldb, c[9], c0, ldc, c[11]);
                float[] got = batched(dev, ta, tb, batch, m, n, k, a, lda, c[7], b, ldb, c[9], c0, ldc, c[11]);
                for (int i = 0; i < want.length; i++) {
                    // as above; untouched elements (between batches, past n in a row) come back exactly
                    double tol = (k + 2) * 0x1p-22;
                    assertTrue(Math.abs(want[i] - got[i]) <= tol, variant + " batched " + java.util.Arrays.toString(c)
                            + " element " + i + ": " + want[i] + " vs " + got[i]);
                }
            }
        }
    }

    /** C (a view at offset 3 of a larger buffer) after one strided batched product; A and B at offsets too. */
    private static float[] batched(Device d, boolean ta, boolean tb, int batch, int m, int n, int k, float[] a, int lda,
                                   long sa, float[] b, int ldb, long sb, float[] c, int ldc, long sc) {
        try (Tensor ab = d.allocate(a.length + b.length + 7); Tensor ct = d.allocate(c.length + 5)) {
            d.write(ab, 2, a, 0, a.length);
            d.write(ab, 5 + a.length, b, 0, b.length);
            d.write(ct, 3, c, 0, c.length);
            Tensor cv = ct.view(3, c.length);
            d.linalg().matmulBatched(ta, tb, batch, m, n, k, 1.5f, ab.view(2, a.length), lda, sa,
                    ab.view(5 + a.length, b.length), ldb, sb, 0.5f, cv, ldc, sc);
            return d.read(cv);
        }
    }

    private static float[] matmul(Device d, boolean ta, boolean tb, float[] a, int[] as, float[] b, int[] bs,
                                  float beta, float[] c, int m, int n) {
        try (Tensor at = d.upload(a, as); Tensor bt = d.upload(b, bs); Tensor ct = d.upload(c, m, n)) {
            d.linalg().matmul(ta, tb, 1.5f, at, bt, beta, ct);
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
            dev.layoutOptions = reductionLayout; // CPU (chunked) and GPU (strided) layouts
            float[] basisRef = basis(ref, s, k, n);
            float[] basisDev = basis(dev, s, k, n);
            assertEquals(basisRef.length, basisDev.length);
            for (int i = 0; i < basisRef.length; i++) {
                assertEquals(Float.floatToRawIntBits(basisRef[i]), Float.floatToRawIntBits(basisDev[i]), "basis element " + i);
            }
            try (Tensor ct = dev.upload(c, k); Tensor out = dev.allocate(n); Tensor g = dev.upload(grad, n);
                 Tensor b = dev.upload(basisRef, k, n); Tensor cg = dev.allocate(k); Tensor cgg = dev.allocate(k);
                 Tensor out2 = dev.allocate(n)) {
                dev.nola().mixGenerated(ct, s, null, out);
                dev.nola().mix(ct, b, null, out2);
                dev.nola().coefficientGradient(b, g, cg);
                dev.nola().coefficientGradientGenerated(s, g, cgg);
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
                dev.layoutOptions = layout;
                float[] basisRef = basis(ref, s, k, n);
                assertBitIdentical(basisRef, basis(dev, s, k, n), "basis k=" + k + " n=" + n);
                try (Tensor ct = dev.upload(c, k); Tensor b = dev.upload(basisRef, k, n); Tensor off = dev.upload(offset, n);
                     Tensor out = dev.allocate(n); Tensor out2 = dev.allocate(n); Tensor inPlace = dev.upload(offset, n);
                     Tensor cg = dev.allocate(k); Tensor cgg = dev.allocate(k)) {
                    dev.nola().coefficientGradient(b, off, cg);
                    dev.nola().coefficientGradientGenerated(s, off, cgg);
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
                    dev.nola().mix(ct, b, off, out);
                    dev.nola().mixGenerated(ct, s, off, out2);
                    dev.nola().mix(ct, b, inPlace, inPlace);
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
            d.random().basis(s, 0, k, t);
            return d.read(t);
        }
    }
}
