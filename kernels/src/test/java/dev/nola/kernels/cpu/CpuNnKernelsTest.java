package dev.nola.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.nola.kernels.Backends;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.NnOps;
import dev.nola.kernels.NnOps.Gelu;
import dev.nola.kernels.NnOps.Pool;
import dev.nola.kernels.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every op of the cpu nn family against the reference on seeded random inputs: sizes of 1, odd sizes,
 * T = 1, sizes above the parallel thresholds and the GELU block, every tensor a view at an odd offset
 * inside a larger storage filled with a sentinel, causal and not, label smoothing and an ignore
 * index, in place where the contract allows it. Each case also runs twice on cpu and must give the
 * same bits (determinism), and the sentinel around every output must be untouched.
 *
 * <p>Tolerances are |cpu − ref| ≤ atol + rtol·|ref| per element, stated with each case: float32
 * kernels against a double oracle, so a few ulp (rtol ~1e-6) for elementwise results, more where a
 * float sum over a row or column feeds the result.
 */
class CpuNnKernelsTest {

    /** Written around every view; an op that writes outside its view changes it. */
    private static final float SENTINEL = 1234.5f;

    private Device ref;
    private Device cpu;

    @BeforeEach
    void open() {
        ref = Backends.open("reference");
        cpu = Backends.open("cpu");
    }

    @AfterEach
    void close() {
        cpu.close();
        ref.close();
    }

    // ---------------------------------------------------------------- harness

    /** Runs an op on one device from seeded inputs and returns the outputs, each with its sentinel border. */
    private interface Case {
        float[][] run(Device d, Inputs in);
    }

    /** Seeded inputs placed as views at an offset; the same seed gives the same data on every device. */
    private static final class Inputs {
        private final Device d;
        private final SplittableRandom r;
        private int offset = 3;

        Inputs(Device d, long seed) {
            this.d = d;
            this.r = new SplittableRandom(seed);
        }

        float[] values(int n, double lo, double hi) {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) {
                a[i] = (float) (lo + (hi - lo) * r.nextDouble());
            }
            return a;
        }

        /** A view of {@code data} at an odd offset (varying) inside a storage with sentinels around it. */
        Tensor place(float[] data, int... shape) {
            offset = offset % 17 + 2;
            float[] all = new float[offset + data.length + 5];
            Arrays.fill(all, SENTINEL);
            System.arraycopy(data, 0, all, offset, data.length);
            return d.upload(all, all.length).view(offset, shape);
        }

        Tensor random(double lo, double hi, int... shape) {
            return place(values(Math.toIntExact(Arrays.stream(shape).asLongStream().reduce(1, (a, b) -> a * b)), lo, hi),
                    shape);
        }

        Tensor ints(int[] data, int... shape) {
            offset = offset % 17 + 2;
            Tensor s = d.allocate(DType.INT32, offset + data.length + 5);
            d.write(s, offset, data, 0, data.length);
            return s.view(offset, shape);
        }

