package dev.nola.kernels.contract;

import static dev.nola.kernels.contract.Asserts.REL_TOL;
import static dev.nola.kernels.contract.Asserts.assertClose;
import static dev.nola.kernels.contract.Asserts.random;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.contract.Contract.Check;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The attention ({@code fusedAttentionForward/Backward}: lse kept, nothing T × T) against oracles
 * that share no backend's code: lse against log Σ exp of the scaled scores computed here in double,
 * and out, dq, dk and dv against {@link AttentionOracle}, the tests' attention in double. So the
 * check means something on the reference too.
 *
 * <p>Shapes: T = 1, odd head sizes (hs = 5, 10: not a multiple of the vector length), grouped-query
 * heads (KVH = 1, 2 below NH), T = 300, past the cpu kernel's key block of 256, so the online
 * softmax rescales a running row, and hs = 80, past the 64 columns the opencl kernels hold per pass.
 */
final class FusedAttentionContract {

    private FusedAttentionContract() {
    }

    static List<Check> checks() {
        return List.of(
                new Check("fused attention: lse is log Σ exp of the scores, out and gradients are attention's "
                        + "(causal and not, grouped-query, T past a key block)", true, FusedAttentionContract::matches),
                new Check("fused attention rejects an lse of the wrong shape, naming it", true, FusedAttentionContract::rules));
    }

    static void matches(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(81);
        // {B, T, C, NH, KVH}; head sizes 5 to 80, 16, 48 and 64 among them (the lane kernels of some backends take 16..64)
        for (int[] s : new int[][] {{1, 1, 15, 3, 3}, {2, 7, 15, 3, 1}, {2, 17, 40, 4, 4}, {2, 33, 64, 4, 2}, {1, 70, 48, 2, 2},
                {1, 300, 32, 2, 1}, {1, 20, 160, 2, 1}, {1, 19, 128, 2, 2}, {2, 9, 96, 2, 1}}) {
            int b = s[0], t = s[1], c = s[2], nh = s[3], kvh = s[4];
            int hs = c / nh;
            int ck = kvh * hs;
            int n = b * t * c;
            int nk = b * t * ck;
            for (boolean causal : new boolean[] {true, false}) {
                String what = "fused attention B=" + b + " T=" + t + " C=" + c + " NH=" + nh + " KVH=" + kvh + " causal=" + causal;
                float[] q = random(r, n, 1.5);
                float[] k = random(r, nk, 1.5);
                float[] v = random(r, nk, 1.5);
                float[] dout = random(r, n, 1);
                float[] dq0 = random(r, n, 1);
                float[] dk0 = random(r, nk, 1);
                float[] dv0 = random(r, nk, 1);
                int[] bt = {b, t, c};
                int[] btk = {b, t, ck};
                AttentionOracle want = AttentionOracle.of(q, k, v, dout, dq0, dk0, dv0, b, t, c, nh, kvh, causal);
                // the device: 0 q, 1 k, 2 v, 3 lse, 4 out, 5 dout, 6 dq, 7 dk, 8 dv
                float[][] got = NnRuns.run(dev, null,
                        new float[][] {q, k, v, NnRuns.filled(b * nh * t, Float.NaN), NnRuns.filled(n, Float.NaN), dout, dq0, dk0,
                                dv0},
                        new int[][] {bt, btk, btk, {b, nh, t}, bt, bt, bt, btk, btk}, (d, x) -> {
                            d.nn().fusedAttentionForward(x[0], x[1], x[2], x[4], x[3], causal);
                            d.nn().fusedAttentionBackward(x[5], x[0], x[1], x[2], x[4], x[3], x[6], x[7], x[8], causal);
                        }, what, 3, 4, 6, 7, 8);
                float[] p = want.p();
                double[][] lse = logSumExp(q, k, b, t, c, nh, ck, causal);
                assertClose(toFloats(lse[0]), got[0], lse[1], 2 * REL_TOL, what + ": lse");
                assertClose(want.out(), got[1], NnRuns.attentionForwardBound(v, p, b, t, c, nh, kvh), 2 * REL_TOL, what + ": out");
                double[][] bound = NnRuns.attentionBackwardBound(q, k, v, p, dout, b, t, c, nh, kvh);
                float[][] start = {dq0, dk0, dv0};
                float[][] grads = {want.dq(), want.dk(), want.dv()};
                String[] names = {"dq", "dk", "dv"};
                for (int i = 0; i < 3; i++) {
                    assertClose(grads[i], got[2 + i], NnRuns.plus(bound[i], NnRuns.abs(start[i])), 2 * REL_TOL,
                            what + ": " + names[i]);
                }
            }
        }
    }

    /**
     * {lse, bound} per row (b, h, i) in double: lse = m + log Σ exp(s − m) over the visible scaled
     * scores s, and the bound Σ p·|s| + |lse| on the terms a float32 lse is rounded from.
     */
    static double[][] logSumExp(float[] q, float[] k, int b, int t, int c, int nh, int ck, boolean causal) {
        int hs = c / nh;
        int group = nh / (ck / hs);
        double scale = 1 / Math.sqrt(hs);
        double[] lse = new double[b * nh * t];
        double[] bound = new double[lse.length];
        double[] s = new double[t];
        for (int bb = 0; bb < b; bb++) {
            for (int h = 0; h < nh; h++) {
                for (int i = 0; i < t; i++) {
                    int len = causal ? i + 1 : t;
                    double m = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < len; j++) {
                        double dot = 0;
                        for (int d = 0; d < hs; d++) {
                            dot += (double) q[(bb * t + i) * c + h * hs + d] * k[(bb * t + j) * ck + h / group * hs + d];
                        }
                        s[j] = scale * dot;
                        m = Math.max(m, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < len; j++) {
                        sum += Math.exp(s[j] - m);
                    }
                    int row = (bb * nh + h) * t + i;
                    lse[row] = m + Math.log(sum);
                    double terms = 0;
                    for (int j = 0; j < len; j++) {
                        terms += Math.exp(s[j] - lse[row]) * Math.abs(s[j]);
                    }
                    bound[row] = terms + Math.abs(lse[row]);
                }
            }
        }
        return new double[][] {lse, bound};
    }

    private static float[] toFloats(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            f[i] = (float) a[i];
        }
        return f;
    }

    static void rules(Device ref, Device dev) {
        try (Tensor q = dev.allocate(2, 3, 6); Tensor out = dev.allocate(2, 3, 6); Tensor lse = dev.allocate(2, 3, 3);
             Tensor bad = dev.allocate(2, 3, 4)) {
            var e = assertThrows(IllegalArgumentException.class, () -> dev.nn().fusedAttentionForward(q, q, q, out, bad, true));
            assertTrue(e.getMessage().contains("lse has shape [2, 3, 4]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> dev.nn().fusedAttentionBackward(out, q, q, q, out, lse, q, q, q, true));
            assertTrue(e.getMessage().startsWith("dq") || e.getMessage().contains("overlap"), e.getMessage());
        }
    }
}
