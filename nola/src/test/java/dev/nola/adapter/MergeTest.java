package dev.nola.adapter;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;

/**
 * Merge then a plain forward equals base forward + adapter forward, and unmerge restores the base
 * weight. Tolerances: the two forwards sum the same products in different groupings, so they agree
 * within 1e-5 of the largest output (in = 32 terms of magnitude ≤ ~1); unmerge is exact up to one
 * rounding of W + ΔW, i.e. ≤ 2 ulp of max(|W|, |ΔW|) ≈ 1e-6 here, checked at 1e-6 absolute.
 */
class MergeTest {

    static final int IN = 32;
    static final int OUT = 24;
    static final int N = 5;

    @TestFactory
    Stream<DynamicNode> mergeAndUnmerge() {
        List<DynamicNode> tests = new ArrayList<>();
        NolaConfig c = NolaConfig.offset(4, 20, 16, 8f, 11L, List.of("q"));
        for (String id : TestDevices.ids()) {
            tests.add(dynamicTest(id + " NOLA", () -> check(id, d -> NolaAdapter.create(d, c, IN, OUT, 0, "q"))));
            tests.add(dynamicTest(id + " LoRA", () -> check(id, d -> new LoraAdapter(d, IN, OUT, 4, 8f, 11L, 0))));
        }
        return tests.stream();
    }

    static void check(String id, Function<Device, Adapter> make) {
        SplittableRandom rnd = new SplittableRandom(8);
        float[] w = AdapterGradientTest.uniform(rnd, OUT * IN, 0.5);
        float[] x = AdapterGradientTest.uniform(rnd, N * IN, 1.0);
        try (Device d = Backends.open(id); Adapter a = make.apply(d);
             Tensor wt = d.upload(w, OUT, IN); Tensor xt = d.upload(x, N, IN);
             Tensor y1 = d.allocate(N, OUT); Tensor y2 = d.allocate(N, OUT)) {
            a.setParameters(AdapterGradientTest.uniform(rnd, a.parameterCount(), 0.5));
            d.linalg().matmul(false, true, 1f, xt, wt, 0f, y1);
            a.forward(xt, y1);
            a.merge(wt);
            d.linalg().matmul(false, true, 1f, xt, wt, 0f, y2);
            float[] e = d.read(y1);
            float[] m = d.read(y2);
            double ymax = 0;
            for (float v : e) {
                ymax = Math.max(ymax, Math.abs(v));
            }
            double deltaMax = 0;
            try (Tensor dw = a.deltaWeight()) {
                for (float v : d.read(dw)) {
                    deltaMax = Math.max(deltaMax, Math.abs(v));
                }
            }
            assertTrue(deltaMax > 1e-2, "ΔW is ~0 (" + deltaMax + "); the test would prove nothing");
            for (int i = 0; i < e.length; i++) {
                assertTrue(Math.abs(e[i] - m[i]) <= 1e-5 * ymax, "merged forward " + m[i] + " vs adapter forward " + e[i]);
            }
            a.unmerge(wt);
            float[] back = d.read(wt);
            for (int i = 0; i < w.length; i++) {
                assertTrue(Math.abs(back[i] - w[i]) <= 1e-6, "unmerged w[" + i + "] = " + back[i] + ", was " + w[i]);
            }
        }
    }
}