        int nextInt(int bound) {
            return r.nextInt(bound);
        }
    }

    /** The whole storage of each tensor (view plus border), so that writes outside a view are caught. */
    private static float[][] storages(Device d, Tensor... ts) {
        float[][] out = new float[ts.length][];
        for (int i = 0; i < ts.length; i++) {
            out[i] = ts[i] == null ? new float[0] : d.read(ts[i].storage());
        }
        return out;
    }

    /** The error allowed in element i of output k whose reference value is w. */
    private interface Tolerance {
        double allowed(int k, int i, double w);
    }

    private void check(String what, long seed, double rtol, double atol, Case c) {
        check(what, seed, (k, i, w) -> atol + rtol * Math.abs(w), c);
    }

    private void check(String what, long seed, Tolerance tol, Case c) {
        float[][] want = c.run(ref, new Inputs(ref, seed));
        float[][] got = c.run(cpu, new Inputs(cpu, seed));
        float[][] again = c.run(cpu, new Inputs(cpu, seed));
        for (int k = 0; k < want.length; k++) {
            assertEquals(want[k].length, got[k].length, what + ": output " + k + " length");
            double worst = 0;
            int worstAt = -1;
            for (int i = 0; i < want[k].length; i++) {
                double w = want[k][i];
                double g = got[k][i];
                if (w == SENTINEL || g == SENTINEL) {
                    assertEquals(w, g, what + ": output " + k + " [" + i + "] sentinel");
                    continue;
                }
                double err = Math.abs(g - w);
                double allowed = tol.allowed(k, i, w);
                if (!(err <= allowed) && !(Double.isNaN(w) && Double.isNaN(g))) {
                    fail(what + ": output " + k + " [" + i + "] cpu " + g + " vs reference " + w + " (error " + err
                            + " > " + allowed + ")");
                }
                double ratio = err / allowed;
                if (ratio > worst) {
                    worst = ratio;
                    worstAt = i;
                }
            }
            if (System.getenv("NOLA_NN_ERRORS") != null) {
                System.out.printf("%-50s out %d worst %.3f of tolerance at %d%n", what, k, worst, worstAt);
            }
            assertTrue(Arrays.equals(got[k], again[k]), what + ": output " + k + " differs between two cpu runs");
        }
    }

    // ---------------------------------------------------------------- encoder

    @Test
    void encoder() {
        // {B, T, C, V, P}: ones, odd, T = 1, above the parallel threshold (N·C ≥ 2¹⁴)
        int[][] shapes = {{1, 1, 1, 1, 1}, {2, 7, 13, 11, 9}, {3, 1, 5, 4, 2}, {4, 64, 97, 100, 70}};
        for (int[] s : shapes) {
            int n = s[0] * s[1];
            int t = s[1];
            int c = s[2];
            int v = s[3];
            int p = s[4];
            for (int tables = 0; tables < 3; tables++) {
                boolean withTe = tables != 1;
                boolean withPe = tables != 2;
                String what = "encoder " + Arrays.toString(s) + (withTe ? " wte" : "") + (withPe ? " wpe" : "");
                // Sums of two floats: one rounding either way.
                check(what + " forward", 11, 1.2e-7, 0, (d, in) -> {
                    Tensor ids = in.ints(ids(in, n, v), n);
                    Tensor wte = withTe ? in.random(-1, 1, v, c) : null;
                    Tensor wpe = withPe ? in.random(-1, 1, p, c) : null;
                    Tensor out = in.random(-1, 1, n, c);
                    d.nn().encoderForward(ids, wte, wpe, out, t);
                    return storages(d, out);
                });
                // The same float additions in the same (ascending token) order: exact.
                check(what + " backward", 12, 0, 0, (d, in) -> {
                    Tensor ids = in.ints(ids(in, n, v), n);
                    Tensor dout = in.random(-1, 1, n, c);
                    Tensor dwte = withTe ? in.random(-1, 1, v, c) : null;
                    Tensor dwpe = withPe ? in.random(-1, 1, p, c) : null;
                    d.nn().encoderBackward(ids, dout, dwte, dwpe, t);
                    return storages(d, dwte, dwpe);
                });
            }
        }
    }

    /** Token ids with many repeats (a small vocabulary prefix is drawn often). */
    private static int[] ids(Inputs in, int n, int v) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = in.nextInt(Math.max(1, in.nextInt(2) == 0 ? Math.min(v, 3) : v));
        }
        return a;
    }

    // ---------------------------------------------------------------- layernorm

    @Test
    void layerNorm() {
        // {N, C}: ones, odd, GPT-2's C, several parallel tasks with a ragged last one
        int[][] shapes = {{1, 1}, {7, 13}, {3, 768}, {64, 769}, {300, 64}};
        for (int[] s : shapes) {
            int n = s[0];
            int c = s[1];
            String what = "layerNorm " + Arrays.toString(s);
            // Row statistics are float sums over C (gathered in double): a few ulp of the normalised value.
            check(what + " forward", 21, 2e-6, 2e-6, (d, in) -> {
                Tensor x = in.random(-2, 3, n, c);
                Tensor w = in.random(-1.5, 1.5, c);
                Tensor b = in.random(-1, 1, c);
                Tensor out = in.random(-1, 1, n, c);
                Tensor mean = in.random(-1, 1, n);
                Tensor rstd = in.random(-1, 1, n);
                d.nn().layerNormForward(x, w, b, 1e-5f, out, mean, rstd);
                return storages(d, out, mean, rstd);
            });
            for (int grads = 0; grads < 2; grads++) {
                boolean params = grads == 0;
                // dweight and dbias sum N rows in float (per-range partials): relative to the row count.
                check(what + " backward" + (params ? "" : " without parameter gradients"), 22, 1e-5, 2e-6 * Math.sqrt(n),
                        (d, in) -> {
                            Tensor x = in.random(-2, 3, n, c);
                            Tensor w = in.random(-1.5, 1.5, c);
                            Tensor b = in.random(-1, 1, c);
                            Tensor out = d.allocate(n, c);
                            Tensor mean = d.allocate(n);
                            Tensor rstd = d.allocate(n);
                            // mean and rstd from the reference on both devices, so that only the backward pass is compared
                            float[][] stats = referenceStats(x, w, b, n, c);
                            d.write(mean, stats[0]);
                            d.write(rstd, stats[1]);
                            Tensor dout = in.random(-1, 1, n, c);
                            Tensor dx = in.random(-1, 1, n, c);
                            Tensor dw = params ? in.random(-1, 1, c) : null;
                            Tensor db = params ? in.random(-1, 1, c) : null;
                            d.nn().layerNormBackward(dout, x, w, mean, rstd, dx, dw, db);
                            return storages(d, dx, dw, db);
                        });
            }
        }
    }

    /** mean and rstd of the reference for the data of x, w, b (read from whichever device holds them). */
    private float[][] referenceStats(Tensor x, Tensor w, Tensor b, int n, int c) {
        Device d = x.device();
        try (Tensor rx = ref.upload(d.read(x), n, c);
             Tensor rw = ref.upload(d.read(w), c);
             Tensor rb = ref.upload(d.read(b), c);
             Tensor out = ref.allocate(n, c);
             Tensor mean = ref.allocate(n);
             Tensor rstd = ref.allocate(n)) {
            ref.nn().layerNormForward(rx, rw, rb, 1e-5f, out, mean, rstd);
            return new float[][] {ref.read(mean), ref.read(rstd)};
        }
    }

    // ---------------------------------------------------------------- GELU

    @Test
    void gelu() {
        // 1, odd, one GELU block and one more, several parallel ranges with a ragged end
        int[] sizes = {1, 7, GeluKernels.BLOCK + 1, 3 * (1 << 16) + 5};
        for (Gelu kind : Gelu.values()) {
            for (int n : sizes) {
                for (boolean inPlace : new boolean[] {false, true}) {
                    String what = "gelu " + kind + " n=" + n + (inPlace ? " in place" : "");
                    // The accuracy goal: ~1e-6 relative or 2e-7 absolute (a few ulp of x·Φ(x)).
                    check(what + " forward", 31, 1e-6, 2e-7, (d, in) -> {
                        Tensor x = in.place(geluInputs(in, n), n);
                        Tensor out = inPlace ? x : in.random(-1, 1, n);
                        d.nn().geluForward(kind, x, out);
                        return storages(d, out);
                    });
                }
                // dx += gelu'·dout: the same goal on the product, plus the rounding of the accumulation.
                check("gelu " + kind + " n=" + n + " backward", 32, 1e-6, 2e-7, (d, in) -> {
                    Tensor x = in.place(geluInputs(in, n), n);
                    Tensor dout = in.random(-1, 1, n);
                    Tensor dx = in.random(-1, 1, n);
                    d.nn().geluBackward(kind, x, dout, dx);
                    return storages(d, dx);
                });
            }
        }
    }

    /** Mostly N(0, 2)-ish values, plus ±0, tiny, large and far-tail values. */
    private static float[] geluInputs(Inputs in, int n) {
        float[] special = {0f, -0f, 1e-30f, -1e-30f, 1e-7f, -3e-6f, 6f, -6f, 9.5f, -9.5f, 14f, -14f, 40f, -40f, 100f, -100f};
        float[] a = in.values(n, -1, 1);
        for (int i = 0; i < n; i++) {
            a[i] = i < special.length && n > special.length ? special[i] : (float) (a[i] * 4 * Math.abs(a[(i * 7) % n]));
        }
        return a;
    }

    // ---------------------------------------------------------------- bias, residual

    @Test
    void biasAndResidual() {
        int[][] shapes = {{1, 1}, {7, 13}, {600, 769}};
        for (int[] s : shapes) {
            int n = s[0];
            int c = s[1];
            String what = "bias " + Arrays.toString(s);
            check(what + " forward", 41, 0, 0, (d, in) -> {
                Tensor x = in.random(-1, 1, n, c);
                Tensor b = in.random(-1, 1, c);
                d.nn().biasForward(x, b);
                return storages(d, x);
            });
            // Column sums of N float terms (per-range partials): ~√N ulp of the terms' magnitude.
            check(what + " backward", 42, 1e-6, 1e-6 * Math.sqrt(n), (d, in) -> {
                Tensor dout = in.random(-1, 1, n, c);
                Tensor db = in.random(-1, 1, c);
                d.nn().biasBackward(dout, db);
                return storages(d, db);
            });
        }
        for (int n : new int[] {1, 7, 200_001}) {
            for (int alias = 0; alias < 3; alias++) {
                int a0 = alias;
                // One float addition each: exact.
                check("residual n=" + n + " alias=" + alias, 43, 0, 0, (d, in) -> {
                    Tensor a = in.random(-1, 1, n);
                    Tensor b = in.random(-1, 1, n);
                    Tensor out = a0 == 0 ? in.random(-1, 1, n) : a0 == 1 ? a : b;
                    d.nn().residualForward(a, b, out);
                    return storages(d, out);
                });
            }
        }
    }

    // ---------------------------------------------------------------- softmax, attention

    @Test
    void softmax() {
        int[][] shapes = {{1, 1}, {3, 7}, {2, 3, 7, 7}, {1, 1, 1, 1}, {4, 12, 128, 128}, {5, 33}};
        for (int[] s : shapes) {
            for (boolean causal : new boolean[] {false, true}) {
                for (float scale : new float[] {1f, 0.125f, -0.7f}) {
                    for (boolean inPlace : new boolean[] {false, true}) {
                        String what = "softmax " + Arrays.toString(s) + (causal ? " causal" : "") + " scale=" + scale
                                + (inPlace ? " in place" : "");
                        // exp to ~2 ulp, then a float scale by 1/Σ.
                        check(what, 51, 1e-6, 1e-9, (d, in) -> {
                            Tensor x = in.random(-8, 8, s);
                            Tensor out = inPlace ? x : in.random(-1, 1, s);
                            d.nn().softmaxForward(x, out, scale, causal);
                            return storages(d, out);
                        });
                    }
                }
            }
            for (boolean inPlace : new boolean[] {false, true}) {
                // dy − Σ y·dy cancels: relative to the magnitude of dy.
                check("softmax backward " + Arrays.toString(s) + (inPlace ? " in place" : ""), 52, 1e-6, 1e-7, (d, in) -> {
                    int l = s[s.length - 1];
                    Tensor y = in.place(rowsOfSoftmax(in, (int) Arrays.stream(s).asLongStream().reduce(1, (a, b) -> a * b) / l, l), s);
                    Tensor dy = in.random(-1, 1, s);
                    Tensor dx = inPlace ? dy : in.random(-1, 1, s);
                    d.nn().softmaxBackward(y, dy, dx, 0.3f);
                    return storages(d, dx);
                });
            }
        }
    }

    /** Rows of positive values summing to 1. */
    private static float[] rowsOfSoftmax(Inputs in, int rows, int l) {
        float[] a = in.values(rows * l, 0, 1);
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int j = 0; j < l; j++) {
                s += a[r * l + j];
            }
            for (int j = 0; j < l; j++) {
                a[r * l + j] /= (float) s;
            }
        }
        return a;
    }

    @Test
    void attention() {
        // {B, T, C, NH}: ones, odd T, T = 1, a ViT-like odd T with several heads
        int[][] shapes = {{1, 1, 2, 1}, {2, 7, 12, 3}, {3, 1, 8, 2}, {2, 33, 48, 4}, {1, 65, 64, 2}};
        for (int[] s : shapes) {
            int b = s[0];
            int t = s[1];
            int c = s[2];
            int nh = s[3];
            for (boolean causal : new boolean[] {false, true}) {
                String what = "attention " + Arrays.toString(s) + (causal ? " causal" : "");
                // Float dot products of length hs and T (the online softmax, its own summation order).
                long btc = (long) b * t * c;
                check(what + " forward", 61, 1e-5, 1e-6, (d, in) -> {
                    Tensor qkv = in.random(-1, 1, 3, b, t, c);
                    Tensor lse = in.random(-1, 1, b, nh, t);
                    Tensor out = in.random(-1, 1, b, t, c);
                    d.nn().fusedAttentionForward(qkv.view(0, b, t, c), qkv.view(btc, b, t, c), qkv.view(2 * btc, b, t, c),
                            out, lse, causal);
                    return storages(d, lse, out);
                });
                check(what + " backward", 62, 1e-5, 1e-5, (d, in) -> {
                    Tensor qkv = in.random(-1, 1, 3, b, t, c);
                    Tensor q = qkv.view(0, b, t, c);
                    Tensor k = qkv.view(btc, b, t, c);
                    Tensor v = qkv.view(2 * btc, b, t, c);
                    Tensor lse = in.random(-1, 1, b, nh, t);
                    Tensor out = in.random(-1, 1, b, t, c);
                    d.nn().fusedAttentionForward(q, k, v, out, lse, causal);
                    Tensor dout = in.random(-1, 1, b, t, c);
                    Tensor dqkv = in.random(-1, 1, 3, b, t, c);
                    d.nn().fusedAttentionBackward(dout, q, k, v, out, lse, dqkv.view(0, b, t, c), dqkv.view(btc, b, t, c),
                            dqkv.view(2 * btc, b, t, c), causal);
                    return storages(d, dqkv);
                });
            }
        }
    }

    // ---------------------------------------------------------------- cross-entropy

    @Test
    void crossEntropy() {
        // {N, V}: ones, odd, a vector tail, GPT-2's vocabulary
        int[][] shapes = {{1, 1}, {5, 7}, {9, 1000}, {6, 50_257}};
        for (int[] s : shapes) {
            int n = s[0];
            int v = s[1];
            for (float eps : new float[] {0f, 0.1f}) {
                for (int ignore : new int[] {-1, -100}) {
                    String what = "crossEntropy " + Arrays.toString(s) + " eps=" + eps + " ignore=" + ignore;
                    // lse from a float Σ exp over V (gathered in double): ~1e-6 of the loss.
                    check(what + " forward", 71, 1e-6, 1e-6, (d, in) -> {
                        Tensor logits = in.random(-6, 6, n, v);
                        Tensor targets = in.ints(targets(in, n, v, ignore), n);
                        Tensor losses = in.random(-1, 1, n);
                        d.nn().crossEntropyForward(logits, targets, losses, eps, ignore);
                        return storages(d, losses);
                    });
                    for (boolean inPlace : new boolean[] {false, true}) {
                        // g·(p − q) with p good to a few ulp; p − q cancels where p ≈ q, so the tolerance is
                        // relative to g·p, bounded by |want| + g·q.
                        float g = 0.37f;
                        int[][] seen = new int[2][];
                        Tolerance tol = (k, i, w) -> {
                            int j = i - seen[1][0];
                            if (j < 0 || j >= n * v || seen[0][j / v] == ignore) {
                                return 0;
                            }
                            double q = eps / (double) v + (j % v == seen[0][j / v] ? 1 - (double) eps : 0);
                            return 1e-12 + 2e-6 * (Math.abs(w) + g * q);
                        };
                        check(what + " backward" + (inPlace ? " in place" : ""), 72, tol, (d, in) -> {
                            Tensor logits = in.random(-6, 6, n, v);
                            seen[0] = targets(in, n, v, ignore);
                            Tensor targets = in.ints(seen[0], n);
                            Tensor dlogits = inPlace ? logits : in.random(-1, 1, n, v);
                            seen[1] = new int[] {(int) dlogits.offset()};
                            d.nn().crossEntropyBackward(logits, targets, dlogits, eps, ignore, g);
                            return storages(d, dlogits);
                        });
                    }
                }
            }
        }
    }

    /** Targets with an ignored row every third row (the first row always counts). */
    private static int[] targets(Inputs in, int n, int v, int ignore) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = i % 3 == 2 ? ignore : in.nextInt(v);
        }
        return t;
    }

    // ---------------------------------------------------------------- pooling

    @Test
    void pooling() {
        int[][] shapes = {{1, 1, 1}, {3, 7, 13}, {2, 1, 5}, {4, 128, 768}};
        for (int[] s : shapes) {
            for (Pool kind : Pool.values()) {
                String what = "pool " + kind + " " + Arrays.toString(s);
                // A float sum over T of O(1) terms.
                check(what + " forward", 81, 1e-6, 1e-6, (d, in) -> {
                    Tensor x = in.random(-1, 1, s);
                    Tensor out = in.random(-1, 1, s[0], s[2]);
                    d.nn().poolForward(kind, x, out);
                    return storages(d, out);
                });
                check(what + " backward", 82, 1e-6, 1e-7, (d, in) -> {
                    Tensor dout = in.random(-1, 1, s[0], s[2]);
                    Tensor dx = in.random(-1, 1, s);
                    d.nn().poolBackward(kind, dout, dx);
                    return storages(d, dx);
                });
            }
        }
    }

    // ---------------------------------------------------------------- rope

    /**
     * RoPE is specified as float32 operations in a fixed order (two rounded products, one rounded sum),
     * so cpu must give the reference's bits: vector lanes and the scalar tail (half = 3, 10), in place
     * and apart, from pos0 &gt; 0, forward and transposed, above the parallel threshold.
     */
    @Test
    void ropeIsTheReferenceBitForBit() {
        // {B, T, W, headDim, P, pos0}
        int[][] shapes = {{1, 1, 2, 2, 1, 0}, {2, 7, 30, 6, 9, 2}, {2, 5, 40, 20, 8, 3}, {4, 64, 768, 64, 70, 3}};
        for (int[] s : shapes) {
            int b = s[0], t = s[1], w = s[2], hd = s[3], p = s[4], pos0 = s[5];
            for (boolean backward : new boolean[] {false, true}) {
                for (boolean inPlace : new boolean[] {false, true}) {
                    String what = "rope " + Arrays.toString(s) + (backward ? " backward" : " forward") + (inPlace ? " in place" : "");
                    check(what, 31, 0, 0, (d, in) -> {
                        Tensor x = in.random(-3, 3, b, t, w);
                        Tensor cos = in.random(-1, 1, p, hd / 2);
                        Tensor sin = in.random(-1, 1, p, hd / 2);
                        Tensor out = inPlace ? x : in.random(-1, 1, b, t, w);
                        if (backward) {
                            d.nn().ropeBackward(x, cos, sin, hd, pos0, out);
                        } else {
                            d.nn().ropeForward(x, cos, sin, hd, pos0, out);
                        }
                        return storages(d, out);
                    });
                }
            }
        }
    }

    @Test
    void registeredOnCpu() {
        NnOps nn = cpu.nn();
        assertTrue(nn instanceof CpuNnOps, "cpu's nn family is " + nn.getClass().getName());
    }
}
