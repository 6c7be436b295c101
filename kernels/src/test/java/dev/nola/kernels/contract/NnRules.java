package dev.nola.kernels.contract;

import static dev.nola.kernels.contract.Asserts.assertBits;
import static dev.nola.kernels.contract.Asserts.assertNoAllocations;
import static dev.nola.kernels.contract.Asserts.assertWithin;
import static dev.nola.kernels.contract.Asserts.expect;
import static dev.nola.kernels.contract.Asserts.random;

import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.NnOps;
import dev.nola.kernels.NnOps.Gelu;
import dev.nola.kernels.NnOps.Pool;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.contract.Contract.Check;
import java.util.List;
import java.util.SplittableRandom;

/**
 * What every device does with the nn family whatever its arithmetic: bad input rejected before a
 * kernel runs, with the argument, the value (ids and targets: the index and the value) and what was
 * expected; closed devices and tensors rejected; backward ops that add into gradients (twice is
 * twice) and the three that write (softmax, cross-entropy and rope backward ignore what was there); no
 * device allocation after warm-up.
 */
final class NnRules {

    private NnRules() {
    }

    static List<Check> checks() {
        return List.of(
                new Check("backward ops add into gradients; softmax, cross-entropy and rope backward write", true, NnRules::accumulate),
                new Check("bad input is rejected with named arguments", true, NnRules::badInput),
                new Check("closed device and tensors are rejected", true, NnRules::closed),
                new Check("no device allocations after warm-up", true, NnRules::allocations));
    }

    /** One backward call with its operands: the gradient operands are read back after it. */
    private record Backward(String name, float[][] in, int[][] shapes, Operands.Call call, int... grads) {
    }

