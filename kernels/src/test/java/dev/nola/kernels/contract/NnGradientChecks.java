package dev.nola.kernels.contract;

import static dev.nola.kernels.contract.Asserts.random;

import dev.nola.kernels.Device;
import dev.nola.kernels.NnOps.Gelu;
import dev.nola.kernels.NnOps.Pool;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.contract.Contract.Check;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Every backward op of the nn family against central finite differences of its own forward op on
 * the same device: an oracle independent of the reference, so these checks run on the reference too.
 * The loss is L = Σ_j w_j·out_j with random weights w (passed to the backward op as dout), gradients
 * start from zero, and every element of every differentiated input is perturbed.
 */
final class NnGradientChecks {

    private NnGradientChecks() {
    }

    static List<Check> checks() {
        return List.of(
                new Check("encoder backward matches finite differences (dwte, dwpe, repeated ids)", true, NnGradientChecks::encoder),
                new Check("layernorm backward matches finite differences (dx, dweight, dbias)", true, NnGradientChecks::layerNorm),
                new Check("gelu backward matches finite differences (tanh and erf)", true, NnGradientChecks::gelu),
                new Check("bias backward matches finite differences", true, NnGradientChecks::bias),
                new Check("softmax backward matches finite differences (scale, causal)", true, NnGradientChecks::softmax),
                new Check("fused attention backward matches finite differences (causal and not, hs = 5)", true, NnGradientChecks::attention),
                new Check("cross-entropy backward matches finite differences (label smoothing, ignore index)", true,
                        NnGradientChecks::crossEntropy),
                new Check("pool backward matches finite differences (mean and first)", true, NnGradientChecks::pool),
                new Check("rmsnorm backward matches finite differences (dx, dweight)", true, NnGradientChecks::rmsNorm),
                new Check("rope backward matches finite differences (pos0 > 0, several heads)", true, NnGradientChecks::rope),
                new Check("swiglu backward matches finite differences (dgate, dup; tails)", true, NnGradientChecks::swiglu),
                new Check("grouped-query fused attention backward matches finite differences (KVH < NH, causal and not)", true,
                        NnGradientChecks::groupedAttention));
    }

    /** The op's outputs with the differentiated input set to {@code x} (one fresh forward pass). */
    interface Forward {
        float[] run(float[] x);
    }

    /** The step: a power of two, so x ± H is exact for |x| < 2^17 and the difference quotient divides by exactly 2H. */
    static final float H = 0x1p-7f;

    /**
     * Tolerance of a difference quotient against the analytic gradient g_i:
     * {@code FD_REL·|g_i| + FD_ABS·max|g| + noise_i}. Truncation of the central difference is
     * H²/6·|L'''| ≈ 3e-6 of third derivatives of order one, under FD_REL and FD_ABS; a wrong term or
     * factor in a backward pass is off by a fraction of |g| (≥ 1e-2), ten times FD_REL or more.
     * noise_i bounds the rounding of the outputs that moved: {@link #ULPS} ulp of each, divided by 2H.
     */
    static final double FD_REL = 1e-3;
    static final double FD_ABS = 2e-4;
    /** Rounding of a float32 forward output, in units of 2^-24 of its magnitude (double inside: 1; float32 kernels: a few). */
    static final double ULPS = 16;

