package dev.nola.kernels.contract;

import static dev.nola.kernels.contract.Asserts.assertBits;
import static dev.nola.kernels.contract.Asserts.assertNoAllocations;
import static dev.nola.kernels.contract.Asserts.expect;

import dev.nola.kernels.BasisStream;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.RandomOps;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.contract.Contract.Check;
import java.util.List;
import java.util.SplittableRandom;

/** The random family: the seeded basis, bit for bit the reference's, into tensors and views. */
final class RandomContract {

    /** Shapes the property tests cover: n includes 1, 7, 1023 (not multiples of 4 or of a vector). */
    static final int[] SIZES = {1, 2, 3, 4, 7, 64, 129, 1023};
    static final int[] COUNTS = {1, 2, 3, 8, 33};

    private RandomContract() {
    }

    static List<Check> checks() {
        return List.of(
                new Check("basis is bit-identical", false, RandomContract::basisIdentical),
                new Check("basis into views is bit-identical, nothing around them written", false,
                        Operands.inBothLayouts(RandomContract::views)),
                new Check("bad input is rejected with named arguments", true, RandomContract::badInput),
                new Check("closed device and tensors are rejected", true, RandomContract::closed),
                new Check("no device allocations after warm-up", true, RandomContract::allocations));
    }

    static float[] basis(Device d, BasisStream s, int first, int count, int n) {
        return Operands.run(d, new float[][] {new float[count * n]}, new int[][] {{count, n}}, 0,
                (dd, t) -> dd.random().basis(s, first, count, t[0]));
    }

    static void basisIdentical(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(11);
        long[] seeds = {0L, 1L, -1L, 0x1234_5678_9abc_def0L};
        for (int trial = 0; trial < 16; trial++) {
            int n = SIZES[trial % SIZES.length];
            int count = COUNTS[trial % COUNTS.length];
            BasisStream s = new BasisStream(seeds[trial % seeds.length], r.nextInt(), trial % 3,
                    trial % 4 == 0 ? 1f : (float) r.nextDouble());
            int first = trial % 2 == 0 ? 0 : r.nextInt(1 << 20);
            assertBits(basis(ref, s, first, count, n), basis(dev, s, first, count, n),
                    "basis " + s + " first=" + first + " count=" + count + " n=" + n);
        }
    }

    static void views(Device ref, Device dev, Operands.Layout layout) {
        SplittableRandom r = new SplittableRandom(31);
        for (int[] cn : new int[][] {{1, 1}, {3, 7}, {5, 130}, {2, 1031}}) {
            int count = cn[0];
            int n = cn[1];
            BasisStream s = new BasisStream(r.nextLong(), r.nextInt(), 1, 0.25f);
            int first = r.nextInt(1000);
            float[] want = basis(ref, s, first, count, n);
            // two outputs in one buffer: a kernel that ignores the offset writes the other one's place
            for (int which = 0; which < 2; which++) {
                int w = which;
                float[] got = Operands.runCarved(dev, layout, new float[][] {new float[count * n], new float[count * n]},
                        new int[][] {{count, n}, {count * n}}, w, (d, t) -> d.random().basis(s, first, count, t[w]),
                        "basis count=" + count + " n=" + n);
                assertBits(want, got, "basis into view " + w + " (" + layout + "), count=" + count + " n=" + n);
            }
        }
    }

    static void badInput(Device ref, Device dev) {
        RandomOps o = dev.random();
        BasisStream s = new BasisStream(1, 2, 0, 1f);
        expect(IllegalArgumentException.class, "scale", () -> new BasisStream(1, 2, 0, Float.NaN));
        expect(IllegalArgumentException.class, "scale", () -> new BasisStream(1, 2, 0, Float.POSITIVE_INFINITY));
        try (Tensor basis = dev.allocate(4, 10); Tensor ints = dev.allocate(DType.INT32, 4, 10)) {
            expect(IllegalArgumentException.class, "count", () -> o.basis(s, 0, 0, basis));
            expect(IllegalArgumentException.class, "firstIndex", () -> o.basis(s, -1, 4, basis));
            expect(IllegalArgumentException.class, "count", () -> o.basis(s, 0, 3, basis));
            expect(IllegalArgumentException.class, "stream", () -> o.basis(null, 0, 4, basis));
            expect(IllegalArgumentException.class, "out", () -> o.basis(s, 0, 4, null));
            expect(IllegalArgumentException.class, "firstIndex + count - 1", () -> o.basis(s, Integer.MAX_VALUE, 2, basis.view(0, 2, 20)));
            expect(IllegalArgumentException.class, "out is an int32 tensor", () -> o.basis(s, 0, 4, ints));
            try (Tensor foreign = ref.allocate(4, 10)) {
                expect(IllegalArgumentException.class, "belongs to device", () -> o.basis(s, 0, 4, foreign));
            }
        }
    }

    static void closed(Device ref, Device dev) {
        RandomOps o = dev.random();
        BasisStream s = new BasisStream(1, 2, 0, 1f);
        Tensor t = dev.allocate(2, 8);
        Tensor gone = dev.allocate(2, 8);
        gone.close();
        expect(IllegalStateException.class, "closed", () -> o.basis(s, 0, 2, gone));
        Tensor view = t.view(0, 8);
        view.close();
        expect(IllegalStateException.class, "closed", () -> o.basis(s, 0, 1, view));
        dev.close();
        expect(IllegalStateException.class, "closed", () -> o.basis(s, 0, 2, t));
    }

    static void allocations(Device ref, Device dev) {
        BasisStream s = new BasisStream(5, 6, 0, 1f);
        try (Tensor t = dev.allocate(3, 1000)) {
            assertNoAllocations(dev, "basis", () -> {
                dev.random().basis(s, 0, 3, t);
                dev.random().basis(s, 7, 2, t.view(5, 2, 997));
            });
        }
    }
}
