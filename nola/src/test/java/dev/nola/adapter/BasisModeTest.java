package dev.nola.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;

/**
 * MATERIALIZED and ON_THE_FLY: identical mixed factors (bit for bit, as the contract makes mix and
 * mixGenerated identical) and equal coefficient gradients within 1e-5 of the largest one (two
 * summation orders of ≤ 1,000-term float sums); ON_THE_FLY never allocates a [k, r·in] buffer.
 */
class BasisModeTest {

    static final int IN = 48;
    static final int OUT = 40;
    static final int R = 4;
    static final int K = 64;
    static final int L = 32;

    @TestFactory
    Stream<DynamicNode> modesAgree() {
        List<DynamicNode> tests = new ArrayList<>();
        for (String id : TestDevices.ids()) {
            for (NolaConfig.InitScheme scheme : NolaConfig.InitScheme.values()) {
                tests.add(dynamicTest(id + " " + scheme, () -> compare(id, scheme)));
            }
        }
        return tests.stream();
    }

    static void compare(String id, NolaConfig.InitScheme scheme) {
        NolaConfig base = new NolaConfig(R, K, L, 8f, scheme, NolaConfig.BasisMode.MATERIALIZED, true, 5L,
                List.of("q"), NolaConfig.FLOAT_BITS, false);
        SplittableRandom rnd = new SplittableRandom(3);
        float[] p = AdapterGradientTest.uniform(rnd, K + L, 1.0);
        float[] x = AdapterGradientTest.uniform(rnd, 6 * IN, 1.0);
        float[] dy = AdapterGradientTest.uniform(rnd, 6 * OUT, 1.0);
        float[][] mat = run(id, base, p, x, dy, null);
        CountingDevice[] counted = new CountingDevice[1];
        float[][] fly = run(id, base.withBasisMode(NolaConfig.BasisMode.ON_THE_FLY), p, x, dy, counted);
        assertArrayEquals(mat[0], fly[0], "mixed A must be bit-identical");
        assertArrayEquals(mat[1], fly[1], "mixed B must be bit-identical");
        double gmax = 0;
        for (float v : mat[2]) {
            gmax = Math.max(gmax, Math.abs(v));
        }
        for (int i = 0; i < mat[2].length; i++) {
            assertEquals(mat[2][i], fly[2][i], 1e-5 * gmax, "gradient " + i);
        }
        long largest = counted[0].largestAllocation();
        assertTrue(largest < (long) L * OUT * R && largest < (long) K * R * IN,
                "ON_THE_FLY allocated " + largest + " elements at once; a basis would be " + (long) L * OUT * R);
        long bound = Math.max(Math.max((long) R * IN, (long) OUT * R), Math.max(6L * IN, 6L * OUT));
        assertTrue(largest <= bound, "largest ON_THE_FLY allocation " + largest + " exceeds the factors and activations ("
                + bound + ")");
    }

    /** Returns {A, B, gradients}; records allocations in counted[0] when counted is given. */
    static float[][] run(String id, NolaConfig c, float[] p, float[] x, float[] dyv, CountingDevice[] counted) {
        try (Device raw = Backends.open(id)) {
            CountingDevice d = new CountingDevice(raw);
            if (counted != null) {
                counted[0] = d;
            }
            try (NolaAdapter a = NolaAdapter.create(d, c, IN, OUT, 0, "q");
                 Tensor xt = d.upload(x, 6, IN); Tensor y = d.allocate(6, OUT); Tensor dy = d.upload(dyv, 6, OUT)) {
                a.setParameters(p);
                a.forward(xt, y);
                a.backward(dy, null);
                if (c.basisMode() == NolaConfig.BasisMode.MATERIALIZED) {
                    assertEquals((long) K * R * IN, d.largestAllocation(),
                            "MATERIALIZED holds the [k, r·in] basis (proves the counter sees it)");
                }
                return new float[][] {d.read(a.factorA()), d.read(a.factorB()), a.gradients()};
            }
        }
    }
}