    /**
     * Checks {@code grad} (dL/dx at x) against (L(x + H·e_i) − L(x − H·e_i)) / 2H for every i. Outputs
     * that do not depend on x_i come out bit-identical from both runs (the kernels are
     * deterministic) and cancel exactly, so only the moved outputs add rounding noise.
     */
    static void assertGradient(String what, float[] x, float[] grad, float[] w, Forward f) {
        double gmax = NnRuns.maxAbs(grad);
        for (int i = 0; i < x.length; i++) {
            float[] xp = x.clone();
            float[] xm = x.clone();
            xp[i] = x[i] + H;
            xm[i] = x[i] - H;
            float[] op = f.run(xp);
            float[] om = f.run(xm);
            double dl = 0;
            double moved = 0;
            for (int j = 0; j < op.length; j++) {
                if (Float.floatToRawIntBits(op[j]) != Float.floatToRawIntBits(om[j])) {
                    dl += (double) w[j] * ((double) op[j] - om[j]);
                    moved += Math.abs(w[j]) * (Math.abs(op[j]) + Math.abs(om[j]));
                }
            }
            double step = (double) xp[i] - xm[i];
            double fd = dl / step;
            double tol = FD_REL * Math.abs(grad[i]) + FD_ABS * gmax + ULPS * 0x1p-24 * moved / step;
            if (!(Math.abs(fd - grad[i]) <= tol)) {
                throw new AssertionError(what + ": element " + i + ": backward gives " + grad[i] + ", finite differences "
                        + fd + " (error " + Math.abs(fd - grad[i]) + " > tolerance " + tol + ")");
            }
        }
    }

    static void encoder(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(60);
        // {B, T, V, C, P}: B = 1 and T = 1; B > 1 with repeated ids and P > T
        for (int[] s : new int[][] {{1, 1, 1, 1, 1}, {2, 3, 5, 4, 4}, {1, 7, 7, 3, 9}}) {
            int b = s[0], t = s[1], v = s[2], c = s[3], p = s[4];
            int n = b * t;
            int[] ids = NnRuns.ids(r, n, v);
            float[] wte = random(r, v * c, 1);
            float[] wpe = random(r, p * c, 1);
            float[] w = random(r, n * c, 1);
            int[][] shapes = {{v, c}, {p, c}, {n, c}, {n, c}, {v, c}, {p, c}};
            Operands.Call fwd = (d, x) -> {
                try (Tensor id = d.upload(ids, n)) {
                    d.nn().encoderForward(id, x[0], x[1], x[3], t);
                }
            };
            Operands.Call bwd = (d, x) -> {
                try (Tensor id = d.upload(ids, n)) {
                    d.nn().encoderBackward(id, x[2], x[4], x[5], t);
                }
            };
            float[][] g = NnRuns.run(dev, null, new float[][] {null, null, w, null, new float[v * c], new float[p * c]}, shapes,
                    bwd, "encoder", 4, 5);
            String at = " B=" + b + " T=" + t + " V=" + v + " C=" + c;
            assertGradient("encoder dwte" + at, wte, g[0], w, x -> Operands.run(dev,
                    new float[][] {x, wpe, null, new float[n * c]}, shapes, 3, fwd));
            assertGradient("encoder dwpe" + at, wpe, g[1], w, x -> Operands.run(dev,
                    new float[][] {wte, x, null, new float[n * c]}, shapes, 3, fwd));
        }
    }

