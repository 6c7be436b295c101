package dev.nola.adapter.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class OptimTest {

    @Test
    void adamWStepsBySignWithBiasCorrectionAndDecouplesDecay() {
        AdamW opt = new AdamW(2, 0.9, 0.999, 1e-8, 0.0);
        float[] p = {1f, -1f};
        opt.step(p, new float[] {0.5f, -2f}, 0.1);
        assertArrayEquals(new float[] {0.9f, -0.9f}, p, 1e-6f); // m̂/√v̂ = sign(g) at step 1
        opt.step(p, new float[] {0.5f, -2f}, 0.1);
        assertArrayEquals(new float[] {0.8f, -0.8f}, p, 1e-6f); // and with a constant gradient afterwards
        AdamW decay = new AdamW(1, 0.9, 0.999, 1e-8, 0.1);
        float[] q = {2f};
        decay.step(q, new float[] {0f}, 0.5);
        assertEquals(2f * (1 - 0.5f * 0.1f), q[0], 1e-6f); // zero gradient: only the decoupled decay acts
        assertThrows(IllegalArgumentException.class, () -> opt.step(p, new float[] {Float.NaN, 0f}, 0.1));
        assertArrayEquals(new float[] {0.8f, -0.8f}, p, 1e-6f, "a rejected step changes nothing");
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

    @Test
    void clipsByGlobalNorm() {
        float[] a = {3f};
        float[] b = {4f};
        assertEquals(5.0, GradientClipping.clip(1.0, a, b), 1e-12);
        assertArrayEquals(new float[] {0.6f}, a, 1e-6f);
        assertArrayEquals(new float[] {0.8f}, b, 1e-6f);
        assertEquals(1.0, GradientClipping.clip(2.0, a, b), 1e-6);
        assertArrayEquals(new float[] {0.6f}, a, 1e-6f, "below the limit nothing changes");
    }
}
