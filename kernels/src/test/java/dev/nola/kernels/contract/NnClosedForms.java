package dev.nola.kernels.contract;

import static dev.nola.kernels.contract.Asserts.REL_TOL;
import static dev.nola.kernels.contract.Asserts.assertBits;
import static dev.nola.kernels.contract.Asserts.assertClose;
import static dev.nola.kernels.contract.Asserts.random;
import static org.junit.jupiter.api.Assertions.assertEquals;

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
 * The nn family's forward ops against closed forms and host arithmetic: oracles independent of the
 * reference backend (the finite differences of {@link NnGradientChecks} then tie every backward op
 * to its forward op). Tolerances as in {@link NnContract}.
 */
final class NnClosedForms {

    private NnClosedForms() {
    }

    static List<Check> checks() {
        return List.of(
                new Check("cross-entropy of equal logits is log V, and its gradient is p − onehot", true,
                        NnClosedForms::uniformCrossEntropy),
                new Check("cross-entropy with label smoothing, one large logit (closed form)", true, NnClosedForms::smoothedCrossEntropy),
                new Check("encoder, bias and residual are the host's float32 additions, bit for bit", true, NnClosedForms::additions),
                new Check("layernorm of known rows, and of a constant row (var = 0)", true, NnClosedForms::layerNorm),
                new Check("gelu tanh and erf at known values, tails included", true, NnClosedForms::gelu),
                new Check("softmax of equal scores is uniform over the unmasked columns", true, NnClosedForms::softmax),
                new Check("attention with T = 1 copies v; with equal keys it averages v", true, NnClosedForms::attention),
                new Check("pool FIRST is token 0, MEAN the host's mean", true, NnClosedForms::pool),
                new Check("rmsnorm of known rows (a constant row gives the weight)", true, NnClosedForms::rmsNorm),
                new Check("rope by quarter turns is rotate_half, bit for bit, at positions from pos0", true, NnClosedForms::rope),
                new Check("swiglu at known values, tails included", true, NnClosedForms::swiglu),
                new Check("grouped-query attention is attention over k and v repeated per query head (repeat_kv)", true,
                        NnClosedForms::repeatedKeys));
    }

    /** Closed form: equal logits give p = 1/V, loss log V, dlogits = g·(1/V − [j = t]). */
    static void uniformCrossEntropy(Device ref, Device dev) {
        int n = 3;
        int v = 7;
        try (Tensor logits = dev.upload(new float[n * v], n, v);
             Tensor targets = dev.upload(new int[] {0, 6, -1}, n);
             Tensor losses = dev.allocate(n);
             Tensor dlogits = dev.allocate(n, v)) {
            assertEquals(DType.INT32, targets.dtype());
            NnOps nn = dev.nn();
            nn.crossEntropyForward(logits, targets, losses, 0f, -1);
            float[] l = dev.read(losses);
            assertEquals(Math.log(v), l[0], 1e-6);
            assertEquals(Math.log(v), l[1], 1e-6);
            assertEquals(0f, l[2], "an ignored row has no loss");
            nn.crossEntropyBackward(logits, targets, dlogits, 0f, -1, 0.5f);
            float[] d = dev.read(dlogits);
            assertEquals(0.5 * (1.0 / v - 1), d[0], 1e-6);
            assertEquals(0.5 / v, d[1], 1e-6);
            assertEquals(0.5 * (1.0 / v - 1), d[v + 6], 1e-6);
            assertEquals(0f, d[2 * v + 3], "an ignored row has no gradient");
        }
    }

    /**
     * Logit a at the target, 0 elsewhere: loss = log(e^a + V − 1) − (1 − ε)·a − ε·a/V, and
     * dlogits = p − (1 − ε)·[j = t] − ε/V with p_t = e^a / (e^a + V − 1); within 1e-6 of the terms.
     */
    static void smoothedCrossEntropy(Device ref, Device dev) {
        int v = 11;
        float a = 2.5f;
        for (float eps : new float[] {0f, 0.1f, 0.5f}) {
            float[] logits = new float[2 * v];
            logits[3] = a;
            logits[v + 10] = a;
            int[] targets = {3, 10};
            try (Tensor x = dev.upload(logits, 2, v); Tensor t = dev.upload(targets, 2); Tensor losses = dev.allocate(2);
                 Tensor d = dev.allocate(2, v)) {
                dev.nn().crossEntropyForward(x, t, losses, eps, -1);
                dev.nn().crossEntropyBackward(x, t, d, eps, -1, 1f);
                double z = Math.exp(a) + v - 1;
                double loss = Math.log(z) - (1 - eps) * a - eps * a / v;
                float[] l = dev.read(losses);
                float[] g = dev.read(d);
                for (int row = 0; row < 2; row++) {
                    assertEquals(loss, l[row], 1e-6 * (Math.log(z) + 2 * a), "smoothed loss eps=" + eps + " row " + row);
                    for (int j = 0; j < v; j++) {
                        boolean target = j == targets[row];
                        double want = (target ? Math.exp(a) / z : 1 / z) - (target ? 1 - eps : 0) - eps / v;
                        assertEquals(want, g[row * v + j], 1e-6, "smoothed dlogits eps=" + eps + " row " + row + " column " + j);
                    }
                }
            }
        }
    }