    static void layerNorm(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(61);
        for (int[] s : new int[][] {{1, 1}, {3, 7}, {2, 15}}) {
            int n = s[0], c = s[1];
            float[] x = random(r, n * c, 1);
            for (int i = 0; i < x.length; i++) {
                x[i] += 0.5f * (i / c); // rows with different means
            }
            float[] weight = random(r, c, 1.5);
            float[] bias = random(r, c, 1);
            float[] w = random(r, n * c, 1);
            float eps = 1e-5f;
            // 0 x, 1 weight, 2 bias, 3 out, 4 mean, 5 rstd, 6 dout, 7 dx, 8 dweight, 9 dbias
            int[][] shapes = {{n, c}, {c}, {c}, {n, c}, {n}, {n}, {n, c}, {n, c}, {c}, {c}};
            Operands.Call both = (d, t) -> {
                d.nn().layerNormForward(t[0], t[1], t[2], eps, t[3], t[4], t[5]);
                d.nn().layerNormBackward(t[6], t[0], t[1], t[4], t[5], t[7], t[8], t[9]);
            };
            float[][] g = NnRuns.run(dev, null, new float[][] {x, weight, bias, new float[n * c], new float[n], new float[n], w,
                    new float[n * c], new float[c], new float[c]}, shapes, both, "layernorm", 7, 8, 9);
            Operands.Call fwd = (d, t) -> d.nn().layerNormForward(t[0], t[1], t[2], eps, t[3], t[4], t[5]);
            String at = " N=" + n + " C=" + c;
            assertGradient("layernorm dx" + at, x, g[0], w, v -> Operands.run(dev,
                    new float[][] {v, weight, bias, new float[n * c], new float[n], new float[n]}, shapes, 3, fwd));
            assertGradient("layernorm dweight" + at, weight, g[1], w, v -> Operands.run(dev,
                    new float[][] {x, v, bias, new float[n * c], new float[n], new float[n]}, shapes, 3, fwd));
            assertGradient("layernorm dbias" + at, bias, g[2], w, v -> Operands.run(dev,
                    new float[][] {x, weight, v, new float[n * c], new float[n], new float[n]}, shapes, 3, fwd));
        }
    }

    static void gelu(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(62);
        float[] x = random(r, 40, 4);
        x[0] = 0f;
        x[1] = -6f; // the tail, where 1 + tanh and 1 + erf cancel
        x[2] = 5f;
        float[] w = random(r, x.length, 1);
        int n = x.length;
        int[][] shapes = {{n}, {n}, {n}, {n}};
        for (Gelu kind : Gelu.values()) {
            float[] g = Operands.run(dev, new float[][] {x, w, new float[n]}, shapes, 2,
                    (d, t) -> d.nn().geluBackward(kind, t[0], t[1], t[2]));
            assertGradient("gelu " + kind, x, g, w,
                    v -> Operands.run(dev, new float[][] {v, new float[n]}, shapes, 1, (d, t) -> d.nn().geluForward(kind, t[0], t[1])));
        }
    }

    static void bias(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(63);
        for (int[] s : new int[][] {{1, 1}, {7, 7}, {5, 15}}) {
            int n = s[0], c = s[1];
            float[] x = random(r, n * c, 1);
            float[] bias = random(r, c, 1);
            float[] w = random(r, n * c, 1);
            int[][] shapes = {{n, c}, {c}};
            float[] g = Operands.run(dev, new float[][] {w, new float[c]}, shapes, 1, (d, t) -> d.nn().biasBackward(t[0], t[1]));
            assertGradient("bias N=" + n + " C=" + c, bias, g, w,
                    v -> Operands.run(dev, new float[][] {x, v}, shapes, 0, (d, t) -> d.nn().biasForward(t[0], t[1])));
        }
    }

    static void softmax(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(64);
        // shapes of x; causal rows are query positions r mod L of [.., L, L] score matrices
        int[][] shapes = {{1, 1}, {7, 7}, {2, 3, 5, 5}, {3, 9}};
        float[] scales = {1f, 0.4472136f, -1.5f};
        for (int[] shape : shapes) {
            int l = shape[shape.length - 1];
            int n = 1;
            for (int e : shape) {
                n *= e;
            }
            for (boolean causal : new boolean[] {false, true}) {
                for (float scale : scales) {
                    float[] x = random(r, n, 2);
                    float[] w = random(r, n, 1);
                    int size = n;
                    int[][] s3 = {shape, shape, shape};
                    Operands.Call fwd = (d, t) -> d.nn().softmaxForward(t[0], t[1], scale, causal);
                    float[] y = Operands.run(dev, new float[][] {x, new float[size]}, s3, 1, fwd);
                    float[] g = Operands.run(dev, new float[][] {y, w, new float[size]}, s3, 2,
                            (d, t) -> d.nn().softmaxBackward(t[0], t[1], t[2], scale));
                    assertGradient("softmax " + java.util.Arrays.toString(shape) + " scale=" + scale + " causal=" + causal, x, g, w,
                            v -> Operands.run(dev, new float[][] {v, new float[size]}, s3, 1, fwd));
                }
            }
        }
    }

