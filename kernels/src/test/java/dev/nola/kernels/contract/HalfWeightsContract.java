package dev.nola.kernels.contract;

import static dev.nola.kernels.contract.Asserts.assertBits;
import static dev.nola.kernels.contract.Asserts.assertClose;
import static dev.nola.kernels.contract.Asserts.expect;
import static dev.nola.kernels.contract.Asserts.random;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.nola.kernels.Availability;
import dev.nola.kernels.BFloat16;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.contract.Contract.Check;
import java.util.SplittableRandom;

/**
 * bfloat16 frozen weights ({@code --weights bf16}): storage (host floats rounded to nearest even on
 * the way in, widened exactly on the way out, two bytes counted per element), matmul with a bfloat16
 * B (every transpose, ragged edges around each backend's tiles, k past one packed slice, B a view at
 * an odd offset, strided batches with a shared B) and the embedding gather from a bfloat16 table,
 * and the clear refusal of bfloat16 everywhere else. Each product must equal, bit for bit, the same
 * device's float32 product over the widened values (the widening happens where B is loaded, nothing
 * else changes), and lie within tolerance of the reference's. A device that cannot hold bfloat16 must
 * refuse it at allocation with the reason ({@link #storage}); the matmul and encoder checks are then
 * not given to it at all ({@link Contract.Check#holds}), rather than skipped.
 */
final class HalfWeightsContract {

    private HalfWeightsContract() {
    }

    /** The device's bfloat16 check. */
    static Check storage() {
        return new Check("bfloat16 storage: rounded on write, widened on read, 2 bytes each, refused as an op operand",
                true, HalfWeightsContract::storage);
    }

    /** The linalg family's bfloat16 check. */
    static Check matmul() {
        return new Check("matmul and matmulBatched with a bfloat16 b: bits of the float32 product of the widened b",
                true, HalfWeightsContract::matmul, DType.BF16);
    }

    /** The nn family's bfloat16 check. */
    static Check encoder() {
        return new Check("encoderForward from a bfloat16 wte: bits of the float32 gather of the widened table", true,
                HalfWeightsContract::encoder, DType.BF16);
    }

    /** The runner gives these checks only to devices that hold bfloat16 ({@link Check#holds}). */
    private static void requireBf16(Device dev) {
        Availability a = dev.holds(DType.BF16);
        if (!a.available()) {
            throw new AssertionError(dev.id() + " holds no bfloat16 tensors (" + a.reason()
                    + "); a bfloat16 check must not be given to it");
        }
    }

