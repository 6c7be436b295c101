package dev.nola.kernels.contract;

import static dev.nola.kernels.contract.Asserts.REL_TOL;
import static dev.nola.kernels.contract.Asserts.assertClose;
import static dev.nola.kernels.contract.Asserts.random;

import dev.nola.kernels.Device;
import dev.nola.kernels.NnOps.Gelu;
import dev.nola.kernels.NnOps.Pool;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.contract.Contract.Check;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * The nn family: every op of a device against the reference, forward and backward, on tensors of
 * their own and on views (both {@link Operands.Layout}s, ids and targets as int32 views inside
 * out-of-range values); then the checks with an oracle of their own, which run on the reference
 * too: closed forms ({@link NnClosedForms}), finite differences for every backward op
 * ({@link NnGradientChecks}), and the rules every device keeps ({@link NnRules}: bad input, closed
 * state, backward ops that add or write, no allocation after warm-up). The LLaMA family's ops
 * (RMSNorm, RoPE, SwiGLU, grouped-query attention) are compared in {@link NnLlamaContract}.
 *
 * <p>Shapes include 1 everywhere, 7, odd head sizes (C = 15, NH = 3: hs = 5), hs = 1, T = 1, B = 1
 * and B &gt; 1, and sizes past the tiles and work-groups of the device kernels (C = 1000, T = 70,
 * V = 50257). Tolerances are relative to a bound on the terms of each element (as
 * {@link Asserts#assertClose}): the reference computes in double, a backend in float32, so a sum of
 * n terms in any order is within n·2^-24 of Σ|terms|; elements the op must not change, masked ones
 * and ignored rows have a bound of 0, i.e. must match exactly.
 */
final class NnContract {

    private NnContract() {
    }

    static List<Check> checks() {
        List<Check> all = new ArrayList<>(List.of(
                new Check("encoder forward and backward within tolerance of the reference", false, on(NnContract::encoder)),
                HalfWeightsContract.encoder(),
                new Check("layernorm forward and backward within tolerance of the reference", false, on(NnContract::layerNorm)),
                new Check("gelu (tanh, erf) forward and backward within tolerance of the reference", false, on(NnContract::gelu)),
                new Check("bias and residual within tolerance of the reference", false, on(NnContract::biasAndResidual)),
                new Check("softmax (scale, causal, in place) within tolerance of the reference", false, on(NnContract::softmax)),
                new Check("attention (causal and not) within tolerance of the reference", false, on(NnContract::attention)),
                new Check("cross-entropy (smoothing, ignore index, in place) within tolerance of the reference", false,
                        on(NnContract::crossEntropy)),
                new Check("pool (mean, first) within tolerance of the reference", false, on(NnContract::pool)),
                new Check("every op on views, nothing around them written", false, Operands.inBothLayouts(NnContract::views))));
        all.addAll(all.size() - 1, NnLlamaContract.checks());
        all.addAll(NnClosedForms.checks());
        all.addAll(NnGradientChecks.checks());
        all.addAll(FusedAttentionContract.checks());
        all.addAll(NnRules.checks());
        return List.copyOf(all);
    }

    /** A comparison on tensors of their own. */
    private static Contract.DeviceTest on(Operands.ViewsTest t) {
        return (ref, dev) -> t.run(ref, dev, null);
    }

    /** Every comparison on views carved in one layout. */
    static void views(Device ref, Device dev, Operands.Layout layout) {
        encoder(ref, dev, layout);
        layerNorm(ref, dev, layout);
        gelu(ref, dev, layout);
        biasAndResidual(ref, dev, layout);
        softmax(ref, dev, layout);
        attention(ref, dev, layout);
        crossEntropy(ref, dev, layout);
        pool(ref, dev, layout);
        NnLlamaContract.views(ref, dev, layout);
    }

    /**
     * The outputs {@code outs} of a call on the reference (tensors of their own) and on the device
     * (carved in {@code layout}, or plain when it is null): {reference, device}. The call is made
     * for a layout, which places its int32 operands.
     */
    static float[][][] both(Device ref, Device dev, Operands.Layout layout, float[][] in, int[][] shapes,
                            Function<Operands.Layout, Operands.Call> call, String what, int... outs) {
        return new float[][][] {NnRuns.run(ref, null, in, shapes, call.apply(null), what, outs),
                NnRuns.run(dev, layout, in, shapes, call.apply(layout), what, outs)};
    }

    private static String where(Operands.Layout layout) {
        return layout == null ? "" : " on views (" + layout + ")";
    }

    /**
     * out = wte[id] + wpe[t]: one float32 addition, correctly rounded in both (within 2^-23 of |a| + |b|).
     * The gradients sum up to N terms per element into a non-zero start: REL_TOL of Σ|terms|.
     */
    static void encoder(Device ref, Device dev, Operands.Layout layout) {
        SplittableRandom r = new SplittableRandom(70);
        // {B, T, V, C, P}
        for (int[] s : new int[][] {{1, 1, 1, 1, 1}, {2, 7, 61, 15, 9}, {4, 5, 7, 64, 5}, {1, 3, 1000, 33, 1024}}) {
            int b = s[0], t = s[1], v = s[2], c = s[3], p = s[4];
            int n = b * t;
            int[] ids = NnRuns.ids(r, n, v);
            float[] wte = random(r, v * c, 1);
            float[] wpe = random(r, p * c, 1);
            float[] dout = random(r, n * c, 1);
            float[] dwte0 = random(r, v * c, 1);
            float[] dwpe0 = random(r, p * c, 1);
            for (int tables = 0; tables < 3; tables++) {
                boolean withWte = tables != 2;
                boolean withWpe = tables != 1;
                // 0 wte, 1 wpe, 2 out, 3 dout, 4 dwte, 5 dwpe
                int[][] shapes = {{v, c}, {p, c}, {n, c}, {n, c}, {v, c}, {p, c}};
                float[][] in = {wte, wpe, new float[n * c], dout, dwte0, dwpe0};
                String what = "encoder B=" + b + " T=" + t + " V=" + v + " C=" + c + (withWte ? "" : " no wte")
                        + (withWpe ? "" : " no wpe") + where(layout);
                float[][][] o = both(ref, dev, layout, in, shapes, l -> (d, x) -> {
                    try (NnRuns.Ints id = NnRuns.ints(d, l, ids)) {
                        d.nn().encoderForward(id.tensor(), withWte ? x[0] : null, withWpe ? x[1] : null, x[2], t);
                        d.nn().encoderBackward(id.tensor(), x[3], withWte ? x[4] : null, withWpe ? x[5] : null, t);
                    }
                }, what, 2, 4, 5);
                double[] outBound = new double[n * c];
                double[] dwteBound = new double[v * c];
                double[] dwpeBound = new double[p * c];
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < c; j++) {
                        double g = Math.abs(dout[i * c + j]);
                        if (withWte) {
                            outBound[i * c + j] += Math.abs(wte[ids[i] * c + j]);
                            dwteBound[ids[i] * c + j] += g;
                        }
                        if (withWpe) {
                            outBound[i * c + j] += Math.abs(wpe[(i % t) * c + j]);
                            dwpeBound[(i % t) * c + j] += g;
                        }
                    }
                }
                assertClose(o[0][0], o[1][0], outBound, 0x1p-23, what + ": out");
                assertClose(o[0][1], o[1][1], withWte ? NnRuns.plus(dwteBound, NnRuns.abs(dwte0)) : dwteBound, REL_TOL, what + ": dwte");
                assertClose(o[0][2], o[1][2], withWpe ? NnRuns.plus(dwpeBound, NnRuns.abs(dwpe0)) : dwpeBound, REL_TOL, what + ": dwpe");
            }
        }
    }

    /**
     * Forward: a float32 kernel's mean and variance have C ≤ 1000 terms (within C·2^-24 of their
     * magnitude), so out is within REL_TOL of |w|·(|norm| + 1 + |mean|·rstd) + |b| and mean and
     * rstd within REL_TOL of mean|x| and rstd. Backward, from the reference's mean and rstd on both:
     * dx within REL_TOL of its terms rstd·(|dn| + mean|dn| + |norm|·mean|dn·norm|) (dn = dout·w) plus
     * the start, dweight and dbias of Σ_n |dout·norm| and Σ_n |dout|.
     */
    static void layerNorm(Device ref, Device dev, Operands.Layout layout) {
        SplittableRandom r = new SplittableRandom(71);
        for (int[] s : new int[][] {{1, 1}, {7, 7}, {10, 15}, {3, 1000}}) {
            int n = s[0], c = s[1];
            float[] x = random(r, n * c, 1);
            for (int i = 0; i < x.length; i++) {
                x[i] += 0.25f * (i / c);
            }
            float[] weight = random(r, c, 1.5);
            float[] bias = random(r, c, 1);
            float eps = 1e-5f;
            String what = "layernorm N=" + n + " C=" + c + where(layout);
            // 0 x, 1 weight, 2 bias, 3 out, 4 mean, 5 rstd
            int[][] shapes = {{n, c}, {c}, {c}, {n, c}, {n}, {n}, {n, c}, {n, c}, {c}, {c}};
            float[][][] f = both(ref, dev, layout, new float[][] {x, weight, bias, new float[n * c], new float[n], new float[n]},
                    shapes, l -> (d, t) -> d.nn().layerNormForward(t[0], t[1], t[2], eps, t[3], t[4], t[5]), what, 3, 4, 5);
            float[] mean = f[0][1];
            float[] rstd = f[0][2];
            double[] outBound = new double[n * c];
            double[] meanBound = new double[n];
            double[] rstdBound = new double[n];
            double[] norm = new double[n * c];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < c; j++) {
                    int e = i * c + j;
                    norm[e] = (x[e] - (double) mean[i]) * rstd[i];
                    outBound[e] = Math.abs(weight[j]) * (Math.abs(norm[e]) + 1 + Math.abs(mean[i]) * rstd[i]) + Math.abs(bias[j]);
                    meanBound[i] += Math.abs(x[e]) / c;
                }
                rstdBound[i] = rstd[i];
            }
            assertClose(f[0][0], f[1][0], outBound, REL_TOL, what + ": out");
            assertClose(mean, f[1][1], meanBound, REL_TOL, what + ": mean");
            assertClose(rstd, f[1][2], rstdBound, REL_TOL, what + ": rstd");
            float[] dout = random(r, n * c, 1);
            float[] dx0 = random(r, n * c, 1);
            float[] dw0 = random(r, c, 1);
            float[] db0 = random(r, c, 1);
            double[] dxBound = NnRuns.abs(dx0);
            double[] dwBound = NnRuns.abs(dw0);
            double[] dbBound = NnRuns.abs(db0);
            for (int i = 0; i < n; i++) {
                double meanD = 0;
                double meanDN = 0;
                for (int j = 0; j < c; j++) {
                    double dn = Math.abs((double) dout[i * c + j] * weight[j]);
                    meanD += dn / c;
                    meanDN += dn * Math.abs(norm[i * c + j]) / c;
                }
                for (int j = 0; j < c; j++) {
                    int e = i * c + j;
                    dxBound[e] += rstd[i] * (Math.abs((double) dout[e] * weight[j]) + meanD + Math.abs(norm[e]) * meanDN);
                    dwBound[j] += Math.abs(dout[e] * norm[e]);
                    dbBound[j] += Math.abs(dout[e]);
                }
            }
            for (int params = 0; params < 3; params++) {
                boolean withW = params != 1;
                boolean withB = params != 2;
                // 6 dout, 7 dx, 8 dweight, 9 dbias
                float[][][] g = both(ref, dev, layout, new float[][] {x, weight, null, null, mean, rstd, dout, dx0, dw0, db0},
                        shapes, l -> (d, t) -> d.nn().layerNormBackward(t[6], t[0], t[1], t[4], t[5], t[7],
                                withW ? t[8] : null, withB ? t[9] : null), what, 7, 8, 9);
                String back = what + (withW ? "" : " no dweight") + (withB ? "" : " no dbias");
                assertClose(g[0][0], g[1][0], dxBound, REL_TOL, back + ": dx");
                assertClose(g[0][1], g[1][1], withW ? dwBound : new double[c], REL_TOL, back + ": dweight");
                assertClose(g[0][2], g[1][2], withB ? dbBound : new double[c], REL_TOL, back + ": dbias");
            }
        }
    }

    /**
     * 2e-6 (32 ulp) of |x| for gelu(x): for x &lt; 0, 1 + tanh and 1 + erf cancel, and the error of
     * a float32 tanh or erf near −1 (a few ulp of 1) is multiplied by |x|/2. The backward's terms
     * are below |dout|·(1 + |x| + 0.11·|x|³), plus the start of dx.
     */
    static void gelu(Device ref, Device dev, Operands.Layout layout) {
        SplittableRandom r = new SplittableRandom(72);
        for (int n : new int[] {1, 7, 1000, 4099}) {
            float[] x = random(r, n, 6);
            float[] dout = random(r, n, 1);
            float[] dx0 = random(r, n, 1);
            double[] fBound = NnRuns.abs(x);
            double[] gBound = NnRuns.abs(dx0);
            for (int i = 0; i < n; i++) {
                double a = Math.abs(x[i]);
                gBound[i] += Math.abs(dout[i]) * (1 + a + 0.11 * a * a * a);
            }
            int[][] shapes = {{n}, {n}, {n}, {n}};
            for (Gelu kind : Gelu.values()) {
                String what = "gelu " + kind + " n=" + n + where(layout);
                float[][][] f = both(ref, dev, layout, new float[][] {x, new float[n], dout, dx0}, shapes, l -> (d, t) -> {
                    d.nn().geluForward(kind, t[0], t[1]);
                    d.nn().geluBackward(kind, t[0], t[2], t[3]);
                }, what, 1, 3);
                assertClose(f[0][0], f[1][0], fBound, 2e-6, what + ": out");
                assertClose(f[0][1], f[1][1], gBound, 2e-6, what + ": dx");
                float[][][] inPlace = both(ref, dev, layout, new float[][] {x}, shapes,
                        l -> (d, t) -> d.nn().geluForward(kind, t[0], t[0]), what, 0);
                assertClose(inPlace[0][0], inPlace[1][0], fBound, 2e-6, what + ": in place");
            }
        }
    }

    /**
     * One float32 addition per element (within 2^-23 of |a| + |b|); dbias sums N rows (REL_TOL of Σ|dout|).
     * C = 48 for the kernels that take sixteen columns at a time when C is a multiple of 16.
     */
    static void biasAndResidual(Device ref, Device dev, Operands.Layout layout) {
        SplittableRandom r = new SplittableRandom(73);
        for (int[] s : new int[][] {{1, 1}, {7, 7}, {10, 15}, {3, 1000}, {5, 48}}) {
            int n = s[0], c = s[1];
            float[] x = random(r, n * c, 1);
            float[] bias = random(r, c, 1);
            float[] dout = random(r, n * c, 1);
            float[] db0 = random(r, c, 1);
            String what = "bias N=" + n + " C=" + c + where(layout);
            float[][][] o = both(ref, dev, layout, new float[][] {x, bias, dout, db0}, new int[][] {{n, c}, {c}, {n, c}, {c}},
                    l -> (d, t) -> {
                        d.nn().biasForward(t[0], t[1]);
                        d.nn().biasBackward(t[2], t[3]);
                    }, what, 0, 3);
            double[] fBound = NnRuns.abs(x);
            double[] gBound = NnRuns.abs(db0);
            for (int e = 0; e < n * c; e++) {
                fBound[e] += Math.abs(bias[e % c]);
                gBound[e % c] += Math.abs(dout[e]);
            }
            assertClose(o[0][0], o[1][0], fBound, 0x1p-23, what + ": forward");
            assertClose(o[0][1], o[1][1], gBound, REL_TOL, what + ": dbias");
            // residual: out separate, out = a, out = b
            int size = n * c;
            double[] rBound = NnRuns.plus(NnRuns.abs(x), NnRuns.abs(dout));
            int[][] shapes = {{size}, {size}, {size}};
            for (int out : new int[] {2, 0, 1}) {
                float[][][] res = both(ref, dev, layout, new float[][] {x, dout, new float[size]}, shapes,
                        l -> (d, t) -> d.nn().residualForward(t[0], t[1], t[out]), what, out);
                assertClose(res[0][0], res[1][0], rBound, 0x1p-23, "residual n=" + size + " into operand " + out + where(layout));
            }
        }
    }

    /**
     * Forward within REL_TOL of y itself: a float32 kernel's exp and its argument s·x − max are
     * within a few ulp, and the row sum of L ≤ 1000 terms within L·2^-24; masked elements are 0
     * exactly. Backward (written; dx apart, prefilled with NaN, or in place over dy) within REL_TOL
     * of |s|·y·(|dy| + Σ|y·dy|).
     */
    static void softmax(Device ref, Device dev, Operands.Layout layout) {
        SplittableRandom r = new SplittableRandom(74);
        for (int[] shape : new int[][] {{1, 1}, {7, 7}, {2, 3, 7, 7}, {5, 1000}, {2, 33, 33}}) {
            int l = shape[shape.length - 1];
            int n = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
            int rows = n / l;
            for (boolean causal : new boolean[] {false, true}) {
                for (float scale : new float[] {1f, 0.37f, -2f}) {
                    float[] x = random(r, n, 3);
                    String what = "softmax " + Arrays.toString(shape) + " scale=" + scale + " causal=" + causal + where(layout);
                    int[][] shapes = {shape, shape, shape, shape};
                    float[][][] f = both(ref, dev, layout, new float[][] {x, new float[n]}, shapes,
                            q -> (d, t) -> d.nn().softmaxForward(t[0], t[1], scale, causal), what, 1);
                    float[] y = f[0][0];
                    double[] yBound = NnRuns.abs(y);
                    assertClose(y, f[1][0], yBound, REL_TOL, what);
                    float[][][] inPlace = both(ref, dev, layout, new float[][] {x}, shapes,
                            q -> (d, t) -> d.nn().softmaxForward(t[0], t[0], scale, causal), what, 0);
                    assertClose(y, inPlace[1][0], yBound, REL_TOL, what + " in place");
                    float[] dy = random(r, n, 1);
                    double[] gBound = new double[n];
                    for (int i = 0; i < rows; i++) {
                        double dot = 0;
                        for (int j = 0; j < l; j++) {
                            dot += Math.abs((double) y[i * l + j] * dy[i * l + j]);
                        }
                        for (int j = 0; j < l; j++) {
                            gBound[i * l + j] = Math.abs(scale) * y[i * l + j] * (Math.abs(dy[i * l + j]) + dot);
                        }
                    }
                    float[][][] g = both(ref, dev, layout, new float[][] {y, dy, NnRuns.filled(n, Float.NaN)}, shapes,
                            q -> (d, t) -> {
                                d.nn().softmaxBackward(t[0], t[1], t[2], scale);
                                d.nn().softmaxBackward(t[0], t[1], t[1], scale);
                            }, what, 2, 1);
                    assertClose(g[0][0], g[1][0], gBound, REL_TOL, what + ": dx (written over NaN)");
                    assertClose(g[0][1], g[1][1], gBound, REL_TOL, what + ": dx in place over dy");
                }
            }
        }
    }

    /**
     * The fused attention: lse within 2·REL_TOL of Σ p·|s| + |lse| (scores are float32 dot products of
     * hs terms), out within 2·REL_TOL of Σ p·|v|, the probabilities p from {@link AttentionOracle}.
     * Backward from the reference's out and lse on both: dq, dk and dv each within 2·REL_TOL of the
     * pass on absolute values ({@link NnRuns#attentionBackwardBound}) plus its start (they
     * accumulate). q, k and v (and dq, dk, dv) on the device are tensors of their own (or views
     * carved in the layout), and also the three views of one planar [3, B, T, C] buffer, as a model
     * allocates them; distinct random values in each, so a kernel that mixes them up is caught.
     */
    static void attention(Device ref, Device dev, Operands.Layout layout) {
        SplittableRandom r = new SplittableRandom(75);
        // {B, T, C, NH}
        for (int[] s : new int[][] {{1, 1, 15, 3}, {2, 7, 15, 3}, {1, 5, 4, 4}, {2, 33, 64, 4}, {1, 70, 48, 2}}) {
            int b = s[0], t = s[1], c = s[2], nh = s[3];
            int n = b * t * c;
            int rows = b * nh * t;
            for (boolean causal : new boolean[] {true, false}) {
                float[] q = random(r, n, 1.5);
                float[] k = random(r, n, 1.5);
                float[] v = random(r, n, 1.5);
                float[] dout = random(r, n, 1);
                float[] dq0 = random(r, n, 1);
                float[] dk0 = random(r, n, 1);
                float[] dv0 = random(r, n, 1);
                for (boolean planar : new boolean[] {false, true}) {
                    String what = "attention B=" + b + " T=" + t + " C=" + c + " NH=" + nh + " causal=" + causal
                            + (planar ? " q, k, v planar [3, B, T, C]" : "") + where(layout);
                    // 0 q, 1 k, 2 v, 3 lse, 4 out, 5 dout, 6 dq, 7 dk, 8 dv;
                    // planar: 0 [q; k; v] and 6 [dq; dk; dv], 1, 2, 7 and 8 absent
                    int[] bt = {b, t, c};
                    int[] three = {3, b, t, c};
                    int[][] shapes = {planar ? three : bt, bt, bt, {b, nh, t}, bt, bt, planar ? three : bt, bt, bt};
                    float[][] in = planar ? new float[][] {NnRuns.concat(q, k, v), null, null, new float[rows], new float[n]}
                            : new float[][] {q, k, v, new float[rows], new float[n]};
                    float[][][] f = both(ref, dev, layout, in, shapes, l -> (d, x) -> {
                        Tensor[] qkv = NnRuns.qkv(x, 0, planar);
                        d.nn().fusedAttentionForward(qkv[0], qkv[1], qkv[2], x[4], x[3], causal);
                    }, what, 3, 4);
                    float[] att = AttentionOracle.of(q, k, v, dout, dq0, dk0, dv0, b, t, c, nh, nh, causal).p();
                    assertClose(f[0][0], f[1][0], FusedAttentionContract.logSumExp(q, k, b, t, c, nh, c, causal)[1], 2 * REL_TOL,
                            what + ": lse");
                    assertClose(f[0][1], f[1][1], NnRuns.attentionForwardBound(v, att, b, t, c, nh), 2 * REL_TOL, what + ": out");
                    float[][] gin = planar
                            ? new float[][] {in[0], null, null, f[0][0], f[0][1], dout, NnRuns.concat(dq0, dk0, dv0), null, null}
                            : new float[][] {q, k, v, f[0][0], f[0][1], dout, dq0, dk0, dv0};
                    float[][][] g = both(ref, dev, layout, gin, shapes, l -> (d, x) -> {
                        Tensor[] qkv = NnRuns.qkv(x, 0, planar);
                        Tensor[] dqkv = NnRuns.qkv(x, 6, planar);
                        d.nn().fusedAttentionBackward(x[5], qkv[0], qkv[1], qkv[2], x[4], x[3], dqkv[0], dqkv[1], dqkv[2], causal);
                    }, what, planar ? new int[] {6} : new int[] {6, 7, 8});
                    double[][] bound = NnRuns.attentionBackwardBound(q, k, v, att, dout, b, t, c, nh);
                    float[][] start = {dq0, dk0, dv0};
                    String[] names = {"dq", "dk", "dv"};
                    for (int i = 0; i < 3; i++) {
                        float[] want = planar ? NnRuns.part(g[0][0], i, 3) : g[0][i];
                        float[] got = planar ? NnRuns.part(g[1][0], i, 3) : g[1][i];
                        assertClose(want, got, NnRuns.plus(bound[i], NnRuns.abs(start[i])), 2 * REL_TOL, what + ": " + names[i]);
                    }
                }
            }
        }
    }

    /**
     * Loss within REL_TOL of |lse| + |x_t| + mean|x| (a float32 log-sum-exp over V terms is within
     * about √V·2^-24 relative in practice), ignored rows exactly 0. Gradient (written: apart over
     * NaN, or in place over the logits) within REL_TOL of |g|·(p + q), q the smoothed target.
     */
    static void crossEntropy(Device ref, Device dev, Operands.Layout layout) {
        SplittableRandom r = new SplittableRandom(76);
        for (int[] s : new int[][] {{1, 1}, {7, 7}, {10, 61}, {3, 1000}, {2, 50257}}) {
            int n = s[0], v = s[1];
            for (float smoothing : new float[] {0f, 0.1f}) {
                int ignore = v == 61 ? -100 : -1;
                int[] targets = NnRuns.ids(r, n, v);
                int counted = n;
                for (int i = 3; i < n; i += 4) {
                    targets[i] = ignore;
                    counted--;
                }
                float[] logits = random(r, n * v, 4);
                double[] p = NnRuns.softmaxRows(logits, n, v);
                double[] lossBound = new double[n];
                for (int i = 0; i < n; i++) {
                    if (targets[i] != ignore) {
                        double meanAbs = 0;
                        for (int j = 0; j < v; j++) {
                            meanAbs += Math.abs(logits[i * v + j]) / v;
                        }
                        int tg = targets[i];
                        lossBound[i] = Math.abs(logits[i * v + tg] - Math.log(p[i * v + tg])) + Math.abs(logits[i * v + tg]) + meanAbs;
                    }
                }
                String what = "cross-entropy N=" + n + " V=" + v + " smoothing=" + smoothing + " ignoreIndex=" + ignore + where(layout);
                int[][] shapes = {{n, v}, {n}, {n, v}};
                float[][][] f = both(ref, dev, layout, new float[][] {logits, new float[n]}, shapes, l -> (d, t) -> {
                    try (NnRuns.Ints tg = NnRuns.ints(d, l, targets)) {
                        d.nn().crossEntropyForward(t[0], tg.tensor(), t[1], smoothing, ignore);
                    }
                }, what, 1);
                assertClose(f[0][0], f[1][0], lossBound, REL_TOL, what + ": losses");
                for (float g : new float[] {1f / counted, 2.5f}) {
                    double[] gBound = new double[n * v];
                    for (int i = 0; i < n; i++) {
                        for (int j = 0; j < v && targets[i] != ignore; j++) {
                            double q = smoothing / v + (j == targets[i] ? 1 - smoothing : 0);
                            gBound[i * v + j] = Math.abs(g) * (p[i * v + j] + q);
                        }
                    }
                    float[][][] d = both(ref, dev, layout, new float[][] {logits, null, NnRuns.filled(n * v, Float.NaN)}, shapes,
                            l -> (dv, t) -> {
                                try (NnRuns.Ints tg = NnRuns.ints(dv, l, targets)) {
                                    dv.nn().crossEntropyBackward(t[0], tg.tensor(), t[2], smoothing, ignore, g);
                                    dv.nn().crossEntropyBackward(t[0], tg.tensor(), t[0], smoothing, ignore, g);
                                }
                            }, what, 2, 0);
                    assertClose(d[0][0], d[1][0], gBound, REL_TOL, what + " g=" + g + ": dlogits (written over NaN)");
                    assertClose(d[0][1], d[1][1], gBound, REL_TOL, what + " g=" + g + ": dlogits in place over the logits");
                }
            }
        }
    }

    /**
     * MEAN: REL_TOL of Σ|x|/T forward; backward dx += dout/T within 1e-6 of |dx| + |dout|/T (a
     * division or a reciprocal, then an addition). FIRST copies: exact forward; backward one
     * addition at t = 0 (2^-23 of |dx| + |dout|), the other tokens untouched (exact).
     */
    static void pool(Device ref, Device dev, Operands.Layout layout) {
        SplittableRandom r = new SplittableRandom(77);
        for (int[] s : new int[][] {{1, 1, 1}, {2, 7, 15}, {3, 5, 1000}}) {
            int b = s[0], t = s[1], c = s[2];
            float[] x = random(r, b * t * c, 1);
            float[] dout = random(r, b * c, 1);
            float[] dx0 = random(r, b * t * c, 1);
            int[][] shapes = {{b, t, c}, {b, c}, {b, c}, {b, t, c}};
            for (Pool kind : Pool.values()) {
                String what = "pool " + kind + " B=" + b + " T=" + t + " C=" + c + where(layout);
                float[][][] o = both(ref, dev, layout, new float[][] {x, new float[b * c], dout, dx0}, shapes, l -> (d, y) -> {
                    d.nn().poolForward(kind, y[0], y[1]);
                    d.nn().poolBackward(kind, y[2], y[3]);
                }, what, 1, 3);
                double[] fBound = new double[b * c];
                double[] gBound = new double[b * t * c];
                for (int bb = 0; bb < b; bb++) {
                    for (int i = 0; i < t; i++) {
                        for (int j = 0; j < c; j++) {
                            int e = (bb * t + i) * c + j;
                            double g = Math.abs(dout[bb * c + j]);
                            if (kind == Pool.MEAN) {
                                fBound[bb * c + j] += Math.abs(x[e]) / t;
                                gBound[e] = Math.abs(dx0[e]) + g / t;
                            } else if (i == 0) {
                                gBound[e] = Math.abs(dx0[e]) + g;
                            }
                        }
                    }
                }
                assertClose(o[0][0], o[1][0], fBound, REL_TOL, what + ": out");
                assertClose(o[0][1], o[1][1], gBound, kind == Pool.MEAN ? 1e-6 : 0x1p-23, what + ": dx");
            }
        }
    }
}