    /**
     * x is q, k and v one after another, the planar [3, B, T, C] buffer they are views of, so every
     * element of each is perturbed; the gradient is dq, dk and dv, views of one planar buffer too.
     */
    static void attention(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(65);
        // {B, T, C, NH}: T = 1, B = 1; B = 2 with hs = 5; hs = 1
        for (int[] s : new int[][] {{1, 1, 15, 3}, {2, 5, 15, 3}, {1, 4, 3, 3}}) {
            int b = s[0], t = s[1], c = s[2], nh = s[3];
            for (boolean causal : new boolean[] {true, false}) {
                float[] qkv = random(r, 3 * b * t * c, 1.5);
                float[] w = random(r, b * t * c, 1);
                // 0 [q; k; v], 1 lse, 2 out, 3 dout, 4 [dq; dk; dv]
                int[][] shapes = {{3, b, t, c}, {b, nh, t}, {b, t, c}, {b, t, c}, {3, b, t, c}};
                int tt = b * nh * t;
                Operands.Call fwd = (d, x) -> {
                    Tensor[] in = NnRuns.qkv(x, 0, true);
                    d.nn().fusedAttentionForward(in[0], in[1], in[2], x[2], x[1], causal);
                };
                float[] g = Operands.run(dev, new float[][] {qkv, new float[tt], new float[b * t * c], w, new float[qkv.length]},
                        shapes, 4, (d, x) -> {
                            fwd.call(d, x);
                            Tensor[] in = NnRuns.qkv(x, 0, true);
                            Tensor[] grad = NnRuns.qkv(x, 4, true);
                            d.nn().fusedAttentionBackward(x[3], in[0], in[1], in[2], x[2], x[1], grad[0], grad[1], grad[2], causal);
                        });
                assertGradient("attention B=" + b + " T=" + t + " C=" + c + " NH=" + nh + " causal=" + causal
                                + " (elements of q, then k, then v)", qkv, g, w,
                        v -> Operands.run(dev, new float[][] {v, new float[tt], new float[b * t * c]}, shapes, 2, fwd));
            }
        }
    }

    static void crossEntropy(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(66);
        // {N, V}; the last row of each is ignored (target = ignoreIndex)
        for (int[] s : new int[][] {{2, 1}, {4, 7}, {3, 61}}) {
            int n = s[0], v = s[1];
            for (float smoothing : new float[] {0f, 0.1f}) {
                for (int ignore : new int[] {-1, -100, v}) {
                    int[] targets = NnRuns.ids(r, n, v);
                    targets[n - 1] = ignore;
                    float[] logits = random(r, n * v, 3);
                    float lossGradient = 1f / (n - 1); // the mean over the counted rows
                    int[][] shapes = {{n, v}, {n, v}, {n}};
                    float[] g = Operands.run(dev, new float[][] {logits, new float[n * v]}, shapes, 1, (d, x) -> {
                        try (Tensor tg = d.upload(targets, n)) {
                            d.nn().crossEntropyBackward(x[0], tg, x[1], smoothing, ignore, lossGradient);
                        }
                    });
                    float[] w = NnRuns.filled(n, lossGradient);
                    assertGradient("cross-entropy N=" + n + " V=" + v + " smoothing=" + smoothing + " ignoreIndex=" + ignore,
                            logits, g, w, x -> Operands.run(dev, new float[][] {x, null, new float[n]}, shapes, 2, (d, t) -> {
                                try (Tensor tg = d.upload(targets, n)) {
                                    d.nn().crossEntropyForward(t[0], tg, t[2], smoothing, ignore);
                                }
                            }));
                }
            }
        }
    }