    static void storage(Device ref, Device dev) {
        if (!dev.holds(DType.BF16).available()) {
            // the refusal itself is the contract there: at allocation, with the reason
            expect(UnsupportedOperationException.class, "bfloat16", () -> dev.allocate(DType.BF16, 4));
            return;
        }
        SplittableRandom r = new SplittableRandom(40);
        float[] v = random(r, 1001, 3);
        // ties and edges of the rounding: exactly halfway (even below: down; odd below: up), a carry into
        // the exponent, a value past bfloat16's range, signed zero, a subnormal
        float[] edges = {Float.intBitsToFloat(0x3F808000), Float.intBitsToFloat(0x3F818000),
                Float.intBitsToFloat(0x3FBFFFFF), Float.MAX_VALUE, -0f, Float.intBitsToFloat(0x00018000)};
        System.arraycopy(edges, 0, v, 0, edges.length);
        long before = ((dev.nola.kernels.AbstractDevice) dev).memoryBytes();
        try (Tensor t = dev.upload(DType.BF16, v, 7, 143)) {
            assertEquals(DType.BF16, t.dtype());
            assertEquals(before + 2L * v.length, ((dev.nola.kernels.AbstractDevice) dev).memoryBytes(),
                    "a bfloat16 tensor holds 2 bytes per element");
            float[] want = BFloat16.rounded(v);
            assertEquals(0x3F80_0000, Float.floatToRawIntBits(want[0]), "tie, even below: down");
            assertEquals(0x3F82_0000, Float.floatToRawIntBits(want[1]), "tie, odd below: up to even");
            assertBits(want, dev.read(t), "read of a bfloat16 tensor");
            // values already bfloat16 (a BF16 checkpoint, widened on load) go in as they are stored
            dev.write(t, want);
            assertBits(want, dev.read(t), "bfloat16 values written again");
            // a view at an odd offset: partial write and read, nothing around it touched
            float[] part = random(r, 9, 1);
            dev.write(t, 13, part, 0, part.length);
            System.arraycopy(BFloat16.rounded(part), 0, want, 13, part.length);
            float[] back = new float[11];
            dev.read(t.view(12, 11), 0, back, 0, back.length);
            float[] wantBack = new float[11];
            System.arraycopy(want, 12, wantBack, 0, 11);
            assertBits(wantBack, back, "view of a bfloat16 tensor");
            try (Tensor u = dev.allocate(DType.BF16, 7, 143)) {
                dev.copy(t, u);
                assertBits(want, dev.read(u), "copy between bfloat16 tensors");
            }
            try (Tensor f = dev.allocate(7, 143); Tensor x = dev.allocate(7, 7)) {
                expect(IllegalArgumentException.class, "same element type", () -> dev.copy(t, f));
                // bfloat16 is read only as matmul's b and the embedding table: as A, as C, or elsewhere it is refused
                expect(IllegalArgumentException.class, "a is a bfloat16 tensor",
                        () -> dev.linalg().matmul(false, true, 1f, t, f, 0f, x));
                expect(IllegalArgumentException.class, "c is a bfloat16 tensor",
                        () -> dev.linalg().matmul(false, true, 1f, f, f, 0f, t.view(0, 7, 7)));
                expect(IllegalArgumentException.class, "x is a bfloat16 tensor", () -> dev.linalg().scale(2f, t));
                expect(IllegalArgumentException.class, "dwte is a bfloat16 tensor", () -> {
                    try (Tensor ids = dev.upload(new int[] {1, 2}, 2); Tensor dout = dev.allocate(2, 143)) {
                        dev.nn().encoderBackward(ids, dout, t, null, 2);
                    }
                });
            }
        }
    }

    static void matmul(Device ref, Device dev) {
        requireBf16(dev);
        SplittableRandom r = new SplittableRandom(41);
        // ragged around every tile: 1, 6-row and 16-column panels, 64-tiles, the cpu's 4 x 2-vector and
        // 8 x 1-vector tiles, k past one 256-deep slice; the cpu's few-row products (Gemv, m <= 4) over
        // more than one 256-column block with its 4-vector column tiles
        int[][] mnk = {{1, 1, 1}, {1, 50, 37}, {3, 300, 70}, {7, 5, 3}, {63, 65, 17}, {64, 64, 16}, {130, 70, 33},
                {5, 200, 129}, {13, 8, 300}, {33, 17, 65}};
        for (int[] s : mnk) {
            for (int variant = 0; variant < 4; variant++) {
                boolean ta = (variant & 1) != 0;
                boolean tb = (variant & 2) != 0;
                int m = s[0];
                int n = s[1];
                int k = s[2];
                float beta = variant == 3 ? 0.5f : 0f;
                float alpha = variant == 1 ? -1.5f : 1f;
                LinalgContract.Gemm g = new LinalgContract.Gemm(ta, tb, 1, m, n, k, alpha, ta ? m : k, 0, tb ? k : n, 0,
                        beta, n, 0);
                compare(ref, dev, r, g, "matmul m=" + m + " n=" + n + " k=" + k + " ta=" + ta + " tb=" + tb);
            }
        }
        // the model's batched shapes: one weight for every batch (strideB = 0), padded ld, gaps between batches
        compare(ref, dev, r, new LinalgContract.Gemm(false, true, 3, 13, 21, 9, 1f, 9, 13 * 9, 9, 0, 1f, 21, 13 * 21),
                "strideB = 0");
        compare(ref, dev, r, new LinalgContract.Gemm(false, false, 2, 17, 40, 19, 1f, 19 + 3, 17 * 22 + 2, 40 + 5,
                19 * 45 + 1, 0f, 40 + 2, 17 * 42 + 7), "padded ld, gaps");
    }

