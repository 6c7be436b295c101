package dev.nola.kernels.contract;

import static dev.nola.kernels.contract.Asserts.assertClose;
import static dev.nola.kernels.contract.Asserts.assertNoAllocations;
import static dev.nola.kernels.contract.Asserts.deepCopy;
import static dev.nola.kernels.contract.Asserts.expect;
import static dev.nola.kernels.contract.Asserts.random;

import dev.nola.kernels.AdapterOps;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.contract.Contract.Check;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The adapter family: forward (h, y) and backward (dh, dx, da, db) within {@link Asserts#REL_TOL}
 * of the reference, the bound being the same computation on absolute values; with and without dx,
 * at ranks on both sides of the cpu backend's row kernels (r ≤ 32), on tensors and on views.
 */
final class AdapterContract {

    /** Operand order of the calls: x, a, b, h, y, dy, dh, dx, da, db. */
    private static final String[] NAMES = {"x", "a", "b", "h", "y", "dy", "dh", "dx", "da", "db"};
    private static final int[] OUTPUTS = {3, 4, 6, 7, 8, 9};

    private AdapterContract() {
    }

    static List<Check> checks() {
        return List.of(
                new Check("forward and backward within tolerance", false, AdapterContract::forwardBackward),
                new Check("backward without dx, and rank 40 (beyond the cpu row kernels)", false, AdapterContract::withoutDxAndWideRank),
                new Check("forward and backward on views, nothing around them written", false, Operands.inBothLayouts(AdapterContract::views)),
                new Check("bad input is rejected with named arguments", true, AdapterContract::badInput),
                new Check("closed device and tensors are rejected", true, AdapterContract::closed),
                new Check("no device allocations after warm-up", true, AdapterContract::allocations));
    }

    /** {tokens, in, r, out}. */
    private static void compare(Device ref, Device dev, SplittableRandom r, int[] s, boolean withDx, Operands.Layout carved) {
        int tokens = s[0];
        int in = s[1];
        int rank = s[2];
        int out = s[3];
        float scale = 0.75f;
        int[][] shapes = {{tokens, in}, {rank, in}, {out, rank}, {tokens, rank}, {tokens, out}, {tokens, out},
                {tokens, rank}, {tokens, in}, {rank, in}, {out, rank}};
        float[][] inputs = {random(r, tokens * in, 1), random(r, rank * in, 1), random(r, out * rank, 1),
                new float[tokens * rank], random(r, tokens * out, 1), random(r, tokens * out, 1), new float[tokens * rank],
                withDx ? random(r, tokens * in, 1) : null, new float[rank * in], new float[out * rank]};
        float[][] want = outputs(ref, inputs, shapes, scale, null);
        float[][] got = outputs(dev, inputs, shapes, scale, carved);
        // The bound is the same computation on absolute values: Σ|terms| at every level of the
        // nested sums, which bounds the rounding error of any summation order.
        float[][] absInputs = deepCopy(inputs);
        for (int i = 0; i < absInputs.length; i++) {
            if (absInputs[i] != null) {
                absInputs[i] = Asserts.abs(absInputs[i]);
            }
        }
        float[][] absOut = outputs(ref, absInputs, shapes, scale, null);
        for (int o : OUTPUTS) {
            if (inputs[o] == null) {
                continue;
            }
            double[] bound = new double[absOut[o].length];
            for (int e = 0; e < bound.length; e++) {
                bound[e] = absOut[o][e];
            }
            assertClose(want[o], got[o], bound, "adapter " + NAMES[o] + " tokens=" + tokens + " in=" + in + " r=" + rank
                    + " out=" + out + (withDx ? "" : " (dx null)") + (carved != null ? " on views " + carved : ""));
        }
    }

    /** Runs forward then backward on plain tensors (carved null) or carved views; returns every operand afterwards. */
    private static float[][] outputs(Device d, float[][] inputs, int[][] shapes, float scale, Operands.Layout carved) {
        try (Operands o = carved != null ? Operands.carved(d, carved, deepCopy(inputs), shapes) : Operands.plain(d, deepCopy(inputs), shapes)) {
            Tensor[] t = o.tensors();
            d.adapter().forward(t[0], t[1], t[2], scale, t[3], t[4]);
            d.adapter().backward(t[0], t[1], t[2], scale, t[3], t[5], t[6], t[7], t[8], t[9]);
            float[][] result = new float[t.length][];
            for (int i = 0; i < t.length; i++) {
                result[i] = t[i] == null ? null : o.read(i);
            }
            o.assertSentinels("adapter forward and backward");
            return result;
        }
    }

    static void forwardBackward(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(17);
        for (int[] s : new int[][] {{1, 1, 1, 1}, {5, 7, 2, 3}, {64, 48, 8, 40}, {33, 129, 1, 65}, {300, 96, 16, 80}}) {
            compare(ref, dev, r, s, true, null);
        }
    }

    static void withoutDxAndWideRank(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(27);
        for (int[] s : new int[][] {{5, 7, 2, 3}, {64, 48, 8, 40}, {37, 50, 40, 45}, {9, 33, 33, 17}}) {
            compare(ref, dev, r, s, false, null);
            compare(ref, dev, r, s, true, null);
        }
    }

    static void views(Device ref, Device dev, Operands.Layout layout) {
        SplittableRandom r = new SplittableRandom(37);
        for (int[] s : new int[][] {{1, 1, 1, 1}, {5, 7, 2, 3}, {64, 48, 8, 40}, {20, 30, 40, 25}}) {
            compare(ref, dev, r, s, true, layout);
            compare(ref, dev, r, s, false, layout);
        }
    }

    static void badInput(Device ref, Device dev) {
        AdapterOps o = dev.adapter();
        // tokens 4, in 6, r 2, out 3
        try (Tensor x = dev.allocate(4, 6); Tensor a = dev.allocate(2, 6); Tensor b = dev.allocate(3, 2);
             Tensor h = dev.allocate(4, 2); Tensor y = dev.allocate(4, 3); Tensor dy = dev.allocate(4, 3);
             Tensor dh = dev.allocate(4, 2); Tensor dx = dev.allocate(4, 6); Tensor da = dev.allocate(2, 6);
             Tensor db = dev.allocate(3, 2); Tensor ints = dev.allocate(DType.INT32, 4, 3); Tensor big = dev.allocate(100)) {
            expect(IllegalArgumentException.class, "scale", () -> o.forward(x, a, b, Float.NaN, h, y));
            expect(IllegalArgumentException.class, "scale", () -> o.backward(x, a, b, Float.POSITIVE_INFINITY, h, dy, dh, dx, da, db));
            expect(IllegalArgumentException.class, "a has shape", () -> o.forward(x, da.reshape(3, 4), b, 1f, h, y));
            expect(IllegalArgumentException.class, "b has shape", () -> o.forward(x, a, dy.reshape(2, 6), 1f, h, y));
            expect(IllegalArgumentException.class, "h has shape", () -> o.forward(x, a, b, 1f, dx.view(0, 3, 2), y));
            expect(IllegalArgumentException.class, "y has shape", () -> o.forward(x, a, b, 1f, h, dx.view(0, 4, 2)));
            expect(IllegalArgumentException.class, "x must be a matrix", () -> o.forward(x.reshape(24), a, b, 1f, h, y));
            expect(IllegalArgumentException.class, "dy has shape", () -> o.backward(x, a, b, 1f, h, dx.view(0, 3, 4), dh, dx, da, db));
            expect(IllegalArgumentException.class, "dx has shape", () -> o.backward(x, a, b, 1f, h, dy, dh, da, da, db));
            expect(IllegalArgumentException.class, "da has shape", () -> o.backward(x, a, b, 1f, h, dy, dh, dx, x, db));
            expect(IllegalArgumentException.class, "db has shape", () -> o.backward(x, a, b, 1f, h, dy, dh, dx, da, h));
            expect(IllegalArgumentException.class, "y is an int32 tensor", () -> o.forward(x, a, b, 1f, h, ints));
            expect(IllegalArgumentException.class, "dy is an int32 tensor", () -> o.backward(x, a, b, 1f, h, ints, dh, dx, da, db));
            // overlaps: outputs over inputs and over one another
            expect(IllegalArgumentException.class, "overlap", () -> o.forward(x, a, b, 1f, h, x.view(0, 4, 3)));
            expect(IllegalArgumentException.class, "overlap",
                    () -> o.forward(x, a, b, 1f, big.view(0, 4, 2), big.view(4, 4, 3)));
            expect(IllegalArgumentException.class, "overlap", () -> o.backward(x, a, b, 1f, h, dy, dh, x.reshape(4, 6), da, db));
            expect(IllegalArgumentException.class, "overlap",
                    () -> o.backward(x, a, b, 1f, h, dy, big.view(0, 4, 2), dx, big.view(7, 2, 6), db));
            try (Tensor foreign = ref.allocate(4, 3)) {
                expect(IllegalArgumentException.class, "belongs to device", () -> o.forward(x, a, b, 1f, h, foreign));
            }
        }
    }

    static void closed(Device ref, Device dev) {
        AdapterOps o = dev.adapter();
        Tensor x = dev.allocate(2, 3);
        Tensor a = dev.allocate(1, 3);
        Tensor b = dev.allocate(2, 1);
        Tensor h = dev.allocate(2, 1);
        Tensor y = dev.allocate(2, 2);
        h.close();
        expect(IllegalStateException.class, "closed", () -> o.forward(x, a, b, 1f, h, y));
        dev.close();
        expect(IllegalStateException.class, "closed", () -> o.forward(x, a, b, 1f, h, y));
        expect(IllegalStateException.class, "closed", () -> o.backward(x, a, b, 1f, h, y, h, null, a, b));
    }

    static void allocations(Device ref, Device dev) {
        for (int rank : new int[] {8, 40}) {
            int tokens = 50;
            int in = 64;
            int out = 48;
            try (Tensor x = dev.allocate(tokens, in); Tensor a = dev.allocate(rank, in); Tensor b = dev.allocate(out, rank);
                 Tensor h = dev.allocate(tokens, rank); Tensor y = dev.allocate(tokens, out); Tensor dy = dev.allocate(tokens, out);
                 Tensor dh = dev.allocate(tokens, rank); Tensor dx = dev.allocate(tokens, in); Tensor da = dev.allocate(rank, in);
                 Tensor db = dev.allocate(out, rank)) {
                assertNoAllocations(dev, "adapter ops at r=" + rank, () -> {
                    dev.adapter().forward(x, a, b, 0.5f, h, y);
                    dev.adapter().backward(x, a, b, 0.5f, h, dy, dh, dx, da, db);
                    dev.adapter().backward(x, a, b, 0.5f, h, dy, dh, null, da, db);
                });
            }
        }
    }
}