    static void pool(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(67);
        for (int[] s : new int[][] {{1, 1, 1}, {2, 3, 4}, {1, 7, 5}}) {
            int b = s[0], t = s[1], c = s[2];
            for (Pool kind : Pool.values()) {
                float[] x = random(r, b * t * c, 1);
                float[] w = random(r, b * c, 1);
                int[][] shapes = {{b, t, c}, {b, c}};
                float[] g = Operands.run(dev, new float[][] {new float[x.length], w}, shapes, 0,
                        (d, y) -> d.nn().poolBackward(kind, y[1], y[0]));
                assertGradient("pool " + kind + " B=" + b + " T=" + t + " C=" + c, x, g, w,
                        v -> Operands.run(dev, new float[][] {v, new float[b * c]}, shapes, 1, (d, y) -> d.nn().poolForward(kind, y[0], y[1])));
            }
        }
    }

    static void rmsNorm(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(68);
        for (int[] s : new int[][] {{1, 1}, {3, 7}, {2, 15}}) {
            int n = s[0], c = s[1];
            float[] x = random(r, n * c, 1);
            for (int i = 0; i < x.length; i++) {
                x[i] += 0.5f * (i / c);
            }
            float[] weight = random(r, c, 1.5);
            float[] w = random(r, n * c, 1);
            float eps = 1e-5f;
            // 0 x, 1 weight, 2 out, 3 rstd, 4 dout, 5 dx, 6 dweight
            int[][] shapes = {{n, c}, {c}, {n, c}, {n}, {n, c}, {n, c}, {c}};
            Operands.Call fwd = (d, t) -> d.nn().rmsNormForward(t[0], t[1], eps, t[2], t[3]);
            float[][] g = NnRuns.run(dev, null, new float[][] {x, weight, new float[n * c], new float[n], w, new float[n * c],
                    new float[c]}, shapes, (d, t) -> {
                        fwd.call(d, t);
                        d.nn().rmsNormBackward(t[4], t[0], t[1], t[3], t[5], t[6]);
                    }, "rmsnorm", 5, 6);
            String at = " N=" + n + " C=" + c;
            assertGradient("rmsnorm dx" + at, x, g[0], w, v -> Operands.run(dev,
                    new float[][] {v, weight, new float[n * c], new float[n]}, shapes, 2, fwd));
            assertGradient("rmsnorm dweight" + at, weight, g[1], w, v -> Operands.run(dev,
                    new float[][] {x, v, new float[n * c], new float[n]}, shapes, 2, fwd));
        }
    }

    /** The tables are constants; dx (written) against the forward rotation of x. */
    static void rope(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(69);
        // {B, T, W, headDim, P, pos0}
        for (int[] s : new int[][] {{1, 1, 2, 2, 1, 0}, {2, 3, 12, 4, 6, 2}, {1, 2, 16, 8, 9, 7}}) {
            int b = s[0], t = s[1], w = s[2], hd = s[3], p = s[4], pos0 = s[5];
            int n = b * t * w;
            float[][] tables = NnLlamaContract.ropeTables(p, hd, 100);
            float[] x = random(r, n, 1);
            float[] wt = random(r, n, 1);
            int[][] shapes = {{b, t, w}, {p, hd / 2}, {p, hd / 2}, {b, t, w}};
            float[] g = Operands.run(dev, new float[][] {wt, tables[0], tables[1], NnRuns.filled(n, Float.NaN)}, shapes, 3,
                    (d, o) -> d.nn().ropeBackward(o[0], o[1], o[2], hd, pos0, o[3]));
            assertGradient("rope B=" + b + " T=" + t + " W=" + w + " headDim=" + hd + " pos0=" + pos0, x, g, wt,
                    v -> Operands.run(dev, new float[][] {v, tables[0], tables[1], new float[n]}, shapes, 3,
                            (d, o) -> d.nn().ropeForward(o[0], o[1], o[2], hd, pos0, o[3])));
        }
    }