    /**
     * One product three ways: the device with a bfloat16 B (a view at an odd offset of a larger
     * bfloat16 buffer), the same device with float32 B holding the widened values (must be equal bit
     * for bit), and the reference with the bfloat16 B (within tolerance).
     */
    private static void compare(Device ref, Device dev, SplittableRandom r, LinalgContract.Gemm g, String what) {
        float[] a = random(r, g.aSize(), 1);
        float[] b = random(r, g.bSize(), 1);
        float[] c = random(r, g.cSize(), 1);
        float[] widened = BFloat16.rounded(b);
        float[] half = run(dev, g, a, b, DType.BF16, c);
        assertBits(run(dev, g, a, widened, DType.FLOAT32, c), half, what + ": bfloat16 b vs float32 b of the same values");
        if (ref != dev) {
            assertClose(run(ref, g, a, b, DType.BF16, c), half, g.bound(a, widened, c), what + ": vs the reference");
        }
    }

    private static float[] run(Device d, LinalgContract.Gemm g, float[] a, float[] b, DType bType, float[] c) {
        int pad = 3;
        float[] padded = new float[b.length + 2 * pad];
        java.util.Arrays.fill(padded, 1e30f); // read by mistake, it would show
        System.arraycopy(b, 0, padded, pad, b.length);
        try (Tensor at = d.upload(a, a.length); Tensor bt = d.upload(bType, padded, padded.length);
             Tensor ct = d.upload(c, c.length)) {
            Tensor bv = bt.view(pad, b.length);
            if (g.batch() == 1) {
                int[] as = g.ta() ? new int[] {g.k(), g.m()} : new int[] {g.m(), g.k()};
                int[] bs = g.tb() ? new int[] {g.n(), g.k()} : new int[] {g.k(), g.n()};
                d.linalg().matmul(g.ta(), g.tb(), g.alpha(), at.reshape(as), bv.reshape(bs), g.beta(), ct.reshape(g.m(), g.n()));
            } else {
                g.call(d, at, bv, ct);
            }
            return d.read(ct);
        }
    }

    static void encoder(Device ref, Device dev) {
        requireBf16(dev);
        SplittableRandom r = new SplittableRandom(42);
        // C ragged around 8-wide blocks; with and without positions
        for (int c : new int[] {1, 8, 13, 64}) {
            for (boolean positions : new boolean[] {true, false}) {
                int vocab = 11;
                int t = 3;
                int n = 2 * t;
                int[] ids = new int[n];
                for (int i = 0; i < n; i++) {
                    ids[i] = r.nextInt(vocab);
                }
                float[] wte = random(r, vocab * c, 2);
                float[] wpe = random(r, 4 * c, 1);
                String what = "encoderForward C=" + c + (positions ? "" : " without positions");
                float[] half = gather(dev, ids, wte, DType.BF16, positions ? wpe : null, c, t);
                assertBits(gather(dev, ids, BFloat16.rounded(wte), DType.FLOAT32, positions ? wpe : null, c, t), half,
                        what + ": bfloat16 table vs float32 table of the same values");
                // each element is one widened value plus at most one position value: one rounding at most
                float[] exact = new float[n * c];
                float[] rounded = BFloat16.rounded(wte);
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < c; j++) {
                        float e = rounded[ids[i] * c + j];
                        exact[i * c + j] = positions ? e + wpe[(i % t) * c + j] : e;
                    }
                }
                assertBits(exact, half, what + ": vs host arithmetic");
            }
        }
    }

    private static float[] gather(Device d, int[] ids, float[] wte, DType type, float[] wpe, int c, int t) {
        try (Tensor it = d.upload(ids, ids.length); Tensor te = d.upload(type, wte, wte.length / c, c);
             Tensor pe = wpe == null ? null : d.upload(wpe, wpe.length / c, c); Tensor out = d.allocate(ids.length, c)) {
            d.nn().encoderForward(it, te, pe, out, t);
            return d.read(out);
        }
    }
}