    /** Each output element is one float32 addition of two inputs, so exactly the host's a + b. */
    static void additions(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(80);
        int b = 2, t = 7, v = 17, c = 15, p = 9;
        int n = b * t;
        int[] ids = NnRuns.ids(r, n, v);
        float[] wte = random(r, v * c, 1);
        float[] wpe = random(r, p * c, 1);
        float[] x = random(r, n * c, 1);
        float[] bias = random(r, c, 1);
        float[] enc = new float[n * c];
        float[] biased = new float[n * c];
        float[] sum = new float[n * c];
        for (int e = 0; e < n * c; e++) {
            enc[e] = wte[ids[e / c] * c + e % c] + wpe[(e / c % t) * c + e % c];
            biased[e] = x[e] + bias[e % c];
            sum[e] = x[e] + wte[e];
        }
        try (Tensor id = dev.upload(ids, n); Tensor te = dev.upload(wte, v, c); Tensor pe = dev.upload(wpe, p, c);
             Tensor out = dev.allocate(n, c); Tensor xt = dev.upload(x, n, c); Tensor bt = dev.upload(bias, c);
             Tensor a2 = dev.upload(java.util.Arrays.copyOf(wte, n * c), n, c)) {
            dev.nn().encoderForward(id, te, pe, out, t);
            assertBits(enc, dev.read(out), "encoder forward");
            dev.nn().residualForward(xt, a2, out);
            assertBits(sum, dev.read(out), "residual forward");
            dev.nn().biasForward(xt, bt);
            assertBits(biased, dev.read(xt), "bias forward");
        }
    }

