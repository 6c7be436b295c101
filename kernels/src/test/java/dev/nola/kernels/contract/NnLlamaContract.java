package dev.nola.kernels.contract;

import static dev.nola.kernels.contract.Asserts.REL_TOL;
import static dev.nola.kernels.contract.Asserts.assertClose;
import static dev.nola.kernels.contract.Asserts.random;

import dev.nola.kernels.Device;
import dev.nola.kernels.contract.Contract.Check;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The LLaMA family's ops of the nn family against the reference, forward and backward, on tensors of
 * their own and on views ({@link NnContract#views} runs these too): RMSNorm, RoPE, SwiGLU and
 * grouped-query attention. Shapes include 1, odd sizes, sizes past the vector widths and
 * work-groups (C = 1000, n = 4099), a single head of width 2, SmolLM2's 9 query heads on 3 KV
 * heads, and head sizes that are no model width divided by NH. Tolerances are relative to a bound
 * on the terms of each element, as in {@link NnContract}.
 */
final class NnLlamaContract {

    private NnLlamaContract() {
    }

    static List<Check> checks() {
        return List.of(
                new Check("rmsnorm forward and backward within tolerance of the reference", false, on(NnLlamaContract::rmsNorm)),
                new Check("rope forward and backward (pos0 > 0, in place) within 2^-23 of the reference's terms", false,
                        on(NnLlamaContract::rope)),
                new Check("swiglu forward (in place over gate or up) and backward within tolerance of the reference", false,
                        on(NnLlamaContract::swiglu)),
                new Check("grouped-query attention (KVH < NH, causal and not) within tolerance of the reference", false,
                        on(NnLlamaContract::groupedAttention)));
    }

    private static Contract.DeviceTest on(Operands.ViewsTest t) {
        return (ref, dev) -> t.run(ref, dev, null);
    }

    /** Every comparison of this class on views carved in one layout. */
    static void views(Device ref, Device dev, Operands.Layout layout) {
        rmsNorm(ref, dev, layout);
        rope(ref, dev, layout);
        swiglu(ref, dev, layout);
        groupedAttention(ref, dev, layout);
    }

    private static String where(Operands.Layout layout) {
        return layout == null ? "" : " on views (" + layout + ")";
    }

    /**
     * Forward: rstd is a float32 sum of C ≤ 1000 squares (within C·2^-24 of itself), so out is within
     * REL_TOL of |x·rstd·w| and rstd of itself. Backward, from the reference's rstd on both: dx
     * within REL_TOL of rstd·(|dn| + |norm|·mean|dn·norm|) (dn = dout·w, norm = x·rstd) plus its
     * start, dweight of Σ_n |dout·norm| plus its start (exactly its start when null).
     */
    static void rmsNorm(Device ref, Device dev, Operands.Layout layout) {
        SplittableRandom r = new SplittableRandom(80);
        for (int[] s : new int[][] {{1, 1}, {7, 7}, {10, 15}, {3, 1000}}) {
            int n = s[0], c = s[1];
            float[] x = random(r, n * c, 1);
            for (int i = 0; i < x.length; i++) {
                x[i] += 0.25f * (i / c); // rows of different scales, some far from zero mean
            }
            float[] weight = random(r, c, 1.5);
            float eps = 1e-6f;
            String what = "rmsnorm N=" + n + " C=" + c + where(layout);
            // 0 x, 1 weight, 2 out, 3 rstd, 4 dout, 5 dx, 6 dweight
            int[][] shapes = {{n, c}, {c}, {n, c}, {n}, {n, c}, {n, c}, {c}};
            float[][][] f = NnContract.both(ref, dev, layout, new float[][] {x, weight, NnRuns.filled(n * c, Float.NaN),
                    NnRuns.filled(n, Float.NaN)}, shapes, l -> (d, t) -> d.nn().rmsNormForward(t[0], t[1], eps, t[2], t[3]),
                    what, 2, 3);
            float[] rstd = f[0][1];
            double[] outBound = new double[n * c];
            double[] norm = new double[n * c];
            for (int e = 0; e < n * c; e++) {
                norm[e] = (double) x[e] * rstd[e / c];
                outBound[e] = Math.abs(norm[e] * weight[e % c]);
            }
            assertClose(f[0][0], f[1][0], outBound, REL_TOL, what + ": out");
            assertClose(rstd, f[1][1], NnRuns.abs(rstd), REL_TOL, what + ": rstd");
            float[] dout = random(r, n * c, 1);
            float[] dx0 = random(r, n * c, 1);
            float[] dw0 = random(r, c, 1);
            double[] dxBound = NnRuns.abs(dx0);
            double[] dwBound = NnRuns.abs(dw0);
            for (int i = 0; i < n; i++) {
                double meanDN = 0;
                for (int j = 0; j < c; j++) {
                    meanDN += Math.abs((double) dout[i * c + j] * weight[j] * norm[i * c + j]) / c;
                }
                for (int j = 0; j < c; j++) {
                    int e = i * c + j;
                    dxBound[e] += rstd[i] * (Math.abs((double) dout[e] * weight[j]) + Math.abs(norm[e]) * meanDN);
                    dwBound[j] += Math.abs(dout[e] * norm[e]);
                }
            }
            for (boolean withW : new boolean[] {true, false}) {
                float[][][] g = NnContract.both(ref, dev, layout, new float[][] {x, weight, null, rstd, dout, dx0, dw0}, shapes,
                        l -> (d, t) -> d.nn().rmsNormBackward(t[4], t[0], t[1], t[3], t[5], withW ? t[6] : null), what, 5, 6);
                String back = what + (withW ? "" : " no dweight");
                assertClose(g[0][0], g[1][0], dxBound, REL_TOL, back + ": dx");
                assertClose(g[0][1], g[1][1], withW ? dwBound : new double[c], REL_TOL, back + ": dweight");
            }
        }
    }

    /** HF's rotary tables: cos and sin of pos·θ^(−2i/d) for i &lt; d/2, [P, d/2] each, rounded to float32. */
    static float[][] ropeTables(int positions, int headDim, double theta) {
        int half = headDim / 2;
        float[] cos = new float[positions * half];
        float[] sin = new float[positions * half];
        for (int p = 0; p < positions; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p / Math.pow(theta, 2.0 * i / headDim);
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        }
        return new float[][] {cos, sin};
    }

    /**
     * |in[i]·cos| + |in[i + d/2]·sin| for each element of a rotated [rows, w] tensor: the two products
     * of its formula. The contract's order (two rounded products, one rounded sum) is within 2^-23
     * of that, and so is a backend that fuses one product by fma; reference, cpu and opencl agree
     * bit for bit.
     */
    static double[] ropeBound(float[] in, float[] cos, float[] sin, int rows, int t, int w, int headDim, int pos0) {
        int half = headDim / 2;
        double[] bound = new double[in.length];
        for (int row = 0; row < rows; row++) {
            int p = pos0 + row % t;
            for (int e = 0; e < w; e++) {
                int i = e % headDim;
                int pair = i < half ? e + half : e - half;
                int k = p * half + i % half;
                bound[row * w + e] = Math.abs((double) in[row * w + e] * cos[k]) + Math.abs((double) in[row * w + pair] * sin[k]);
            }
        }
        return bound;
    }

    /**
     * Forward over NaN and in place, backward (written) over NaN and in place over dout: within 2^-23
     * of the two products of each element (see {@link #ropeBound}). Positions from pos0 > 0 on,
     * tables longer than T, one head of width 2, 125 heads of 8.
     */
    static void rope(Device ref, Device dev, Operands.Layout layout) {
        SplittableRandom r = new SplittableRandom(81);
        // {B, T, W, headDim, P, pos0}
        for (int[] s : new int[][] {{1, 1, 2, 2, 1, 0}, {2, 7, 30, 6, 9, 2}, {1, 5, 64, 64, 5, 0}, {3, 4, 96, 32, 40, 33},
                {2, 3, 1000, 8, 3, 0}}) {
            int b = s[0], t = s[1], w = s[2], hd = s[3], p = s[4], pos0 = s[5];
            int n = b * t * w;
            float[][] tables = ropeTables(p, hd, 10000);
            float[] x = random(r, n, 2);
            float[] dout = random(r, n, 1);
            String what = "rope B=" + b + " T=" + t + " W=" + w + " headDim=" + hd + " P=" + p + " pos0=" + pos0 + where(layout);
            // 0 x (or dout), 1 cos, 2 sin, 3 out (or dx)
            int[][] shapes = {{b, t, w}, {p, hd / 2}, {p, hd / 2}, {b, t, w}};
            for (boolean backward : new boolean[] {false, true}) {
                float[] in = backward ? dout : x;
                String name = what + (backward ? ": backward" : ": forward");
                Operands.Call apart = backward
                        ? (d, o) -> d.nn().ropeBackward(o[0], o[1], o[2], hd, pos0, o[3])
                        : (d, o) -> d.nn().ropeForward(o[0], o[1], o[2], hd, pos0, o[3]);
                Operands.Call inPlace = backward
                        ? (d, o) -> d.nn().ropeBackward(o[0], o[1], o[2], hd, pos0, o[0])
                        : (d, o) -> d.nn().ropeForward(o[0], o[1], o[2], hd, pos0, o[0]);
                double[] bound = ropeBound(in, tables[0], tables[1], b * t, t, w, hd, pos0);
                float[][][] o = NnContract.both(ref, dev, layout, new float[][] {in, tables[0], tables[1],
                        NnRuns.filled(n, Float.NaN)}, shapes, l -> apart, name, 3);
                assertClose(o[0][0], o[1][0], bound, 0x1p-23, name + " (written over NaN)");
                float[][][] ip = NnContract.both(ref, dev, layout, new float[][] {in, tables[0], tables[1]}, shapes, l -> inPlace,
                        name, 0);
                assertClose(o[0][0], ip[1][0], bound, 0x1p-23, name + " in place");
            }
        }
    }

    /** σ(x) in double. */
    static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }

    /**
     * 2e-6 (32 ulp) of |silu(gate)·up| forward: a float32 exp of a few ulp, the division and three
     * products; the tails (|gate| up to 12) keep that relative accuracy when σ is formed from
     * e^(−|gate|). Backward within 2e-6 of |dout·up|·(σ + |gate|·σ(1 − σ)) (silu' has a zero near
     * gate ≈ −1.28 where its two terms cancel) and of |dout·silu(gate)|, plus the start.
     */
    static void swiglu(Device ref, Device dev, Operands.Layout layout) {
        SplittableRandom r = new SplittableRandom(82);
        for (int n : new int[] {1, 7, 1000, 4099}) {
            float[] gate = random(r, n, 12);
            float[] up = random(r, n, 1);
            float[] dout = random(r, n, 1);
            float[] dg0 = random(r, n, 1);
            float[] du0 = random(r, n, 1);
            double[] fBound = new double[n];
            double[] dgBound = NnRuns.abs(dg0);
            double[] duBound = NnRuns.abs(du0);
            for (int i = 0; i < n; i++) {
                double g = gate[i];
                double sg = sigmoid(g);
                fBound[i] = Math.abs(g * sg * up[i]);
                dgBound[i] += Math.abs((double) dout[i] * up[i]) * (sg + Math.abs(g) * sg * (1 - sg));
                duBound[i] += Math.abs(dout[i] * g * sg);
            }
            String what = "swiglu n=" + n + where(layout);
            int[][] shapes = {{n}, {n}, {n}, {n}, {n}, {n}};
            // 0 gate, 1 up, 2 out, 3 dout, 4 dgate, 5 dup
            float[][][] f = NnContract.both(ref, dev, layout, new float[][] {gate, up, NnRuns.filled(n, Float.NaN), dout, dg0, du0},
                    shapes, l -> (d, t) -> {
                        d.nn().swigluForward(t[0], t[1], t[2]);
                        d.nn().swigluBackward(t[0], t[1], t[3], t[4], t[5]);
                    }, what, 2, 4, 5);
            assertClose(f[0][0], f[1][0], fBound, 2e-6, what + ": out");
            assertClose(f[0][1], f[1][1], dgBound, 2e-6, what + ": dgate");
            assertClose(f[0][2], f[1][2], duBound, 2e-6, what + ": dup");
            for (int into : new int[] {0, 1}) {
                float[][][] ip = NnContract.both(ref, dev, layout, new float[][] {gate, up}, shapes,
                        l -> (d, t) -> d.nn().swigluForward(t[0], t[1], t[into]), what, into);
                assertClose(f[0][0], ip[1][0], fBound, 2e-6, what + ": out in place over " + (into == 0 ? "gate" : "up"));
            }
        }
    }

    /**
     * The fused attention with grouped heads: lse within 2·REL_TOL of Σ p·|s| + |lse|, out within
     * 2·REL_TOL of Σ p·|v| (v of the query head's group; p from {@link AttentionOracle}); backward
     * from the reference's out and lse: dq, dk and dv within 2·REL_TOL of the pass on absolute values
     * (dk and dv gathering NH / KVH heads) plus their start.
     */
    static void groupedAttention(Device ref, Device dev, Operands.Layout layout) {
        SplittableRandom r = new SplittableRandom(83);
        // {B, T, NH, KVH, hs}: one KV head; two batches; hs = 1; SmolLM2's 9 on 3; hs = 24 with C = 96
        for (int[] s : new int[][] {{1, 1, 4, 1, 5}, {2, 7, 6, 2, 5}, {1, 5, 4, 2, 1}, {2, 33, 8, 2, 16}, {1, 20, 9, 3, 8},
                {1, 5, 4, 2, 24}}) {
            int b = s[0], t = s[1], nh = s[2], kvh = s[3], hs = s[4];
            int c = nh * hs;
            int ck = kvh * hs;
            int n = b * t * c;
            int nk = b * t * ck;
            int rows = b * nh * t;
            for (boolean causal : new boolean[] {true, false}) {
                float[] q = random(r, n, 1.5);
                float[] k = random(r, nk, 1.5);
                float[] v = random(r, nk, 1.5);
                float[] dout = random(r, n, 1);
                float[] dq0 = random(r, n, 1);
                float[] dk0 = random(r, nk, 1);
                float[] dv0 = random(r, nk, 1);
                String what = "grouped-query attention B=" + b + " T=" + t + " NH=" + nh + " KVH=" + kvh + " hs=" + hs + " causal="
                        + causal + where(layout);
                // 0 q, 1 k, 2 v, 3 lse, 4 out, 5 dout, 6 dq, 7 dk, 8 dv
                int[] bq = {b, t, c};
                int[] bk = {b, t, ck};
                int[][] shapes = {bq, bk, bk, {b, nh, t}, bq, bq, bq, bk, bk};
                float[][][] f = NnContract.both(ref, dev, layout, new float[][] {q, k, v, new float[rows], new float[n]}, shapes,
                        l -> (d, x) -> d.nn().fusedAttentionForward(x[0], x[1], x[2], x[4], x[3], causal), what, 3, 4);
                float[] att = AttentionOracle.of(q, k, v, dout, dq0, dk0, dv0, b, t, c, nh, kvh, causal).p();
                assertClose(f[0][0], f[1][0], FusedAttentionContract.logSumExp(q, k, b, t, c, nh, ck, causal)[1], 2 * REL_TOL,
                        what + ": lse");
                assertClose(f[0][1], f[1][1], NnRuns.attentionForwardBound(v, att, b, t, c, nh, kvh), 2 * REL_TOL, what + ": out");
                float[][][] g = NnContract.both(ref, dev, layout, new float[][] {q, k, v, f[0][0], f[0][1], dout, dq0, dk0, dv0}, shapes,
                        l -> (d, x) -> d.nn().fusedAttentionBackward(x[5], x[0], x[1], x[2], x[4], x[3], x[6], x[7], x[8], causal), what,
                        6, 7, 8);
                double[][] bound = NnRuns.attentionBackwardBound(q, k, v, att, dout, b, t, c, nh, kvh);
                float[][] start = {dq0, dk0, dv0};
                String[] names = {"dq", "dk", "dv"};
                for (int i = 0; i < 3; i++) {
                    assertClose(g[0][i], g[1][i], NnRuns.plus(bound[i], NnRuns.abs(start[i])), 2 * REL_TOL, what + ": " + names[i]);
                }
            }
        }
    }
}
