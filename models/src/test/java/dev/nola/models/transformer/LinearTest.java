package dev.nola.models.transformer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.models.spec.Layout;
import dev.nola.models.spec.LinearSpec;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Linear} in both stored layouts, whole and as a slice of a fused weight, on the reference
 * device against plain host loops that read the stored weight by the layout's own indexing: Conv1D
 * [in, stored] (element (i, offset + o)), Linear [stored, in] (element (offset + o, i)). in ≠ out and
 * the slice not at 0, so a transposed read, a wrong leading dimension or an ignored offset each give
 * wrong numbers.
 */
class LinearTest {

    static final int N = 4;
    static final int IN = 3;
    static final int OUT = 2;
    /** The fused weight's output width: the layer is outputs [OFFSET, OFFSET + OUT) of it. */
    static final int STORED = 7;
    static final int OFFSET = 3;
    /**
     * The reference accumulates in double and stores float32: sums of 3 or 4 products of values ≤ 1
     * differ from the host's double by rounding to float32 alone (≈ 1e-7); 1e-5 is far below any wrong
     * term (≈ 0.1).
     */
    static final float TOL = 1e-5f;

    static Stream<Arguments> layers() {
        return Stream.of(
                Arguments.of(Layout.CONV1D, LinearSpec.whole("w", "b", Layout.CONV1D, IN, OUT, null, null)),
                Arguments.of(Layout.CONV1D, new LinearSpec("w", "b", Layout.CONV1D, IN, OUT, OFFSET, STORED, null, null)),
                Arguments.of(Layout.LINEAR, LinearSpec.whole("w", "b", Layout.LINEAR, IN, OUT, null, null)),
                Arguments.of(Layout.LINEAR, new LinearSpec("w", "b", Layout.LINEAR, IN, OUT, OFFSET, STORED, null, null)));
    }

    static float[] random(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (2 * r.nextDouble() - 1);
        }
        return v;
    }

    /** Where weight element (output o of this layer, input i) is stored. */
    static int at(LinearSpec s, int o, int i) {
        return s.layout() == Layout.CONV1D ? i * s.stored() + s.offset() + o : (s.offset() + o) * s.in() + i;
    }

    @ParameterizedTest
    @MethodSource("layers")
    void forwardAndBackwardMatchHostMath(Layout layout, LinearSpec s) {
        assertEquals(layout, s.layout());
        SplittableRandom r = new SplittableRandom(17);
        int[] shape = s.storedShape();
        float[] w = random(r, shape[0] * shape[1]);
        float[] b = random(r, s.stored());
        float[] x = random(r, N * IN);
        float[] dy = random(r, N * OUT);
        float[] dx0 = random(r, N * IN);
        float[] dw0 = random(r, w.length);
        float[] db0 = random(r, b.length);

        float[] y = new float[N * OUT];
        float[] dx = dx0.clone();
        float[] dw = dw0.clone();
        float[] db = db0.clone();
        for (int n = 0; n < N; n++) {
            for (int o = 0; o < OUT; o++) {
                double acc = b[s.offset() + o];
                for (int i = 0; i < IN; i++) {
                    acc += (double) x[n * IN + i] * w[at(s, o, i)];
                }
                y[n * OUT + o] = (float) acc;
            }
            for (int i = 0; i < IN; i++) {
                double acc = dx0[n * IN + i];
                for (int o = 0; o < OUT; o++) {
                    acc += (double) dy[n * OUT + o] * w[at(s, o, i)];
                }
                dx[n * IN + i] = (float) acc;
            }
        }
        for (int o = 0; o < OUT; o++) {
            double sb = db0[s.offset() + o];
            for (int n = 0; n < N; n++) {
                sb += dy[n * OUT + o];
            }
            db[s.offset() + o] = (float) sb;
            for (int i = 0; i < IN; i++) {
                double sw = dw0[at(s, o, i)];
                for (int n = 0; n < N; n++) {
                    sw += (double) dy[n * OUT + o] * x[n * IN + i];
                }
                dw[at(s, o, i)] = (float) sw;
            }
        }

        try (Device d = Backends.open("reference");
             Tensor tw = d.upload(w, shape);
             Tensor tb = d.upload(b, s.stored());
             Tensor tx = d.upload(x, N, IN);
             Tensor ty = d.allocate(N, OUT);
             Tensor tdy = d.upload(dy, N, OUT);
             Tensor tdx = d.upload(dx0, N, IN);
             Tensor tdw = d.upload(dw0, shape);
             Tensor tdb = d.upload(db0, s.stored())) {
            Linear l = new Linear(s, tw, tb);
            l.forward(d, tx, ty);
            assertArrayEquals(y, d.read(ty), TOL, "y = x·op(W) + b");
            l.backward(d, tx, tdy, tdx, tdw, tdb);
            assertArrayEquals(dx, d.read(tdx), TOL, "dx += dy·op(W)ᵀ");
            // the rest of the fused weight's and bias's gradient is left exactly as it was
            assertArrayEquals(dw, d.read(tdw), TOL, "dW += this layer's part only");
            assertArrayEquals(db, d.read(tdb), TOL, "db += Σ dy on this layer's part only");
            // frozen: no weight gradient asked for, dx still accumulated
            d.write(tdx, dx0);
            l.backward(d, tx, tdy, tdx, null, null);
            assertArrayEquals(dx, d.read(tdx), TOL, "dx with a frozen layer");
        }
    }

    @ParameterizedTest
    @MethodSource("layers")
    void addDeltaAddsIntoThisLayersPartInTheStoredLayout(Layout layout, LinearSpec s) {
        SplittableRandom r = new SplittableRandom(5);
        int[] shape = s.storedShape();
        float[] stored = random(r, shape[0] * shape[1]);
        float[] delta = random(r, OUT * IN); // nn.Linear's [out, in], as an adapter's ΔW
        float[] want = stored.clone();
        for (int o = 0; o < OUT; o++) {
            for (int i = 0; i < IN; i++) {
                want[at(s, o, i)] += delta[o * IN + i];
            }
        }
        float[] got = stored.clone();
        Linear.addDelta(s, got, delta);
        assertArrayEquals(want, got, 0f, layout + " at " + s.offset());
        assertThrows(IllegalArgumentException.class, () -> Linear.addDelta(s, stored.clone(), new float[IN * OUT + 1]));
    }
}
