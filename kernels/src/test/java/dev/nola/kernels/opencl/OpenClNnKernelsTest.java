package dev.nola.kernels.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.AbstractDevice;
import dev.nola.kernels.Backends;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.NnOps;
import dev.nola.kernels.NnOps.Gelu;
import dev.nola.kernels.NnOps.Pool;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The nn family on the first OpenCL device in both kernel layouts (GPU: {@code ""}, CPU:
 * {@code -DCHUNKED}) against the reference, on random inputs: sizes 1, 7 and other odd sizes, T = 1,
 * every tensor a view at an odd offset into a larger buffer, causal and not, label smoothing and
 * ignored targets, in place where the contract allows it; and repeated runs bit-identical without
 * device allocations after the first.
 *
 * <p>Tolerances are |got − want| ≤ abs + rel·|want|, per op, with the reason beside each: the
 * reference sums and evaluates transcendentals in double, the kernels in float.
 */
class OpenClNnKernelsTest {

    private final OpenClBackend backend = new OpenClBackend();

    @BeforeEach
    void needsOpenCl() {
        Assumptions.assumeTrue(backend.availability().available(), () -> "opencl unavailable: " + backend.availability().reason());
    }

    /** The reference and the OpenCL device in one layout, with inputs placed on both as views at an offset. */
    private final class Pair implements AutoCloseable {
        final Device ref = Backends.open("reference");
        final OpenClDevice dev = (OpenClDevice) Backends.open(backend.devices().get(0).id());
        final SplittableRandom r;
        private int pad = 1;

        Pair(String layout, long seed) {
            dev.layoutOptions = layout;
            r = new SplittableRandom(seed);
        }

        /** The same floats on both devices, each a view at an odd offset (1, 3, 5, ...) into a larger buffer. */
        Tensor[] put(float[] data, int... shape) {
            pad = pad % 7 + 2;
            Tensor[] t = new Tensor[2];
            Device[] ds = {ref, dev};
            for (int i = 0; i < 2; i++) {
                Tensor whole = ds[i].allocate(data.length + pad + 3);
                ds[i].write(whole, pad, data, 0, data.length);
                t[i] = whole.view(pad, shape);
            }
            return t;
        }

        Tensor[] putInts(int[] data, int... shape) {
            pad = pad % 7 + 2;
            Tensor[] t = new Tensor[2];
            Device[] ds = {ref, dev};
            for (int i = 0; i < 2; i++) {
                Tensor whole = ds[i].allocate(DType.INT32, data.length + pad + 3);
                ds[i].write(whole, pad, data, 0, data.length);
                t[i] = whole.view(pad, shape);
            }
            return t;
        }

        /** Uniform floats in [-scale, scale) + shift. */
        float[] random(int n, double scale, double shift) {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) {
                a[i] = (float) ((r.nextDouble() * 2 - 1) * scale + shift);
            }
            return a;
        }

        Tensor[] tensor(double scale, int... shape) {
            int n = 1;
            for (int s : shape) {
                n *= s;
            }
            return put(random(n, scale, 0), shape);
        }

        int[] ints(int n, int bound) {
            int[] a = new int[n];
            for (int i = 0; i < n; i++) {
                a[i] = r.nextInt(bound);
            }
            return a;
        }

        void run(Op op, Tensor[]... ts) {
            op.on(ref.nn(), pick(ts, 0));
            op.on(dev.nn(), pick(ts, 1));
        }

        private static Tensor[] pick(Tensor[][] ts, int i) {
            Tensor[] t = new Tensor[ts.length];
            for (int j = 0; j < ts.length; j++) {
                t[j] = ts[j] == null ? null : ts[j][i];
            }
            return t;
        }

        void check(String what, Tensor[] t, double abs, double rel) {
            float[] want = ref.read(t[0]);
            float[] got = dev.read(t[1]);
            assertEquals(want.length, got.length, what + ": length");
            for (int i = 0; i < want.length; i++) {
                double err = Math.abs((double) got[i] - want[i]);
                boolean ok = err <= abs + rel * Math.abs(want[i]) || Float.floatToRawIntBits(got[i]) == Float.floatToRawIntBits(want[i]);
                if (!ok) {
                    throw new AssertionError(what + " [" + dev.layoutOptions + "] element " + i + " of " + want.length + ": got "
                            + got[i] + ", want " + want[i] + " (error " + err + " > " + abs + " + " + rel + "·|want|)");
                }
            }
        }

