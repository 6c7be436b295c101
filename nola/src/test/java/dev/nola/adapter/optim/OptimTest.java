package dev.nola.adapter.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.nola.adapter.TestDevices;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** AdamW, clipping and the schedules, on every device (the optimizer runs on the device). */
class OptimTest {

    /** A parameter of the given values with a gradient tensor, on d. */
    private static Parameter param(Device d, String name, float... values) {
        return new Parameter(name, d.upload(values, values.length), d.allocate(values.length));
    }

    @TestFactory
    Stream<DynamicTest> adamWStepsBySignWithBiasCorrectionAndDecouplesDecay() {
        return TestDevices.ids().stream().map(id -> dynamicTest(id, () -> {
            try (Device d = Backends.open(id)) {
                Parameter p = param(d, "p", 1f, -1f);
                ParameterSet set = new ParameterSet(d).add(p);
                try (AdamW opt = new AdamW(set, 0.9, 0.999, 1e-8, 0.0)) {
                    d.write(p.grad(), new float[] {0.5f, -2f});
                    long v0 = p.version();
                    opt.step(0.1);
                    assertArrayEquals(new float[] {0.9f, -0.9f}, d.read(p.value()), 1e-6f); // m̂/√v̂ = sign(g) at step 1
                    assertEquals(v0 + 1, p.version(), "a step bumps the parameter's version");
                    opt.step(0.1);
                    // constant gradient: sign(g) again, up to β1, β2 held as float32 (0.9f is not 0.9)
                    assertArrayEquals(new float[] {0.8f, -0.8f}, d.read(p.value()), 1e-5f);
                    assertEquals(2, opt.steps());
                }
                Parameter q = param(d, "q", 2f);
                try (AdamW decay = new AdamW(new ParameterSet(d).add(q), 0.9, 0.999, 1e-8, 0.1)) {
                    decay.step(0.5);
                    assertEquals(2f * (1 - 0.5f * 0.1f), d.read(q.value())[0], 1e-6f); // zero gradient: only decay
                }
            }
        }));
    }

    @TestFactory
    Stream<DynamicTest> clipsByGlobalNormOnTheDevice() {
        return TestDevices.ids().stream().map(id -> dynamicTest(id, () -> {
            try (Device d = Backends.open(id)) {
                Parameter a = param(d, "a", 0f);
                Parameter b = param(d, "b", 0f);
                d.write(a.grad(), new float[] {3f});
                d.write(b.grad(), new float[] {4f});
                ParameterSet set = new ParameterSet(d).add(a).add(b);
                try (GradientClipping clip = new GradientClipping(set, 1.0)) {
                    Tensor f = clip.clipFactor();
                    assertEquals(5.0, clip.norm(), 1e-6);
                    assertEquals(1.0 / (5.0 + 1e-6), d.read(f)[0], 1e-6);
                }
                try (GradientClipping loose = new GradientClipping(set, 10.0)) {
                    assertEquals(1f, d.read(loose.clipFactor())[0], "below the limit the factor is 1");
                    d.write(b.grad(), new float[] {Float.NaN});
                    assertTrue(Float.isNaN(d.read(loose.clipFactor())[0]), "a NaN gradient makes the factor NaN");
                    assertTrue(Double.isNaN(loose.norm()), "and the norm a guard reads");
                }
            }
        }));
    }

    @Test
    void badSettingsAreRejectedWithTheirNames() {
        try (Device d = Backends.open("reference")) {
            ParameterSet set = new ParameterSet(d).add(param(d, "p", 1f));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new AdamW(set, 1.0, 0.999, 1e-8, 0));
            assertTrue(e.getMessage().contains("beta1"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new GradientClipping(set, 0));
            assertTrue(e.getMessage().contains("maxNorm"), e.getMessage());
            try (AdamW opt = new AdamW(set, 0.9, 0.999, 1e-8, 0)) {
                e = assertThrows(IllegalArgumentException.class, () -> opt.step(Double.NaN));
                assertTrue(e.getMessage().contains("learningRate"), e.getMessage());
            }
        }
    }

    @Test
    void schedules() {
        LearningRateSchedule lin = LearningRateSchedule.linear(1.0, 10, 110);
        assertEquals(0.0, lin.at(0));
        assertEquals(0.5, lin.at(5), 1e-12);
        assertEquals(1.0, lin.at(10), 1e-12);
        assertEquals(0.5, lin.at(60), 1e-12);
        assertEquals(0.0, lin.at(110));
        LearningRateSchedule cos = LearningRateSchedule.cosine(1.0, 0.1, 0, 100);
        assertEquals(1.0, cos.at(0), 1e-12);
        assertEquals(0.55, cos.at(50), 1e-12);
        assertEquals(0.1, cos.at(100), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.linear(1.0, 10, 10));
    }
}