    static void swiglu(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(70);
        float[] gate = random(r, 40, 4);
        gate[0] = 0f;
        gate[1] = -9f; // the tail, where σ is e^gate
        gate[2] = 8f;
        gate[3] = -1.2784645f; // near the zero of silu'
        float[] up = random(r, gate.length, 2);
        float[] w = random(r, gate.length, 1);
        int n = gate.length;
        int[][] shapes = {{n}, {n}, {n}, {n}, {n}};
        // 0 gate, 1 up, 2 dout, 3 dgate, 4 dup
        float[][] g = NnRuns.run(dev, null, new float[][] {gate, up, w, new float[n], new float[n]}, shapes,
                (d, t) -> d.nn().swigluBackward(t[0], t[1], t[2], t[3], t[4]), "swiglu", 3, 4);
        Operands.Call fwd = (d, t) -> d.nn().swigluForward(t[0], t[1], t[2]);
        assertGradient("swiglu dgate", gate, g[0], w, v -> Operands.run(dev, new float[][] {v, up, new float[n]}, shapes, 2, fwd));
        assertGradient("swiglu dup", up, g[1], w, v -> Operands.run(dev, new float[][] {gate, v, new float[n]}, shapes, 2, fwd));
    }

    /** q [B, T, NH·hs], k and v [B, T, KVH·hs] as views of one buffer [q; k; v]. */
    static Tensor[] groupedQkv(Tensor all, int b, int t, int c, int ck) {
        long n = (long) b * t * c;
        long nk = (long) b * t * ck;
        return new Tensor[] {all.view(0, b, t, c), all.view(n, b, t, ck), all.view(n + nk, b, t, ck)};
    }

    /** x is q, k and v one after another (every element of each perturbed); the gradient dq, dk, dv likewise. */
    static void groupedAttention(Device ref, Device dev) {
        SplittableRandom r = new SplittableRandom(71);
        // {B, T, NH, KVH, hs}
        for (int[] s : new int[][] {{1, 4, 4, 2, 3}, {2, 3, 6, 2, 2}, {1, 3, 3, 1, 4}}) {
            int b = s[0], t = s[1], nh = s[2], kvh = s[3], hs = s[4];
            int c = nh * hs;
            int ck = kvh * hs;
            int size = b * t * (c + 2 * ck);
            int tt = b * nh * t;
            for (boolean causal : new boolean[] {true, false}) {
                float[] qkv = random(r, size, 1.5);
                float[] w = random(r, b * t * c, 1);
                // 0 [q; k; v], 1 lse, 2 out, 3 dout, 4 [dq; dk; dv]
                int[][] shapes = {{size}, {b, nh, t}, {b, t, c}, {b, t, c}, {size}};
                Operands.Call fwd = (d, x) -> {
                    Tensor[] in = groupedQkv(x[0], b, t, c, ck);
                    d.nn().fusedAttentionForward(in[0], in[1], in[2], x[2], x[1], causal);
                };
                float[] g = Operands.run(dev, new float[][] {qkv, new float[tt], new float[b * t * c], w, new float[size]}, shapes, 4,
                        (d, x) -> {
                            fwd.call(d, x);
                            Tensor[] in = groupedQkv(x[0], b, t, c, ck);
                            Tensor[] grad = groupedQkv(x[4], b, t, c, ck);
                            d.nn().fusedAttentionBackward(x[3], in[0], in[1], in[2], x[2], x[1], grad[0], grad[1], grad[2], causal);
                        });
                assertGradient("grouped-query attention B=" + b + " T=" + t + " NH=" + nh + " KVH=" + kvh + " hs=" + hs + " causal="
                        + causal + " (elements of q, then k, then v)", qkv, g, w,
                        v -> Operands.run(dev, new float[][] {v, new float[tt], new float[b * t * c]}, shapes, 2, fwd));
            }
        }
    }
}