        /** Bit-identical to the reference (the kernel does the reference's float operations in its order). */
        void exact(String what, Tensor[] t) {
            check(what, t, 0, 0);
        }

        @Override
        public void close() {
            dev.close();
            ref.close();
        }
    }

    private interface Op {
        void on(NnOps nn, Tensor... t);
    }

    // ---------------------------------------------------------------- encoder

    @ParameterizedTest
    @ValueSource(strings = {"-DCHUNKED", ""})
    void encoderAddsRepeatedIdsInTokenOrder(String layout) {
        // {B, T, C, V}: one token; repeats (V < B·T); C of 1, 7, an 8-block and a tail, several blocks
        int[][] shapes = {{1, 1, 1, 1}, {2, 7, 7, 3}, {3, 5, 13, 4}, {2, 9, 70, 50}, {4, 1, 33, 2}};
        try (Pair p = new Pair(layout, 31)) {
            for (int[] s : shapes) {
                int b = s[0], t = s[1], c = s[2], v = s[3];
                int n = b * t;
                String at = " B=" + b + " T=" + t + " C=" + c + " V=" + v;
                Tensor[] ids = p.putInts(p.ints(n, v), n);
                Tensor[] wte = p.tensor(1, v, c);
                Tensor[] wpe = p.tensor(1, t + 2, c);
                Tensor[] out = p.tensor(1, n, c);
                p.run((nn, x) -> nn.encoderForward(x[0], x[1], x[2], x[3], t), ids, wte, wpe, out);
                p.exact("encoderForward" + at, out); // one float add per element, as the reference
                p.run((nn, x) -> nn.encoderForward(x[0], x[1], null, x[2], t), ids, wte, out);
                p.exact("encoderForward without wpe" + at, out);
                p.run((nn, x) -> nn.encoderForward(x[0], null, x[1], x[2], t), ids, wpe, out);
                p.exact("encoderForward without wte" + at, out);
                Tensor[] dout = p.tensor(1, n, c);
                p.run((nn, x) -> nn.encoderBackward(x[0], x[1], x[2], x[3], t), ids, dout, wte, wpe);
                // float adds onto the existing gradient in ascending token order: the reference's order
                p.exact("encoderBackward dwte" + at, wte);
                p.exact("encoderBackward dwpe" + at, wpe);
                p.run((nn, x) -> nn.encoderBackward(x[0], x[1], x[2], null, t), ids, dout, wte);
                p.exact("encoderBackward dwte only" + at, wte);
                p.run((nn, x) -> nn.encoderBackward(x[0], x[1], null, x[2], t), ids, dout, wpe);
                p.exact("encoderBackward dwpe only" + at, wpe);
            }
        }
    }

    // ---------------------------------------------------------------- layernorm

    @ParameterizedTest
    @ValueSource(strings = {"-DCHUNKED", ""})
    void layerNormMatchesTheReference(String layout) {
        int[][] shapes = {{1, 1}, {7, 7}, {5, 13}, {3, 768}, {130, 33}, {1, 1001}};
        try (Pair p = new Pair(layout, 32)) {
            for (int[] s : shapes) {
                int n = s[0], c = s[1];
                String at = " N=" + n + " C=" + c;
                Tensor[] x = p.put(p.random(n * c, 2, 0.5), n, c);
                Tensor[] w = p.put(p.random(c, 1, 1), c);
                Tensor[] b = p.tensor(1, c);
                Tensor[] out = p.tensor(1, n, c);
                Tensor[] mean = p.tensor(1, n);
                Tensor[] rstd = p.tensor(1, n);
                p.run((nn, a) -> nn.layerNormForward(a[0], a[1], a[2], 1e-5f, a[3], a[4], a[5]), x, w, b, out, mean, rstd);
                // float sums of C terms (8 lanes or a tree) against double: a few ulps of the row's scale
                p.check("layerNormForward out" + at, out, 1e-5, 1e-5);
                p.check("layerNormForward mean" + at, mean, 1e-6, 1e-5);
                p.check("layerNormForward rstd" + at, rstd, 1e-6, 1e-5);
                Tensor[] dout = p.tensor(1, n, c);
                Tensor[] dx = p.tensor(1, n, c);
                Tensor[] dw = p.tensor(1, c);
                Tensor[] db = p.tensor(1, c);
                p.run((nn, a) -> nn.layerNormBackward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]),
                        dout, x, w, mean, rstd, dx, dw, db);
                // dx: two float row sums (C terms) times rstd (up to 1/√eps for C = 1, where dnorm − mean = 0)
                p.check("layerNormBackward dx" + at, dx, 2e-5, 2e-5);
                // column sums over N rows in chunks; the reference adds rows in float too, in one chain
                p.check("layerNormBackward dweight" + at, dw, 1e-5 * n, 1e-5);
                p.check("layerNormBackward dbias" + at, db, 1e-5 * n, 1e-5);
                p.run((nn, a) -> nn.layerNormBackward(a[0], a[1], a[2], a[3], a[4], a[5], null, a[6]),
                        dout, x, w, mean, rstd, dx, db);
                p.check("layerNormBackward dx (dbias only)" + at, dx, 4e-5, 4e-5);
                p.check("layerNormBackward dbias only" + at, db, 2e-5 * n, 1e-5);
                p.run((nn, a) -> nn.layerNormBackward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], null),
                        dout, x, w, mean, rstd, dx, dw);
                p.check("layerNormBackward dweight only" + at, dw, 2e-5 * n, 1e-5);
            }
        }
    }

    // ---------------------------------------------------------------- element-wise

    @ParameterizedTest
    @ValueSource(strings = {"-DCHUNKED", ""})
    void elementwiseOpsMatchTheReference(String layout) {
        try (Pair p = new Pair(layout, 33)) {
            for (int n : new int[] {1, 7, 8, 9, 1000, 40_003}) {
                for (Gelu kind : Gelu.values()) {
                    String at = " " + kind + " n=" + n;
                    float[] xs = p.random(n, 6, 0);
                    Tensor[] x = p.put(xs, n);
                    Tensor[] out = p.tensor(1, n);
                    p.run((nn, a) -> nn.geluForward(kind, a[0], a[1]), x, out);
                    // float tanh/erf (a few ulps of 1) times 0.5·x, against double
                    p.check("geluForward" + at, out, 1e-6 * 6, 1e-5);
                    Tensor[] dout = p.tensor(1, n);
                    Tensor[] dx = p.tensor(1, n);
                    p.run((nn, a) -> nn.geluBackward(kind, a[0], a[1], a[2]), x, dout, dx);
                    // gelu'(x) ≤ 1.13 from float tanh/erf/exp, times dout ≤ 1, added to dx ≤ 1
                    p.check("geluBackward" + at, dx, 2e-6 * 6, 1e-5);
                    p.run((nn, a) -> nn.geluForward(kind, a[0], a[0]), x);
                    p.check("geluForward in place" + at, x, 1e-6 * 6, 1e-5);
                }
                Tensor[] a = p.tensor(1, n);
                Tensor[] b = p.tensor(1, n);
                Tensor[] out = p.tensor(1, n);
                p.run((nn, t) -> nn.residualForward(t[0], t[1], t[2]), a, b, out);
                p.exact("residualForward n=" + n, out);
                p.run((nn, t) -> nn.residualForward(t[0], t[1], t[0]), a, b);
                p.exact("residualForward in place n=" + n, a);
            }
            for (int[] s : new int[][] {{1, 1}, {7, 7}, {5, 13}, {9, 768}, {300, 17}}) {
                int n = s[0], c = s[1];
                String at = " N=" + n + " C=" + c;
                Tensor[] x = p.tensor(1, n, c);
                Tensor[] bias = p.tensor(1, c);
                p.run((nn, t) -> nn.biasForward(t[0], t[1]), x, bias);
                p.exact("biasForward" + at, x);
                p.run((nn, t) -> nn.biasBackward(t[0], t[1]), x, bias);
                // float column sums in 64 chunks, against a double sum
                p.check("biasBackward" + at, bias, 1e-6 * n, 1e-6);
            }
        }
    }

    // ---------------------------------------------------------------- softmax and attention

    @ParameterizedTest
    @ValueSource(strings = {"-DCHUNKED", ""})
    void softmaxMatchesTheReference(String layout) {
        int[][] shapes = {{1, 1}, {7, 7}, {2, 3, 5, 5}, {6, 130}, {4, 1000}, {2, 17, 17}};
        try (Pair p = new Pair(layout, 34)) {
            for (int[] s : shapes) {
                int size = 1;
                for (int e : s) {
                    size *= e;
                }
                for (boolean causal : new boolean[] {false, true}) {
                    for (float scale : new float[] {0.125f, -0.5f, 3f}) {
                        String at = " " + java.util.Arrays.toString(s) + " causal=" + causal + " scale=" + scale;
                        Tensor[] x = p.put(p.random(size, 4, 0), s);
                        Tensor[] y = p.tensor(1, s);
                        p.run((nn, t) -> nn.softmaxForward(t[0], t[1], scale, causal), x, y);
                        // float exp (a few ulps) and a float sum of L terms, against double
                        p.check("softmaxForward" + at, y, 1e-7, 1e-5);
                        p.run((nn, t) -> nn.softmaxForward(t[0], t[0], scale, causal), x);
                        p.check("softmaxForward in place" + at, x, 1e-7, 1e-5);
                        Tensor[] dy = p.tensor(1, s);
                        Tensor[] dx = p.tensor(1, s);
                        p.run((nn, t) -> nn.softmaxBackward(t[0], t[1], t[2], scale), y, dy, dx);
                        // a float dot of L terms ≤ 1 in size, times |s| ≤ 3
                        p.check("softmaxBackward" + at, dx, 1e-6, 1e-5);
                        p.run((nn, t) -> nn.softmaxBackward(t[0], t[1], t[1], scale), y, dy);
                        p.check("softmaxBackward in place" + at, dy, 1e-6, 1e-5);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"-DCHUNKED", ""})
    void attentionMatchesTheReference(String layout) {
        // {B, T, C, NH}: T = 1, one head, head sizes 1, 3 and 8
        int[][] shapes = {{1, 1, 8, 2}, {2, 5, 12, 3}, {2, 7, 6, 1}, {1, 33, 24, 3}, {3, 4, 5, 5}};
        try (Pair p = new Pair(layout, 35)) {
            for (int[] s : shapes) {
                int b = s[0], t = s[1], c = s[2], nh = s[3];
                for (boolean causal : new boolean[] {true, false}) {
                    String at = " B=" + b + " T=" + t + " C=" + c + " NH=" + nh + " causal=" + causal;
                    // q, k, v: the three views of one planar [3, B, T, C] tensor, as the models hold them
                    long btc = (long) b * t * c;
                    Tensor[] qkv = p.tensor(1, 3, b, t, c);
                    Tensor[] lse = p.tensor(1, b, nh, t);
                    Tensor[] out = p.tensor(1, b, t, c);
                    p.run((nn, x) -> nn.fusedAttentionForward(x[0].view(0, b, t, c), x[0].view(btc, b, t, c),
                            x[0].view(2 * btc, b, t, c), x[2], x[1], causal), qkv, lse, out);
                    // float sums of hs or T products in the online softmax
                    p.check("fusedAttentionForward lse" + at, lse, 1e-6, 1e-5);
                    p.check("fusedAttentionForward out" + at, out, 1e-5, 1e-5);
                    Tensor[] dout = p.tensor(1, b, t, c);
                    Tensor[] dqkv = p.tensor(1, 3, b, t, c);
                    p.run((nn, x) -> nn.fusedAttentionBackward(x[0], x[1].view(0, b, t, c), x[1].view(btc, b, t, c),
                            x[1].view(2 * btc, b, t, c), x[3], x[2], x[4].view(0, b, t, c), x[4].view(btc, b, t, c),
                            x[4].view(2 * btc, b, t, c), causal), dout, qkv, lse, out, dqkv);
                    p.check("fusedAttentionBackward dqkv" + at, dqkv, 2e-5, 1e-5);
                }
            }
        }
    }

    // ---------------------------------------------------------------- rope

    /**
     * RoPE is specified as float32 operations in a fixed order (two rounded products, one rounded sum;
     * the file has FP_CONTRACT OFF), so both layouts give the reference's bits: float8 blocks and the
     * tail (half = 3, 10), in place and apart, from pos0 &gt; 0, forward and transposed.
     */
    @ParameterizedTest
    @ValueSource(strings = {"-DCHUNKED", ""})
    void ropeIsTheReferenceBitForBit(String layout) {
        // {B, T, W, headDim, P, pos0}
        int[][] shapes = {{1, 1, 2, 2, 1, 0}, {2, 7, 30, 6, 9, 2}, {2, 5, 40, 20, 8, 3}, {4, 16, 256, 64, 20, 3}};
        try (Pair p = new Pair(layout, 38)) {
            for (int[] s : shapes) {
                int b = s[0], t = s[1], w = s[2], hd = s[3], pos = s[4], pos0 = s[5];
                Tensor[] cos = p.tensor(1, pos, hd / 2);
                Tensor[] sin = p.tensor(1, pos, hd / 2);
                for (boolean backward : new boolean[] {false, true}) {
                    String at = " " + java.util.Arrays.toString(s) + (backward ? " backward" : " forward");
                    Tensor[] x = p.tensor(3, b, t, w);
                    Tensor[] out = p.tensor(1, b, t, w);
                    Op op = backward ? (nn, y) -> nn.ropeBackward(y[0], y[1], y[2], hd, pos0, y[3])
                            : (nn, y) -> nn.ropeForward(y[0], y[1], y[2], hd, pos0, y[3]);
                    p.run(op, x, cos, sin, out);
                    p.exact("rope" + at, out);
                    p.run(op, x, cos, sin, x);
                    p.exact("rope in place" + at, x);
                }
            }
        }
    }

    // ---------------------------------------------------------------- cross-entropy

    @ParameterizedTest
    @ValueSource(strings = {"-DCHUNKED", ""})
    void crossEntropyMatchesTheReference(String layout) {
        // {N, V}: V = 1 (loss 0), 7, a tail past the 8-blocks, GPT-2's vocabulary
        int[][] shapes = {{1, 1}, {5, 7}, {7, 1001}, {3, 50_257}};
        try (Pair p = new Pair(layout, 36)) {
            for (int[] s : shapes) {
                int n = s[0], v = s[1];
                for (int ignore : new int[] {-1, -100, v}) {
                    for (float eps : new float[] {0f, 0.1f}) {
                        String at = " N=" + n + " V=" + v + " ignore=" + ignore + " eps=" + eps;
                        int[] targets = p.ints(n, v);
                        if (n > 1) {
                            targets[n / 2] = ignore;
                        }
                        targets[n - 1] = v - 1; // the last column, in the tail of the 8-blocks
                        Tensor[] tg = p.putInts(targets, n);
                        Tensor[] logits = p.put(p.random(n * v, 8, 1), n, v);
                        Tensor[] losses = p.tensor(1, n);
                        p.run((nn, x) -> nn.crossEntropyForward(x[0], x[1], x[2], eps, ignore), logits, tg, losses);
                        // log Σ exp over V terms in float (≈ 11 for V = 50,257), against double
                        p.check("crossEntropyForward" + at, losses, 1e-5, 2e-6);
                        Tensor[] dlogits = p.tensor(1, n, v);
                        float g = 1f / n;
                        p.run((nn, x) -> nn.crossEntropyBackward(x[0], x[1], x[2], eps, ignore, g), logits, tg, dlogits);
                        // g·(p − q): p from float exp and a float sum of V terms (relative), q exact
                        p.check("crossEntropyBackward" + at, dlogits, 1e-7, 2e-5);
                        p.run((nn, x) -> nn.crossEntropyBackward(x[0], x[1], x[0], eps, ignore, g), logits, tg);
                        p.check("crossEntropyBackward in place" + at, logits, 1e-7, 2e-5);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- pooling

    @ParameterizedTest
    @ValueSource(strings = {"-DCHUNKED", ""})
    void poolingMatchesTheReference(String layout) {
        int[][] shapes = {{1, 1, 1}, {2, 5, 7}, {3, 4, 20}, {2, 197, 33}};
        try (Pair p = new Pair(layout, 37)) {
            for (int[] s : shapes) {
                int b = s[0], t = s[1], c = s[2];
                for (Pool kind : Pool.values()) {
                    String at = " " + kind + " B=" + b + " T=" + t + " C=" + c;
                    Tensor[] x = p.tensor(1, b, t, c);
                    Tensor[] out = p.tensor(1, b, c);
                    p.run((nn, a) -> nn.poolForward(kind, a[0], a[1]), x, out);
                    // a float sum of T terms ≤ 1, against double
                    p.check("poolForward" + at, out, 1e-7 * t, 1e-6);
                    Tensor[] dout = p.tensor(1, b, c);
                    p.run((nn, a) -> nn.poolBackward(kind, a[0], a[1]), dout, x);
                    // dout / T then one add: the division may be 2.5 ulp off on a GPU without correctly rounded division
                    p.check("poolBackward" + at, x, 1e-7, 1e-6);
                }
            }
        }
    }

    // ---------------------------------------------------------------- determinism

    /**
     * A GPT-2-like step at small shapes, twice on fresh buffers: every output bit-identical between
     * runs, and the second run allocates nothing on the device (scratch lives in the workspace).
     */
    @ParameterizedTest
    @ValueSource(strings = {"-DCHUNKED", ""})
    void repeatedRunsAreBitIdenticalAndAllocateNothing(String layout) {
        int b = 3, t = 11, c = 40, nh = 4, v = 301;
        int n = b * t;
        try (Pair p = new Pair(layout, 38)) {
            int[] ids = p.ints(n, 9); // many repeats
            float[] x0 = p.random(n * c, 1, 0);
            float[] qkv0 = p.random(n * 3 * c, 1, 0);
            float[] logits0 = p.random(n * v, 4, 0);
            float[] g0 = p.random(n * c, 1, 0);
            float[] w0 = p.random(c, 1, 1);
            int[] targets0 = p.ints(n, v);
            OpenClDevice d = p.dev;
            List<float[]> first = null;
            long allocations = 0;
            for (int run = 0; run < 3; run++) {
                Tensor idt = d.upload(ids, n);
                Tensor wte = d.allocate(9, c);
                Tensor wpe = d.allocate(t, c);
                Tensor x = d.upload(x0, n, c);
                Tensor g = d.upload(g0, n, c);
                Tensor mean = d.allocate(n);
                Tensor rstd = d.allocate(n);
                Tensor ln = d.allocate(n, c);
                Tensor dx = d.allocate(n, c);
                Tensor dw = d.allocate(c);
                Tensor db = d.allocate(c);
                Tensor w = d.upload(w0, c);
                Tensor qkv = d.upload(qkv0, 3, b, t, c);
                Tensor lse = d.allocate(b, nh, t);
                Tensor dqkv = d.allocate(3, b, t, c);
                Tensor out = d.allocate(b, t, c);
                Tensor logits = d.upload(logits0, n, v);
                Tensor losses = d.allocate(n);
                Tensor targets = d.upload(targets0, n);
                Tensor pooled = d.allocate(b, c);
                long before = d.allocations();
                NnOps nn = d.nn();
                nn.encoderBackward(idt, g, wte, wpe, t);
                nn.layerNormForward(x, w, db, 1e-5f, ln, mean, rstd);
                nn.layerNormBackward(g, x, w, mean, rstd, dx, dw, db);
                nn.biasBackward(g, dw);
                long btc = (long) b * t * c;
                nn.fusedAttentionForward(qkv.view(0, b, t, c), qkv.view(btc, b, t, c), qkv.view(2 * btc, b, t, c), out, lse,
                        true);
                nn.fusedAttentionBackward(g.reshape(b, t, c), qkv.view(0, b, t, c), qkv.view(btc, b, t, c),
                        qkv.view(2 * btc, b, t, c), out, lse, dqkv.view(0, b, t, c), dqkv.view(btc, b, t, c),
                        dqkv.view(2 * btc, b, t, c), true);
                nn.crossEntropyForward(logits, targets, losses, 0.1f, -1);
                nn.crossEntropyBackward(logits, targets, logits, 0.1f, -1, 1f / n);
                nn.poolForward(Pool.MEAN, x.reshape(b, t, c), pooled);
                if (run == 2) {
                    assertEquals(0, d.allocations() - before, "device allocations in a repeated run");
                }
                List<float[]> results = new ArrayList<>();
                for (Tensor r : new Tensor[] {wte, wpe, ln, mean, rstd, dx, dw, db, lse, out, dqkv, losses, logits, pooled}) {
                    results.add(d.read(r));
                }
                if (first == null) {
                    first = results;
                } else {
                    for (int i = 0; i < results.size(); i++) {
                        float[] a = first.get(i);
                        float[] bb = results.get(i);
                        for (int e = 0; e < a.length; e++) {
                            assertEquals(Float.floatToRawIntBits(a[e]), Float.floatToRawIntBits(bb[e]),
                                    "run " + run + " output " + i + " element " + e);
                        }
                    }
                }
                for (Tensor r : new Tensor[] {idt, wte, wpe, x, g, mean, rstd, ln, dx, dw, db, w, qkv, lse, dqkv, out,
                        logits, losses, targets, pooled}) {
                    r.close();
                }
                allocations = ((AbstractDevice) d).allocations();
            }
            assertTrue(allocations > 0);
        }
    }
}