    /** Host arithmetic in double; within REL_TOL of |w|·(|norm| + 1) + |b| as against the reference. */
    static void layerNorm(Device ref, Device dev) {
        float eps = 1e-5f;
        float[][] rows = {{1, 2, 3, 4}, {-0.5f, 0.25f, 8, -3}, {2.5f, 2.5f, 2.5f, 2.5f}};
        float[] weight = {1, 2, 0.5f, -1};
        float[] bias = {0, 1, 0, 0.5f};
        int c = 4;
        float[] x = new float[rows.length * c];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, x, i * c, c);
        }
        float[] want = new float[x.length];
        float[] wantMean = new float[rows.length];
        float[] wantRstd = new float[rows.length];
        double[] bound = new double[x.length];
        for (int i = 0; i < rows.length; i++) {
            double m = 0;
            for (float e : rows[i]) {
                m += e / 4.0;
            }
            double var = 0;
            for (float e : rows[i]) {
                var += (e - m) * (e - m) / 4.0;
            }
            double s = 1 / Math.sqrt(var + eps);
            wantMean[i] = (float) m;
            wantRstd[i] = (float) s;
            for (int j = 0; j < c; j++) {
                double norm = (rows[i][j] - m) * s;
                want[i * c + j] = (float) (norm * weight[j] + bias[j]);
                bound[i * c + j] = Math.abs(weight[j]) * (Math.abs(norm) + 1) + Math.abs(bias[j]);
            }
        }
        float[][] o = NnRuns.run(dev, null, new float[][] {x, weight, bias, new float[x.length], new float[3], new float[3]},
                new int[][] {{3, c}, {c}, {c}, {3, c}, {3}, {3}},
                (d, t) -> d.nn().layerNormForward(t[0], t[1], t[2], eps, t[3], t[4], t[5]), "layernorm", 3, 4, 5);
        assertClose(want, o[0], bound, REL_TOL, "layernorm out");
        assertClose(wantMean, o[1], new double[] {2.5, 3, 2.5}, REL_TOL, "layernorm mean");
        assertClose(wantRstd, o[2], NnRuns.abs(wantRstd), REL_TOL, "layernorm rstd (1/√eps for the constant row)");
        assertBits(bias, java.util.Arrays.copyOfRange(o[0], 8, 12), "layernorm of a constant row is the bias");
    }

    /** Known values (erf from erfc in double, tanh from e^{2u}/(1 + e^{2u}) where 1 + tanh cancels), within 2e-6·|x|. */
    static void gelu(Device ref, Device dev) {
        float[] x = {0, 1, -1, 3, -3, -6, 0.5f};
        float[] erf = {0f, (float) 0.8413447460685429, (float) -0.15865525393145707, (float) 2.99595030590511,
                (float) -0.004049694094890287, (float) -5.919525870226207e-09, (float) 0.34573123063700656};
        float[] tanh = {0f, (float) 0.8411919906082768, (float) -0.15880800939172324, (float) 2.996362607918227,
                (float) -0.0036373920817730195, (float) -8.43964670076231e-11, (float) 0.34571400982514394};
        for (Gelu kind : Gelu.values()) {
            float[] got = Operands.run(dev, new float[][] {x, new float[x.length]}, new int[][] {{x.length}, {x.length}}, 1,
                    (d, t) -> d.nn().geluForward(kind, t[0], t[1]));
            assertClose(kind == Gelu.ERF ? erf : tanh, got, NnRuns.abs(x), 2e-6, "gelu " + kind + " known values");
        }
    }

    /** Equal scores: y[i, j] = 1/L, or 1/(i + 1) for j ≤ i when causal (within 1e-6 relative). */
    static void softmax(Device ref, Device dev) {
        int l = 7;
        for (boolean causal : new boolean[] {false, true}) {
            float[] got = Operands.run(dev, new float[][] {NnRuns.filled(2 * l * l, 0.7f), new float[2 * l * l]},
                    new int[][] {{2, l, l}, {2, l, l}}, 1, (d, t) -> d.nn().softmaxForward(t[0], t[1], 1.3f, causal));
            float[] want = new float[got.length];
            for (int row = 0; row < 2 * l; row++) {
                int q = row % l;
                for (int j = 0; j < l; j++) {
                    want[row * l + j] = causal ? (j <= q ? 1f / (q + 1) : 0f) : 1f / l;
                }
            }
            assertClose(want, got, NnRuns.abs(want), 1e-6, "softmax of equal scores causal=" + causal);
        }
    }

    /**
     * T = 1: out = v exactly (one key, probability exp(0) = 1) and lse the one scaled score. Keys all
     * 0: every score is 0, so out[t] is the mean of v over the visible tokens (0..t when causal),
     * within REL_TOL of mean|v|, and lse = log of their count within REL_TOL. q, k and v are the
     * three views of one planar [3, B, T, C] buffer in the first case and tensors of their own in the
     * second.
     */
    static void attention(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(81);
        int b = 2, c = 15, nh = 3, hs = c / nh;
        float[] qkv1 = random(r, 3 * b * c, 1);
        float[][] one = NnRuns.run(dev, null, new float[][] {qkv1, new float[b * nh], new float[b * c]},
                new int[][] {{3, b, 1, c}, {b, nh, 1}, {b, 1, c}}, (d, t) -> {
                    Tensor[] qkv = NnRuns.qkv(t, 0, true);
                    d.nn().fusedAttentionForward(qkv[0], qkv[1], qkv[2], t[2], t[1], true);
                }, "attention T=1", 1, 2);
        float[] score = new float[b * nh];
        double[] scoreBound = new double[b * nh];
        for (int e = 0; e < b * nh; e++) {
            double dot = 0;
            double abs = 0;
            for (int d = 0; d < hs; d++) {
                double term = (double) qkv1[e * hs + d] * qkv1[b * c + e * hs + d];
                dot += term;
                abs += Math.abs(term);
            }
            score[e] = (float) (dot / Math.sqrt(hs));
            scoreBound[e] = abs / Math.sqrt(hs) + 1;
        }
        assertClose(score, one[0], scoreBound, 2 * REL_TOL, "attention T=1: lse = the scaled score");
        assertBits(NnRuns.part(qkv1, 2, 3), one[1], "attention T=1: out = v");
        int t = 6;
        float[] q = random(r, b * t * c, 1);
        float[] k = new float[b * t * c];
        float[] v = random(r, b * t * c, 1);
        for (boolean causal : new boolean[] {true, false}) {
            float[][] run = NnRuns.run(dev, null, new float[][] {q, k, v, new float[b * nh * t], new float[b * t * c]},
                    new int[][] {{b, t, c}, {b, t, c}, {b, t, c}, {b, nh, t}, {b, t, c}},
                    (d, x) -> d.nn().fusedAttentionForward(x[0], x[1], x[2], x[4], x[3], causal), "attention, keys 0", 3, 4);
            float[] got = run[1];
            float[] lse = new float[b * nh * t];
            for (int row = 0; row < lse.length; row++) {
                lse[row] = (float) Math.log(causal ? row % t + 1 : t);
            }
            assertClose(lse, run[0], NnRuns.abs(NnRuns.filled(lse.length, 1f)), REL_TOL, "attention with equal keys: lse = log of the count, "
                    + "causal=" + causal);
            float[] want = new float[b * t * c];
            double[] bound = new double[b * t * c];
            for (int s = 0; s < b; s++) {
                for (int i = 0; i < t; i++) {
                    int last = causal ? i : t - 1;
                    for (int j = 0; j < c; j++) {
                        double sum = 0;
                        double abs = 0;
                        for (int kk = 0; kk <= last; kk++) {
                            float e = v[(s * t + kk) * c + j];
                            sum += e;
                            abs += Math.abs(e);
                        }
                        want[(s * t + i) * c + j] = (float) (sum / (last + 1));
                        bound[(s * t + i) * c + j] = abs / (last + 1);
                    }
                }
            }
            assertClose(want, got, bound, REL_TOL, "attention with equal keys averages v, causal=" + causal);
        }
    }

    static void pool(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(82);
        int b = 3, t = 5, c = 7;
        float[] x = random(r, b * t * c, 1);
        float[] first = new float[b * c];
        float[] mean = new float[b * c];
        double[] bound = new double[b * c];
        for (int s = 0; s < b; s++) {
            for (int j = 0; j < c; j++) {
                first[s * c + j] = x[s * t * c + j];
                double sum = 0;
                for (int i = 0; i < t; i++) {
                    sum += x[(s * t + i) * c + j];
                    bound[s * c + j] += Math.abs(x[(s * t + i) * c + j]) / t;
                }
                mean[s * c + j] = (float) (sum / t);
            }
        }
        int[][] shapes = {{b, t, c}, {b, c}};
        assertBits(first, Operands.run(dev, new float[][] {x, new float[b * c]}, shapes, 1,
                (d, y) -> d.nn().poolForward(Pool.FIRST, y[0], y[1])), "pool FIRST");
        assertClose(mean, Operands.run(dev, new float[][] {x, new float[b * c]}, shapes, 1,
                (d, y) -> d.nn().poolForward(Pool.MEAN, y[0], y[1])), bound, REL_TOL, "pool MEAN");
    }

    /** Host arithmetic in double, within REL_TOL of |x·rstd·w|; a row of equal values 2 gives rstd ≈ 1/2 and out ≈ w. */
    static void rmsNorm(Device ref, Device dev) {
        float eps = 1e-6f;
        float[] x = {3, 4, 0, 0, 2, 2, 2, 2, -0.5f, 0.25f, 8, -3, 0, 0, 0, 0};
        float[] weight = {1, 2, 0.5f, -1};
        int c = 4;
        int n = x.length / c;
        float[] want = new float[x.length];
        float[] wantRstd = new float[n];
        double[] bound = new double[x.length];
        for (int i = 0; i < n; i++) {
            double ss = 0;
            for (int j = 0; j < c; j++) {
                ss += x[i * c + j] * x[i * c + j];
            }
            double s = 1 / Math.sqrt(ss / c + eps);
            wantRstd[i] = (float) s;
            for (int j = 0; j < c; j++) {
                want[i * c + j] = (float) (x[i * c + j] * s * weight[j]);
                bound[i * c + j] = Math.abs(want[i * c + j]);
            }
        }
        float[][] o = NnRuns.run(dev, null, new float[][] {x, weight, new float[x.length], new float[n]},
                new int[][] {{n, c}, {c}, {n, c}, {n}}, (d, t) -> d.nn().rmsNormForward(t[0], t[1], eps, t[2], t[3]), "rmsnorm",
                2, 3);
        assertClose(want, o[0], bound, REL_TOL, "rmsnorm out");
        assertClose(wantRstd, o[1], NnRuns.abs(wantRstd), REL_TOL, "rmsnorm rstd (1/√eps for the zero row)");
        assertClose(weight, java.util.Arrays.copyOfRange(o[0], 4, 8), NnRuns.abs(weight), 1e-6, "rmsnorm of a row of 2s is the weight");
    }

    /**
     * Tables of quarter turns: position p has every angle p·π/2, so cos and sin are 0 and ±1 and every
     * product and sum is exact. Position 1 gives rotate_half: out = [−x₂, x₁]; 2 gives −x; 3 gives
     * [x₂, −x₁]; 0 and 4 give x. Rows t = 0..3 are positions pos0 = 1 .. 4; the backward pass turns the
     * other way.
     */
    static void rope(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(83);
        int b = 2, t = 4, hd = 4, w = 2 * hd, p = 5, pos0 = 1, half = hd / 2;
        float[] cos = new float[p * half];
        float[] sin = new float[p * half];
        float[][] quarter = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
        for (int pos = 0; pos < p; pos++) {
            for (int i = 0; i < half; i++) {
                cos[pos * half + i] = quarter[pos % 4][0];
                sin[pos * half + i] = quarter[pos % 4][1];
            }
        }
        float[] x = random(r, b * t * w, 2);
        int[][] shapes = {{b, t, w}, {p, half}, {p, half}, {b, t, w}};
        for (boolean backward : new boolean[] {false, true}) {
            float[] want = new float[x.length];
            for (int row = 0; row < b * t; row++) {
                int turns = Math.floorMod((backward ? -1 : 1) * (pos0 + row % t), 4);
                for (int head = 0; head < w / hd; head++) {
                    int at = row * w + head * hd;
                    for (int i = 0; i < half; i++) {
                        float x1 = x[at + i];
                        float x2 = x[at + i + half];
                        float[][] turned = {{x1, x2}, {-x2, x1}, {-x1, -x2}, {x2, -x1}};
                        want[at + i] = turned[turns][0];
                        want[at + i + half] = turned[turns][1];
                    }
                }
            }
            float[] got = Operands.run(dev, new float[][] {x, cos, sin, new float[x.length]}, shapes, 3, backward
                    ? (d, o) -> d.nn().ropeBackward(o[0], o[1], o[2], hd, pos0, o[3])
                    : (d, o) -> d.nn().ropeForward(o[0], o[1], o[2], hd, pos0, o[3]));
            assertBits(want, got, "rope " + (backward ? "backward" : "forward") + " by quarter turns");
        }
    }

    /** Host double values of silu(g)·u, dout·u·silu'(g) and dout·silu(g), within 2e-6 of their magnitude. */
    static void swiglu(Device ref, Device dev) {
        float[] gate = {0, 1, -1, 4, -4, -20, 20, 0.5f};
        float[] up = {1, 2, -1, 0.5f, 3, 1, -1, 1};
        float[] dout = {1, -0.5f, 2, 1, 1, 3, 1, -1};
        int n = gate.length;
        float[] out = new float[n];
        float[] dgate = new float[n];
        float[] dup = new float[n];
        for (int i = 0; i < n; i++) {
            double g = gate[i];
            double sg = 1 / (1 + Math.exp(-g));
            out[i] = (float) (g * sg * up[i]);
            dgate[i] = (float) (dout[i] * up[i] * (sg + g * sg * (1 - sg)));
            dup[i] = (float) (dout[i] * g * sg);
        }
        int[][] shapes = {{n}, {n}, {n}, {n}, {n}, {n}};
        float[][] o = NnRuns.run(dev, null, new float[][] {gate, up, new float[n], dout, new float[n], new float[n]}, shapes,
                (d, t) -> {
                    d.nn().swigluForward(t[0], t[1], t[2]);
                    d.nn().swigluBackward(t[0], t[1], t[3], t[4], t[5]);
                }, "swiglu", 2, 4, 5);
        assertClose(out, o[0], NnRuns.abs(out), 2e-6, "swiglu known values: out");
        assertClose(dgate, o[1], NnRuns.abs(dgate), 2e-6, "swiglu known values: dgate");
        assertClose(dup, o[2], NnRuns.abs(dup), 2e-6, "swiglu known values: dup");
    }

    /**
     * Hugging Face computes grouped-query attention by repeating each KV head for its NH / KVH query
     * heads (repeat_kv). The device's grouped attention must match its own plain attention over the
     * repeated k and v: lse, out and dq within 2·REL_TOL of their terms (the probabilities of the
     * bounds from {@link AttentionOracle}), and dk, dv the sums over each group of the repeated
     * pass's gradients.
     */
    static void repeatedKeys(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(84);
        // {B, T, NH, KVH, hs}
        for (int[] s : new int[][] {{2, 5, 4, 2, 3}, {1, 6, 3, 1, 4}}) {
            int b = s[0], t = s[1], nh = s[2], kvh = s[3], hs = s[4];
            int c = nh * hs;
            int ck = kvh * hs;
            int group = nh / kvh;
            int n = b * t * c;
            int rows = b * nh * t;
            float[] q = random(r, n, 1.5);
            float[] k = random(r, b * t * ck, 1.5);
            float[] v = random(r, b * t * ck, 1.5);
            float[] dout = random(r, n, 1);
            float[] kRep = new float[n];
            float[] vRep = new float[n];
            for (int row = 0; row < b * t; row++) {
                for (int h = 0; h < nh; h++) {
                    System.arraycopy(k, row * ck + h / group * hs, kRep, row * c + h * hs, hs);
                    System.arraycopy(v, row * ck + h / group * hs, vRep, row * c + h * hs, hs);
                }
            }
            for (boolean causal : new boolean[] {true, false}) {
                String what = "grouped-query attention B=" + b + " T=" + t + " NH=" + nh + " KVH=" + kvh + " causal=" + causal;
                // 0 q, 1 k, 2 v, 3 lse, 4 out, 5 dout, 6 dq, 7 dk, 8 dv
                int[][] grouped = {{b, t, c}, {b, t, ck}, {b, t, ck}, {b, nh, t}, {b, t, c}, {b, t, c}, {b, t, c}, {b, t, ck},
                        {b, t, ck}};
                int[][] plain = {{b, t, c}, {b, t, c}, {b, t, c}, {b, nh, t}, {b, t, c}, {b, t, c}, {b, t, c}, {b, t, c}, {b, t, c}};
                Operands.Call both = (d, x) -> {
                    d.nn().fusedAttentionForward(x[0], x[1], x[2], x[4], x[3], causal);
                    d.nn().fusedAttentionBackward(x[5], x[0], x[1], x[2], x[4], x[3], x[6], x[7], x[8], causal);
                };
                float[][] g = NnRuns.run(dev, null, new float[][] {q, k, v, new float[rows], new float[n], dout, new float[n],
                        new float[b * t * ck], new float[b * t * ck]}, grouped, both, what, 3, 4, 6, 7, 8);
                float[][] p = NnRuns.run(dev, null, new float[][] {q, kRep, vRep, new float[rows], new float[n], dout, new float[n],
                        new float[n], new float[n]}, plain, both, what + " (repeated)", 3, 4, 6, 7, 8);
                float[] att = AttentionOracle.of(q, kRep, vRep, dout, new float[n], new float[n], new float[n], b, t, c, nh, nh,
                        causal).p();
                assertClose(p[0], g[0], FusedAttentionContract.logSumExp(q, kRep, b, t, c, nh, c, causal)[1], 2 * REL_TOL,
                        what + ": lse");
                assertClose(p[1], g[1], NnRuns.attentionForwardBound(vRep, att, b, t, c, nh), 2 * REL_TOL, what + ": out");
                double[][] bound = NnRuns.attentionBackwardBound(q, kRep, vRep, att, dout, b, t, c, nh);
                assertClose(p[2], g[2], bound[0], 2 * REL_TOL, what + ": dq");
                for (int i = 1; i < 3; i++) {
                    float[] gathered = new float[b * t * ck];
                    double[] gatheredBound = new double[b * t * ck];
                    for (int row = 0; row < b * t; row++) {
                        for (int h = 0; h < nh; h++) {
                            for (int d = 0; d < hs; d++) {
                                int e = row * ck + h / group * hs + d;
                                gathered[e] += p[2 + i][row * c + h * hs + d];
                                gatheredBound[e] += bound[i][row * c + h * hs + d];
                            }
                        }
                    }
                    assertClose(gathered, g[2 + i], gatheredBound, 2 * REL_TOL, what + ": " + (i == 1 ? "dk" : "dv")
                            + " = the group's sum of the repeated heads' gradients");
                }
            }
        }
    }
}