    /**
     * From zero, once (g) and twice (g2); from a random start p, once (gp). g2 = 2g and gp = p + g
     * within the rounding of adding g's terms again: 1e-6 relative plus 1e-5 of max|g|.
     */
    static void accumulate(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(90);
        int b = 2, t = 5, c = 15, nh = 3, v = 11, n = b * t;
        int[] ids = NnRuns.ids(r, n, v);
        float[] x = random(r, n * c, 2);
        float[] w = random(r, c, 1);
        float[] dout = random(r, n * c, 1);
        float[] q = random(r, n * c, 1);
        float[] k = random(r, n * c, 1);
        float[] qv = random(r, n * c, 1);
        float[][] f = NnRuns.run(dev, null, new float[][] {x, w, new float[c], new float[n * c], new float[n], new float[n], q, k, qv,
                new float[b * nh * t], new float[n * c]},
                new int[][] {{n, c}, {c}, {c}, {n, c}, {n}, {n}, {b, t, c}, {b, t, c}, {b, t, c}, {b, nh, t}, {b, t, c}},
                (d, o) -> {
                    d.nn().layerNormForward(o[0], o[1], o[2], 1e-5f, o[3], o[4], o[5]);
                    d.nn().fusedAttentionForward(o[6], o[7], o[8], o[10], o[9], true);
                }, "forward", 4, 5, 9, 10);
        float[] m = f[0];
        float[] s = f[1];
        float[] lse = f[2];
        float[] ao = f[3];
        // grouped-query attention: q [b, t, c] on one KV head, k and v [b, t, c / nh]
        int hs = c / nh;
        float[] k1 = random(r, n * hs, 1);
        float[] v1 = random(r, n * hs, 1);
        float[][] f2 = NnRuns.run(dev, null, new float[][] {x, w, new float[n * c], new float[n], q, k1, v1,
                new float[b * nh * t], new float[n * c]},
                new int[][] {{n, c}, {c}, {n, c}, {n}, {b, t, c}, {b, t, hs}, {b, t, hs}, {b, nh, t}, {b, t, c}},
                (d, o) -> {
                    d.nn().rmsNormForward(o[0], o[1], 1e-5f, o[2], o[3]);
                    d.nn().fusedAttentionForward(o[4], o[5], o[6], o[8], o[7], false);
                }, "forward", 3, 7, 8);
        float[] rs = f2[0];
        float[] lse1 = f2[1];
        float[] ao1 = f2[2];
        List<Backward> ops = List.of(
                new Backward("encoder", new float[][] {dout, new float[v * c], new float[t * c]}, new int[][] {{n, c}, {v, c}, {t, c}},
                        (d, o) -> {
                            try (Tensor id = d.upload(ids, n)) {
                                d.nn().encoderBackward(id, o[0], o[1], o[2], t);
                            }
                        }, 1, 2),
                new Backward("layernorm", new float[][] {dout, x, w, m, s, new float[n * c], new float[c], new float[c]},
                        new int[][] {{n, c}, {n, c}, {c}, {n}, {n}, {n, c}, {c}, {c}},
                        (d, o) -> d.nn().layerNormBackward(o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]), 5, 6, 7),
                new Backward("gelu tanh", new float[][] {x, dout, new float[n * c]}, new int[][] {{n * c}, {n * c}, {n * c}},
                        (d, o) -> d.nn().geluBackward(Gelu.TANH, o[0], o[1], o[2]), 2),
                new Backward("gelu erf", new float[][] {x, dout, new float[n * c]}, new int[][] {{n * c}, {n * c}, {n * c}},
                        (d, o) -> d.nn().geluBackward(Gelu.ERF, o[0], o[1], o[2]), 2),
                new Backward("bias", new float[][] {dout, new float[c]}, new int[][] {{n, c}, {c}},
                        (d, o) -> d.nn().biasBackward(o[0], o[1]), 1),
                new Backward("attention", new float[][] {dout, q, k, qv, ao, lse, new float[n * c], new float[n * c], new float[n * c]},
                        new int[][] {{b, t, c}, {b, t, c}, {b, t, c}, {b, t, c}, {b, t, c}, {b, nh, t}, {b, t, c}, {b, t, c}, {b, t, c}},
                        (d, o) -> d.nn().fusedAttentionBackward(o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8], true), 6, 7, 8),
                new Backward("pool MEAN", new float[][] {java.util.Arrays.copyOf(dout, b * c), new float[n * c]},
                        new int[][] {{b, c}, {b, t, c}}, (d, o) -> d.nn().poolBackward(Pool.MEAN, o[0], o[1]), 1),
                new Backward("pool FIRST", new float[][] {java.util.Arrays.copyOf(dout, b * c), new float[n * c]},
                        new int[][] {{b, c}, {b, t, c}}, (d, o) -> d.nn().poolBackward(Pool.FIRST, o[0], o[1]), 1),
                new Backward("rmsnorm", new float[][] {dout, x, w, rs, new float[n * c], new float[c]},
                        new int[][] {{n, c}, {n, c}, {c}, {n}, {n, c}, {c}},
                        (d, o) -> d.nn().rmsNormBackward(o[0], o[1], o[2], o[3], o[4], o[5]), 4, 5),
                new Backward("swiglu", new float[][] {x, k, dout, new float[n * c], new float[n * c]},
                        new int[][] {{n * c}, {n * c}, {n * c}, {n * c}, {n * c}},
                        (d, o) -> d.nn().swigluBackward(o[0], o[1], o[2], o[3], o[4]), 3, 4),
                new Backward("grouped-query attention", new float[][] {dout, q, k1, v1, ao1, lse1, new float[n * c], new float[n * hs],
                        new float[n * hs]},
                        new int[][] {{b, t, c}, {b, t, c}, {b, t, hs}, {b, t, hs}, {b, t, c}, {b, nh, t}, {b, t, c}, {b, t, hs},
                                {b, t, hs}},
                        (d, o) -> d.nn().fusedAttentionBackward(o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8], false), 6, 7, 8));
        for (Backward op : ops) {
            float[][] once = NnRuns.run(dev, null, op.in(), op.shapes(), op.call(), op.name(), op.grads());
            float[][] twice = NnRuns.run(dev, null, op.in(), op.shapes(), (d, o) -> {
                op.call().call(d, o);
                op.call().call(d, o);
            }, op.name(), op.grads());
            float[][] start = Asserts.deepCopy(op.in());
            float[][] p = new float[op.grads().length][];
            for (int i = 0; i < p.length; i++) {
                p[i] = random(r, start[op.grads()[i]].length, 1);
                start[op.grads()[i]] = p[i];
            }
            float[][] onStart = NnRuns.run(dev, null, start, op.shapes(), op.call(), op.name(), op.grads());
            for (int i = 0; i < p.length; i++) {
                String what = op.name() + " backward, gradient operand " + op.grads()[i];
                float[] doubled = new float[once[i].length];
                float[] added = new float[once[i].length];
                for (int e = 0; e < doubled.length; e++) {
                    doubled[e] = 2 * once[i][e];
                    added[e] = (float) ((double) p[i][e] + once[i][e]);
                }
                double abs = 1e-5 * NnRuns.maxAbs(once[i]);
                assertWithin(doubled, twice[i], 1e-6, abs, what + ": called twice from zero gives twice the gradient");
                assertWithin(added, onStart[i], 1e-6, abs + 1e-6 * NnRuns.maxAbs(p[i]), what + ": adds to what was there");
            }
        }
        // the writers: what was in dx / dlogits (NaN, huge) has no effect, bit for bit
        float[] y = NnRuns.run(dev, null, new float[][] {x, new float[n * c]}, new int[][] {{n, c}, {n, c}},
                (d, o) -> d.nn().softmaxForward(o[0], o[1], 0.5f, false), "softmax", 1)[0];
        int[] targets = NnRuns.ids(r, n, c);
        targets[3] = -1;
        for (float junk : new float[] {Float.NaN, 1e30f}) {
            float[][] in = {y, dout, new float[n * c], NnRuns.filled(n * c, junk)};
            int[][] shapes = {{n, c}, {n, c}, {n, c}, {n, c}};
            float[][] o = NnRuns.run(dev, null, in, shapes, (d, t4) -> {
                d.nn().softmaxBackward(t4[0], t4[1], t4[2], 0.5f);
                d.nn().softmaxBackward(t4[0], t4[1], t4[3], 0.5f);
            }, "softmax backward", 2, 3);
            assertBits(o[0], o[1], "softmax backward writes dx (prefilled with " + junk + ")");
            float[][] ce = NnRuns.run(dev, null, in, shapes, (d, t4) -> {
                try (Tensor tg = d.upload(targets, n)) {
                    d.nn().crossEntropyBackward(t4[0], tg, t4[2], 0.1f, -1, 0.25f);
                    d.nn().crossEntropyBackward(t4[0], tg, t4[3], 0.1f, -1, 0.25f);
                }
            }, "cross-entropy backward", 2, 3);
            assertBits(ce[0], ce[1], "cross-entropy backward writes dlogits (prefilled with " + junk + ")");
            float[][] tables = NnLlamaContract.ropeTables(t, 6, 10000);
            float[][] ro = NnRuns.run(dev, null, new float[][] {dout, tables[0], tables[1], new float[n * c], NnRuns.filled(n * c, junk)},
                    new int[][] {{1, t, 2 * c}, {t, 3}, {t, 3}, {1, t, 2 * c}, {1, t, 2 * c}}, (d, t5) -> {
                        d.nn().ropeBackward(t5[0], t5[1], t5[2], 6, 0, t5[3]);
                        d.nn().ropeBackward(t5[0], t5[1], t5[2], 6, 0, t5[4]);
                    }, "rope backward", 3, 4);
            assertBits(ro[0], ro[1], "rope backward writes dx (prefilled with " + junk + ")");
        }
    }

    static void badInput(Device ref, Device dev) {
        NnOps nn = dev.nn();
        try (Tensor ids = dev.upload(new int[] {0, 3, 6, 1}, 4); Tensor idsHigh = dev.upload(new int[] {0, 1, 7, 2}, 4);
             Tensor idsNeg = dev.upload(new int[] {0, -2, 1, 2}, 4); Tensor idBuf = dev.upload(new int[] {5, 0, 1, 99, 2, 1}, 6);
             Tensor wte = dev.allocate(7, 6); Tensor wpe = dev.allocate(3, 6); Tensor out = dev.allocate(4, 6);
             Tensor x = dev.allocate(4, 6); Tensor w6 = dev.allocate(6); Tensor w5 = dev.allocate(5); Tensor m4 = dev.allocate(4);
             Tensor r4 = dev.allocate(4); Tensor m3 = dev.allocate(3); Tensor x64 = dev.allocate(6, 4); Tensor f4 = dev.allocate(4);
             Tensor ints = dev.allocate(DType.INT32, 4, 6); Tensor logits = dev.allocate(4, 7); Tensor losses = dev.allocate(4);
             Tensor targets = dev.upload(new int[] {0, 6, -1, 3}, 4); Tensor tHigh = dev.upload(new int[] {0, 7, 1, 2}, 4);
             Tensor tNeg = dev.upload(new int[] {0, 1, -5, 2}, 4); Tensor t3 = dev.upload(new int[] {0, 1, 2}, 3);
             Tensor q = dev.allocate(2, 3, 15); Tensor k = dev.allocate(2, 3, 15); Tensor v = dev.allocate(2, 3, 15);
             Tensor dq = dev.allocate(2, 3, 15); Tensor dk = dev.allocate(2, 3, 15); Tensor dv = dev.allocate(2, 3, 15);
             Tensor lse = dev.allocate(2, 3, 3); Tensor fout = dev.allocate(2, 3, 15); Tensor aout = dev.allocate(2, 3, 15);
             Tensor lse4 = dev.allocate(2, 4, 3); Tensor q14 = dev.allocate(2, 3, 14); Tensor lse32 = dev.allocate(2, 3, 2);
             Tensor qInts = dev.allocate(DType.INT32, 2, 3, 15); Tensor big = dev.allocate(400)) {
            // encoder: ids above V and negative name the index and the value, also in a view (indices of the view)
            expect(IllegalArgumentException.class, "ids[2] = 7 is outside [0, 7)", () -> nn.encoderForward(idsHigh, wte, wpe, out, 2));
            expect(IllegalArgumentException.class, "ids[1] = -2 is outside [0, 7)", () -> nn.encoderForward(idsNeg, wte, wpe, out, 2));
            expect(IllegalArgumentException.class, "ids[2] = 99", () -> nn.encoderForward(idBuf.view(1, 4), wte, wpe, out, 2));
            expect(IllegalArgumentException.class, "ids[2] = 7", () -> nn.encoderBackward(idsHigh, out, wte, wpe, 2));
            expect(IllegalArgumentException.class, "ids[1] = -2", () -> nn.encoderBackward(idsNeg, out, wte, null, 2));
            expect(IllegalArgumentException.class, "t must be > 0", () -> nn.encoderForward(ids, wte, wpe, out, 0));
            expect(IllegalArgumentException.class, "not a multiple of t = 3", () -> nn.encoderForward(ids, wte, wpe, out, 3));
            expect(IllegalArgumentException.class, "wpe has shape", () -> nn.encoderForward(ids, wte, wpe, out, 4));
            expect(IllegalArgumentException.class, "both null", () -> nn.encoderForward(ids, null, null, out, 2));
            expect(IllegalArgumentException.class, "out has shape", () -> nn.encoderForward(ids, wte, wpe, x64, 2));
            expect(IllegalArgumentException.class, "ids is a float32 tensor, expected int32", () -> nn.encoderForward(f4, wte, wpe, out, 2));
            expect(IllegalArgumentException.class, "wte is an int32 tensor", () -> nn.encoderForward(ids, ints, wpe, out, 2));
            expect(IllegalArgumentException.class, "overlap",
                    () -> nn.encoderBackward(ids, big.view(0, 4, 6), big.view(20, 7, 6), null, 2));
            // layernorm: eps, shapes, element types, overlap
            for (float eps : new float[] {Float.NaN, 0f, -1e-5f, Float.POSITIVE_INFINITY}) {
                expect(IllegalArgumentException.class, "eps must be finite and > 0, got " + eps,
                        () -> nn.layerNormForward(x, w6, w6, eps, out, m4, r4));
            }
            expect(IllegalArgumentException.class, "weight has 5 elements", () -> nn.layerNormForward(x, w5, w6, 1e-5f, out, m4, r4));
            expect(IllegalArgumentException.class, "bias has 5 elements", () -> nn.layerNormForward(x, w6, w5, 1e-5f, out, m4, r4));
            expect(IllegalArgumentException.class, "mean has 3 elements", () -> nn.layerNormForward(x, w6, w6, 1e-5f, out, m3, r4));
            expect(IllegalArgumentException.class, "out has shape", () -> nn.layerNormForward(x, w6, w6, 1e-5f, x64, m4, r4));
            expect(IllegalArgumentException.class, "x is an int32 tensor", () -> nn.layerNormForward(ints, w6, w6, 1e-5f, out, m4, r4));
            expect(IllegalArgumentException.class, "overlap", () -> nn.layerNormForward(x, w6, w6, 1e-5f, x, m4, r4));
            expect(IllegalArgumentException.class, "dx has shape", () -> nn.layerNormBackward(out, x, w6, m4, r4, x64, w6, w6));
            expect(IllegalArgumentException.class, "dweight has 5 elements", () -> nn.layerNormBackward(out, x, w6, m4, r4, big.view(0, 4, 6), w5, null));
            expect(IllegalArgumentException.class, "overlap", () -> nn.layerNormBackward(out, x, w6, m4, r4, out, null, null));
            expect(IllegalArgumentException.class, "dout is an int32 tensor", () -> nn.layerNormBackward(ints, x, w6, m4, r4, out, null, null));
            // elementwise
            expect(IllegalArgumentException.class, "kind is null", () -> nn.geluForward(null, x, out));
            expect(IllegalArgumentException.class, "out has 24 elements", () -> nn.geluForward(Gelu.TANH, w6, out));
            expect(IllegalArgumentException.class, "overlap", () -> nn.geluForward(Gelu.ERF, big.view(0, 24), big.view(12, 24)));
            expect(IllegalArgumentException.class, "overlap", () -> nn.geluBackward(Gelu.ERF, x, out, out));
            expect(IllegalArgumentException.class, "x is an int32 tensor", () -> nn.geluBackward(Gelu.TANH, ints, out, x));
            expect(IllegalArgumentException.class, "bias has 5 elements", () -> nn.biasForward(x, w5));
            expect(IllegalArgumentException.class, "dbias has 5 elements", () -> nn.biasBackward(x, w5));
            expect(IllegalArgumentException.class, "b has 6 elements", () -> nn.residualForward(x, w6, out));
            expect(IllegalArgumentException.class, "out is an int32 tensor", () -> nn.residualForward(x, out, ints));
            // softmax: scale, shapes, overlap
            for (float scale : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
                expect(IllegalArgumentException.class, "scale must be finite", () -> nn.softmaxForward(x, out, scale, true));
                expect(IllegalArgumentException.class, "scale must be finite", () -> nn.softmaxBackward(x, out, big.view(0, 4, 6), scale));
            }
            expect(IllegalArgumentException.class, "out has shape", () -> nn.softmaxForward(x, x64, 1f, false));
            expect(IllegalArgumentException.class, "overlap", () -> nn.softmaxForward(big.view(0, 4, 6), big.view(1, 4, 6), 1f, false));
            expect(IllegalArgumentException.class, "dx has shape", () -> nn.softmaxBackward(x, out, x64, 1f));
            expect(IllegalArgumentException.class, "overlap", () -> nn.softmaxBackward(x, out, x, 1f));
            // attention: NH must divide C; q, k, v and out (dout, the backward's out) [B, T, C] alike, each named; ranks;
            // lse and gradient shapes; outputs overlapping an input or one another; element types
            expect(IllegalArgumentException.class, "NH dividing C = 15", () -> nn.fusedAttentionForward(q, k, v, aout, lse4, true));
            expect(IllegalArgumentException.class, "lse has shape [2, 3, 2]", () -> nn.fusedAttentionForward(q, k, v, aout, lse32, true));
            expect(IllegalArgumentException.class, "lse must have rank 3", () -> nn.fusedAttentionForward(q, k, v, aout, x, true));
            expect(IllegalArgumentException.class, "q has shape [2, 3, 14], expected [2, 3, 15] (the shape of out)",
                    () -> nn.fusedAttentionForward(q14, k, v, aout, lse, false));
            expect(IllegalArgumentException.class, "k has shape [2, 3, 14], expected [2, 3, 15] (the shape of out)",
                    () -> nn.fusedAttentionForward(q, q14, v, aout, lse, false));
            expect(IllegalArgumentException.class, "v has shape [2, 3, 14], expected [2, 3, 15] (the shape of out)",
                    () -> nn.fusedAttentionForward(q, k, q14, aout, lse, false));
            expect(IllegalArgumentException.class, "q has shape [2, 3, 15], expected [2, 3, 14] (the shape of out)",
                    () -> nn.fusedAttentionForward(q, k, v, q14, lse, false));
            expect(IllegalArgumentException.class, "k has shape [2, 3, 14], expected [2, 3, 15] (the shape of dout)",
                    () -> nn.fusedAttentionBackward(aout, q, q14, v, fout, lse, dq, dk, dv, true));
            expect(IllegalArgumentException.class, "v has shape [6, 15], expected [2, 3, 15] (the shape of dout)",
                    () -> nn.fusedAttentionBackward(aout, q, k, v.reshape(6, 15), fout, lse, dq, dk, dv, true));
            expect(IllegalArgumentException.class, "out must have rank 3", () -> nn.fusedAttentionForward(q, k, v, x, lse, false));
            expect(IllegalArgumentException.class, "dout must have rank 3",
                    () -> nn.fusedAttentionBackward(x, q, k, v, fout, lse, dq, dk, dv, false));
            expect(IllegalArgumentException.class, "out has shape [2, 3, 14], expected [2, 3, 15] (the shape of q)",
                    () -> nn.fusedAttentionBackward(aout, q, k, v, q14, lse, dq, dk, dv, true));
            expect(IllegalArgumentException.class, "lse has shape [2, 3, 2]",
                    () -> nn.fusedAttentionBackward(aout, q, k, v, fout, lse32, dq, dk, dv, true));
            expect(IllegalArgumentException.class, "dq has shape [2, 3, 14], expected [2, 3, 15] (the shape of q)",
                    () -> nn.fusedAttentionBackward(aout, q, k, v, fout, lse, q14, dk, dv, true));
            expect(IllegalArgumentException.class, "dk has shape [2, 3, 14], expected [2, 3, 15] (the shape of k)",
                    () -> nn.fusedAttentionBackward(aout, q, k, v, fout, lse, dq, q14, dv, true));
            expect(IllegalArgumentException.class, "dv has shape [2, 3, 14], expected [2, 3, 15] (the shape of v)",
                    () -> nn.fusedAttentionBackward(aout, q, k, v, fout, lse, dq, dk, q14, true));
            expect(IllegalArgumentException.class, "out and an input overlap", () -> nn.fusedAttentionForward(q, k, v, v, lse, true));
            expect(IllegalArgumentException.class, "out and an input overlap",
                    () -> nn.fusedAttentionForward(big.view(0, 2, 3, 15), big.view(90, 2, 3, 15), big.view(180, 2, 3, 15),
                            big.view(95, 2, 3, 15), lse, true));
            expect(IllegalArgumentException.class, "lse and an input overlap",
                    () -> nn.fusedAttentionForward(q, big.view(0, 2, 3, 15), v, aout, big.view(89, 2, 3, 3), true));
            expect(IllegalArgumentException.class, "out and lse overlap",
                    () -> nn.fusedAttentionForward(q, k, v, big.view(10, 2, 3, 15), big.view(0, 2, 3, 3), true));
            expect(IllegalArgumentException.class, "dq and an input overlap",
                    () -> nn.fusedAttentionBackward(aout, q, k, v, fout, lse, q, dk, dv, true));
            expect(IllegalArgumentException.class, "dk and an input overlap",
                    () -> nn.fusedAttentionBackward(aout, q, k, v, fout, lse, dq, v, dv, true));
            expect(IllegalArgumentException.class, "dv and an input overlap",
                    () -> nn.fusedAttentionBackward(aout, q, k, v, fout, lse, dq, dk, aout, true));
            // the forward's out is an input of the backward: a gradient must not alias it either
            expect(IllegalArgumentException.class, "dq and an input overlap",
                    () -> nn.fusedAttentionBackward(aout, q, k, v, fout, lse, fout, dk, dv, true));
            expect(IllegalArgumentException.class, "dq and dk overlap",
                    () -> nn.fusedAttentionBackward(aout, q, k, v, fout, lse, dq, dq, dv, true));
            expect(IllegalArgumentException.class, "dk and dv overlap",
                    () -> nn.fusedAttentionBackward(aout, q, k, v, fout, lse, dq, big.view(0, 2, 3, 15), big.view(89, 2, 3, 15), true));
            expect(IllegalArgumentException.class, "dq and dv overlap",
                    () -> nn.fusedAttentionBackward(aout, q, k, v, fout, lse, big.view(100, 2, 3, 15), dk, big.view(11, 2, 3, 15), true));
            expect(IllegalArgumentException.class, "q is an int32 tensor", () -> nn.fusedAttentionForward(qInts, k, v, aout, lse, true));
            expect(IllegalArgumentException.class, "k is an int32 tensor", () -> nn.fusedAttentionForward(q, qInts, v, aout, lse, true));
            expect(IllegalArgumentException.class, "v is an int32 tensor",
                    () -> nn.fusedAttentionBackward(aout, q, k, qInts, fout, lse, dq, dk, dv, true));
            expect(IllegalArgumentException.class, "dv is an int32 tensor",
                    () -> nn.fusedAttentionBackward(aout, q, k, v, fout, lse, dq, dk, qInts, true));
            expect(IllegalArgumentException.class, "k is null", () -> nn.fusedAttentionForward(q, null, v, aout, lse, true));
            expect(IllegalArgumentException.class, "lse is null", () -> nn.fusedAttentionForward(q, k, v, aout, null, true));
            expect(IllegalArgumentException.class, "dk is null",
                    () -> nn.fusedAttentionBackward(aout, q, k, v, fout, lse, dq, null, dv, true));
            // not bad input: the inputs q, k and v may be one tensor, or overlapping views (only outputs must not alias)
            nn.fusedAttentionForward(q, q, q, aout, lse, false);
            nn.fusedAttentionForward(big.view(0, 2, 3, 15), big.view(1, 2, 3, 15), big.view(2, 2, 3, 15), aout, lse, true);
            nn.fusedAttentionBackward(aout, v, v, v, fout, lse, dq, dk, dv, false);
            llamaBadInput(dev, nn, x, out, w6, w5, m4, m3, x64, ints, q, v, lse, fout, aout, dq, dk, dv, big);
            // cross-entropy: targets above V and negative name index and value; ignoreIndex; smoothing; gradient; types
            expect(IllegalArgumentException.class, "targets[1] = 7 is outside [0, 7)", () -> nn.crossEntropyForward(logits, tHigh, losses, 0f, -1));
            expect(IllegalArgumentException.class, "targets[2] = -5 is outside [0, 7)", () -> nn.crossEntropyForward(logits, tNeg, losses, 0f, -1));
            expect(IllegalArgumentException.class, "is not the ignore index -1", () -> nn.crossEntropyBackward(logits, tNeg, logits, 0f, -1, 1f));
            expect(IllegalArgumentException.class, "targets[2] = -1", () -> nn.crossEntropyForward(logits, targets, losses, 0f, -100));
            expect(IllegalArgumentException.class, "ignoreIndex = 3 is a class", () -> nn.crossEntropyForward(logits, targets, losses, 0f, 3));
            expect(IllegalArgumentException.class, "ignoreIndex = 0 is a class", () -> nn.crossEntropyBackward(logits, targets, logits, 0f, 0, 1f));
            for (float eps : new float[] {Float.NaN, 1f, -0.1f, Float.POSITIVE_INFINITY}) {
                expect(IllegalArgumentException.class, "labelSmoothing must be in [0, 1), got " + eps,
                        () -> nn.crossEntropyForward(logits, targets, losses, eps, -1));
                expect(IllegalArgumentException.class, "labelSmoothing", () -> nn.crossEntropyBackward(logits, targets, logits, eps, -1, 1f));
            }
            for (float g : new float[] {Float.NaN, Float.NEGATIVE_INFINITY}) {
                expect(IllegalArgumentException.class, "lossGradient must be finite, got " + g,
                        () -> nn.crossEntropyBackward(logits, targets, logits, 0f, -1, g));
            }
            expect(IllegalArgumentException.class, "targets has 3 elements", () -> nn.crossEntropyForward(logits, t3, losses, 0f, -1));
            expect(IllegalArgumentException.class, "targets is a float32 tensor, expected int32", () -> nn.crossEntropyForward(logits, f4, losses, 0f, -1));
            expect(IllegalArgumentException.class, "logits is an int32 tensor", () -> nn.crossEntropyForward(ints, targets, losses, 0f, -1));
            expect(IllegalArgumentException.class, "losses has 3 elements", () -> nn.crossEntropyForward(logits, targets, m3, 0f, -1));
            expect(IllegalArgumentException.class, "overlap", () -> nn.crossEntropyBackward(big.view(0, 4, 7), targets, big.view(3, 4, 7), 0f, -1, 1f));
            // pooling
            expect(IllegalArgumentException.class, "kind is null", () -> nn.poolForward(null, aout, big.view(0, 2, 15)));
            expect(IllegalArgumentException.class, "x must have rank 3", () -> nn.poolForward(Pool.MEAN, x, out));
            expect(IllegalArgumentException.class, "out has shape", () -> nn.poolForward(Pool.FIRST, aout, x));
            expect(IllegalArgumentException.class, "dout has shape", () -> nn.poolBackward(Pool.MEAN, x, aout));
            expect(IllegalArgumentException.class, "dx is an int32 tensor", () -> nn.poolBackward(Pool.MEAN, big.view(0, 2, 15),
                    dev.allocate(DType.INT32, 2, 3, 15)));
            try (Tensor foreign = ref.allocate(4, 6)) {
                expect(IllegalArgumentException.class, "belongs to device", () -> nn.geluForward(Gelu.TANH, x, foreign));
                expect(IllegalArgumentException.class, "belongs to device", () -> nn.layerNormForward(foreign, w6, w6, 1e-5f, out, m4, r4));
            }
        }
    }

    /**
     * The LLaMA family's bad input: grouped-query shapes (KVH must divide NH, v as k, dk and dv as k
     * and v); RMSNorm's eps, shapes and overlaps; RoPE's headDim, table shapes, pos0 range, rank and
     * overlaps; SwiGLU's sizes and overlaps. x, out [4, 6]; q, k, v, aout, fout [2, 3, 15] with lse [2, 3, 3]
     * (NH = 3, hs = 5); big has 400 elements.
     */
    private static void llamaBadInput(Device dev, NnOps nn, Tensor x, Tensor out, Tensor w6, Tensor w5, Tensor m4, Tensor m3,
                                      Tensor x64, Tensor ints, Tensor q, Tensor v, Tensor lse, Tensor fout, Tensor aout,
                                      Tensor dq, Tensor dk, Tensor dv, Tensor big) {
        try (Tensor k10 = dev.allocate(2, 3, 10); Tensor k7 = dev.allocate(2, 3, 7); Tensor k5 = dev.allocate(2, 3, 5);
             Tensor v5 = dev.allocate(2, 3, 5); Tensor dk5 = dev.allocate(2, 3, 5); Tensor dv5 = dev.allocate(2, 3, 5);
             Tensor rx = dev.allocate(2, 3, 8); Tensor rout = dev.allocate(2, 3, 8); Tensor cos = dev.allocate(4, 2);
             Tensor sin = dev.allocate(4, 2); Tensor cos3 = dev.allocate(4, 3); Tensor sin5 = dev.allocate(5, 2);
             Tensor cosInts = dev.allocate(DType.INT32, 4, 2)) {
            // grouped-query attention: KVH = k's width / hs must divide NH = 3; v the shape of k; dk, dv as k, v
            expect(IllegalArgumentException.class, "k has shape [2, 3, 10], expected [2, 3, 15] (the shape of out) or [2, 3, KVH·5] "
                    + "with KVH dividing NH = 3", () -> nn.fusedAttentionForward(q, k10, k10, aout, lse, true));
            expect(IllegalArgumentException.class, "k has shape [2, 3, 7]", () -> nn.fusedAttentionForward(q, k7, k7, aout, lse, true));
            expect(IllegalArgumentException.class, "v has shape [2, 3, 10], expected [2, 3, 15] (the shape of dout) or",
                    () -> nn.fusedAttentionBackward(aout, q, k5, k10, fout, lse, dq, dk5, dv5, true));
            expect(IllegalArgumentException.class, "v has shape [2, 3, 15], expected [2, 3, 5] (the shape of k)",
                    () -> nn.fusedAttentionForward(q, k5, v, aout, lse, true));
            expect(IllegalArgumentException.class, "dk has shape [2, 3, 15], expected [2, 3, 5] (the shape of k)",
                    () -> nn.fusedAttentionBackward(aout, q, k5, v5, fout, lse, dq, dk, dv5, true));
            expect(IllegalArgumentException.class, "dv has shape [2, 3, 15], expected [2, 3, 5] (the shape of v)",
                    () -> nn.fusedAttentionBackward(aout, q, k5, v5, fout, lse, dq, dk5, dv, true));
            expect(IllegalArgumentException.class, "dk and an input overlap",
                    () -> nn.fusedAttentionBackward(aout, q, k5, v5, fout, lse, dq, v5, dv5, true));
            // not bad input: one KV head for the three query heads
            nn.fusedAttentionForward(q, k5, v5, aout, lse, true);
            nn.fusedAttentionBackward(aout, q, k5, v5, fout, lse, dq, dk5, dv5, true);
            // rmsnorm
            for (float eps : new float[] {Float.NaN, 0f, -1e-6f, Float.NEGATIVE_INFINITY}) {
                expect(IllegalArgumentException.class, "eps must be finite and > 0, got " + eps, () -> nn.rmsNormForward(x, w6, eps, out, m4));
            }
            expect(IllegalArgumentException.class, "weight has 5 elements", () -> nn.rmsNormForward(x, w5, 1e-6f, out, m4));
            expect(IllegalArgumentException.class, "rstd has 3 elements", () -> nn.rmsNormForward(x, w6, 1e-6f, out, m3));
            expect(IllegalArgumentException.class, "out has shape [6, 4], expected [4, 6]", () -> nn.rmsNormForward(x, w6, 1e-6f, x64, m4));
            expect(IllegalArgumentException.class, "out and x overlap", () -> nn.rmsNormForward(x, w6, 1e-6f, x, m4));
            expect(IllegalArgumentException.class, "out and rstd overlap",
                    () -> nn.rmsNormForward(x, w6, 1e-6f, big.view(0, 4, 6), big.view(20, 4)));
            expect(IllegalArgumentException.class, "x is an int32 tensor", () -> nn.rmsNormForward(ints, w6, 1e-6f, out, m4));
            expect(IllegalArgumentException.class, "dx has shape", () -> nn.rmsNormBackward(out, x, w6, m4, x64, w6));
            expect(IllegalArgumentException.class, "dweight has 5 elements", () -> nn.rmsNormBackward(out, x, w6, m4, big.view(0, 4, 6), w5));
            expect(IllegalArgumentException.class, "dx and dout overlap", () -> nn.rmsNormBackward(out, x, w6, m4, out, null));
            expect(IllegalArgumentException.class, "dx and dweight overlap",
                    () -> nn.rmsNormBackward(out, x, w6, m4, big.view(0, 4, 6), big.view(23, 6)));
            expect(IllegalArgumentException.class, "rstd is null", () -> nn.rmsNormBackward(out, x, w6, null, big.view(0, 4, 6), null));
            // rope: x [2, 3, 8], tables [4, 2] (headDim 4)
            for (int hd : new int[] {3, 0, -2}) {
                expect(IllegalArgumentException.class, "headDim must be even and > 0, got " + hd, () -> nn.ropeForward(rx, cos, sin, hd, 0, rout));
            }
            expect(IllegalArgumentException.class, "is not a multiple of headDim = 6", () -> nn.ropeForward(rx, cos, sin, 6, 0, rout));
            expect(IllegalArgumentException.class, "cos has shape [4, 3], expected [P, 2]", () -> nn.ropeForward(rx, cos3, cos3, 4, 0, rout));
            expect(IllegalArgumentException.class, "sin has shape [5, 2], expected [4, 2] (the shape of cos)",
                    () -> nn.ropeBackward(rx, cos, sin5, 4, 0, rout));
            expect(IllegalArgumentException.class, "pos0 must be >= 0, got -1", () -> nn.ropeForward(rx, cos, sin, 4, -1, rout));
            expect(IllegalArgumentException.class, "pos0 + T = 2 + 3 exceeds the P = 4 positions", () -> nn.ropeForward(rx, cos, sin, 4, 2, rout));
            expect(IllegalArgumentException.class, "x must have rank 3", () -> nn.ropeForward(x, cos, sin, 2, 0, out));
            expect(IllegalArgumentException.class, "dout must have rank 3", () -> nn.ropeBackward(x, cos, sin, 2, 0, out));
            expect(IllegalArgumentException.class, "out has shape", () -> nn.ropeForward(rx, cos, sin, 4, 0, big.view(0, 3, 2, 8)));
            expect(IllegalArgumentException.class, "out and x overlap",
                    () -> nn.ropeForward(big.view(0, 2, 3, 8), cos, sin, 4, 0, big.view(8, 2, 3, 8)));
            expect(IllegalArgumentException.class, "dx and dout overlap",
                    () -> nn.ropeBackward(big.view(0, 2, 3, 8), cos, sin, 4, 0, big.view(1, 2, 3, 8)));
            expect(IllegalArgumentException.class, "out and cos overlap",
                    () -> nn.ropeForward(rx, big.view(0, 4, 2), sin, 4, 0, big.view(4, 2, 3, 8)));
            expect(IllegalArgumentException.class, "dx and sin overlap",
                    () -> nn.ropeBackward(rx, cos, big.view(0, 4, 2), 4, 0, big.view(4, 2, 3, 8)));
            expect(IllegalArgumentException.class, "cos is an int32 tensor", () -> nn.ropeForward(rx, cosInts, sin, 4, 0, rout));
            // not bad input: in place, and the last positions of the table
            nn.ropeForward(rx, cos, sin, 4, 1, rx);
            nn.ropeBackward(rx, cos, sin, 4, 1, rx);
            // swiglu
            expect(IllegalArgumentException.class, "up has 5 elements", () -> nn.swigluForward(w6, w5, w6));
            expect(IllegalArgumentException.class, "out has 24 elements", () -> nn.swigluForward(w6, w6, out));
            expect(IllegalArgumentException.class, "out and gate overlap", () -> nn.swigluForward(big.view(0, 24), out, big.view(3, 24)));
            expect(IllegalArgumentException.class, "out and up overlap", () -> nn.swigluForward(out, big.view(0, 24), big.view(23, 24)));
            expect(IllegalArgumentException.class, "dgate and gate overlap", () -> nn.swigluBackward(x, out, x, x, big.view(0, 24)));
            expect(IllegalArgumentException.class, "dgate and dup overlap",
                    () -> nn.swigluBackward(x, out, out, big.view(0, 24), big.view(10, 24)));
            expect(IllegalArgumentException.class, "dup has 6 elements", () -> nn.swigluBackward(x, out, out, big.view(0, 24), w6));
            expect(IllegalArgumentException.class, "gate is an int32 tensor", () -> nn.swigluForward(ints, out, out));
            // not bad input: in place over gate or up
            nn.swigluForward(x, out, x);
            nn.swigluForward(x, out, out);
        }
    }

    static void closed(Device ref, Device dev) {
        NnOps nn = dev.nn();
        Tensor x = dev.allocate(2, 3);
        Tensor out = dev.allocate(2, 3);
        Tensor ids = dev.upload(new int[] {0, 1}, 2);
        Tensor wte = dev.allocate(2, 3);
        Tensor x3 = x.reshape(1, 2, 3);
        Tensor row = wte.view(0, 1, 3);
        Tensor bias = wte.view(0, 3);
        out.close();
        expect(IllegalStateException.class, "closed", () -> nn.geluForward(Gelu.TANH, x, out));
        expect(IllegalStateException.class, "closed", () -> nn.softmaxForward(x, out, 1f, true));
        ids.close();
        expect(IllegalStateException.class, "closed", () -> nn.encoderForward(ids, wte, null, x, 1));
        dev.close();
        expect(IllegalStateException.class, "closed", () -> nn.biasBackward(x, bias));
        expect(IllegalStateException.class, "closed", () -> nn.poolForward(Pool.MEAN, x3, row));
    }

    static void allocations(Device ref, Device dev) {
        int b = 2, t = 7, c = 15, nh = 3, v = 61, n = b * t;
        try (Tensor ids = dev.upload(NnRuns.ids(new SplittableRandom(91), n, v), n);
             Tensor idBuf = dev.upload(new int[] {-7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 1 << 30}, 16);
             Tensor wte = dev.upload(random(new SplittableRandom(92), v * c, 1), v, c); Tensor wpe = dev.allocate(t, c);
             Tensor x = dev.allocate(n, c); Tensor y = dev.allocate(n, c); Tensor w = dev.allocate(c); Tensor mean = dev.allocate(n);
             Tensor rstd = dev.allocate(n); Tensor qkv = dev.allocate(3, b, t, c); Tensor dqkv = dev.allocate(3, b, t, c);
             Tensor att = dev.allocate(b, nh, t, t); Tensor datt = dev.allocate(b, nh, t, t); Tensor logits = dev.allocate(n, v);
             Tensor lse = dev.allocate(b, nh, t); Tensor ao = dev.allocate(b, t, c);
             Tensor losses = dev.allocate(n); Tensor pooled = dev.allocate(b, c); Tensor rx = dev.allocate(b, t, 16);
             Tensor cos = dev.allocate(t, 4); Tensor sin = dev.allocate(t, 4)) {
            Tensor idView = idBuf.view(1, n); // its buffer holds out-of-range values: the range check reads the view
            assertNoAllocations(dev, "nn ops", () -> {
                NnOps nn = dev.nn();
                nn.encoderForward(ids, wte, wpe, x, t);
                nn.encoderForward(idView, wte, null, y, t);
                nn.encoderBackward(ids, y, null, wpe, t);
                nn.layerNormForward(x, w, w, 1e-5f, y, mean, rstd);
                nn.layerNormBackward(x, y, w, mean, rstd, dqkv.view(0, n, c), null, pooled.view(0, c));
                nn.geluForward(Gelu.TANH, x, y);
                nn.geluBackward(Gelu.ERF, x, y, dqkv.view(0, n, c));
                nn.biasForward(x, w);
                nn.biasBackward(x, w);
                nn.residualForward(x, y, x);
                nn.fusedAttentionForward(qkv.view(0, b, t, c), qkv.view(n * c, b, t, c), qkv.view(2 * n * c, b, t, c), ao, lse, true);
                nn.fusedAttentionBackward(y.reshape(b, t, c), qkv.view(0, b, t, c), qkv.view(n * c, b, t, c),
                        qkv.view(2 * n * c, b, t, c), ao, lse, dqkv.view(0, b, t, c), dqkv.view(n * c, b, t, c),
                        dqkv.view(2 * n * c, b, t, c), true);
                nn.softmaxForward(att, att, 0.5f, true);
                nn.softmaxBackward(att, datt, datt, 0.5f);
                nn.crossEntropyForward(logits, idView, losses, 0.1f, -1);
                nn.crossEntropyBackward(logits, ids, logits, 0.1f, -1, 1f / n);
                nn.poolForward(Pool.MEAN, x.reshape(b, t, c), pooled);
                nn.poolBackward(Pool.FIRST, pooled, y.reshape(b, t, c));
                nn.rmsNormForward(x, w, 1e-5f, y, rstd);
                nn.rmsNormBackward(x, y, w, rstd, dqkv.view(0, n, c), pooled.view(0, c));
                nn.ropeForward(rx, cos, sin, 8, 0, rx);
                nn.ropeBackward(rx, cos, sin, 8, 0, rx);
                nn.swigluForward(x, y, x);
                nn.swigluBackward(x, y, qkv.view(0, n, c), dqkv.view(0, n, c), dqkv.view(n * c, n, c));
                // grouped-query attention: three query heads on one KV head of hs = c / nh
                int hs = c / nh;
                nn.fusedAttentionForward(qkv.view(0, b, t, c), qkv.view(n * c, b, t, hs), qkv.view(2 * n * c, b, t, hs), ao, lse,
                        true);
                nn.fusedAttentionBackward(y.reshape(b, t, c), qkv.view(0, b, t, c), qkv.view(n * c, b, t, hs),
                        qkv.view(2 * n * c, b, t, hs), ao, lse, dqkv.view(0, b, t, c), dqkv.view(n * c, b, t, hs),
                        dqkv.view(2 * n * c, b, t, hs), true);
            });
        }
    }
}
