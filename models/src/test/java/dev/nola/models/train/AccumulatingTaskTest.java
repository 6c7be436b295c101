package dev.nola.models.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Gradient accumulation: the step's gradient is the rank-ordered float sum of its micro-batches', times 1/n. */
class AccumulatingTaskTest {

    /** Every gradient of the trainable parameters, in order, read from the device. */
    private static float[] gradients(TrainerTest.Setup s) {
        return s.m.trainable().list().stream().map(p -> s.d.read(p.grad()))
                .reduce(new float[0], (a, b) -> {
                    float[] c = Arrays.copyOf(a, a.length + b.length);
                    System.arraycopy(b, 0, c, a.length, b.length);
                    return c;
                });
    }

    @Test
    void aStepsGradientIsTheMeanOfItsMicroBatchesSummedInRankOrder() {
        int n = 3;
        long step = 2;
        try (TrainerTest.Setup s = new TrainerTest.Setup(TrainerTest.DEVICE)) {
            float[][] g = new float[n][];
            double[] loss = new double[n];
            for (int r = 0; r < n; r++) {
                loss[r] = s.task.step(AccumulatingTask.microBatch(step, n, r));
                g[r] = gradients(s);
            }
            // (g0 + g1) + g2, then one multiply by the float 1/3: the order and the operations the class promises
            float[] expected = new float[g[0].length];
            for (int j = 0; j < expected.length; j++) {
                expected[j] = (g[0][j] + g[1][j] + g[2][j]) * (1f / n);
            }
            assertFalse(Arrays.equals(g[0], g[1]), "the micro-batches differ, so the sum is tested");
            try (AccumulatingTask acc = AccumulatingTask.local(s.task, n)) {
                assertEquals((loss[0] + loss[1] + loss[2]) / n, acc.step(step));
                assertArrayEquals(expected, gradients(s));
                assertEquals(n * s.task.itemsPerStep(), acc.itemsPerStep());
            }
        }
    }

    @Test
    void microBatchesAreTheInnerBatchesOfStepTimesNPlusRank() {
        assertEquals(0, AccumulatingTask.microBatch(0, 4, 0));
        assertEquals(4 * 7 + 3, AccumulatingTask.microBatch(7, 4, 3));
        assertThrows(ArithmeticException.class, () -> AccumulatingTask.microBatch(Long.MAX_VALUE / 2, 4, 0));
    }

    @Test
    void aSourceThatSkipsOrReordersRanksIsRefused() {
        try (TrainerTest.Setup s = new TrainerTest.Setup(TrainerTest.DEVICE);
             AccumulatingTask reordered = new AccumulatingTask(s.task, 2, (step, n, ranks) -> ranks.add(1, 0));
             AccumulatingTask short1 = new AccumulatingTask(s.task, 2, (step, n, ranks) -> ranks.add(0, 0))) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> reordered.step(0));
            assertTrue(e.getMessage().contains("rank 1 added out of order"), e.getMessage());
            e = assertThrows(IllegalStateException.class, () -> short1.step(0));
            assertTrue(e.getMessage().contains("got 1 of 2"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new AccumulatingTask(s.task, 0, (step, n, ranks) -> { }));
        }
    }

    @Test
    void trainingWithAccumulationIsDeterministicAndUnlikeOneMicroBatch() {
        float[][] runs = new float[3][];
        for (int i = 0; i < 3; i++) {
            try (TrainerTest.Setup s = new TrainerTest.Setup(TrainerTest.DEVICE);
                 AccumulatingTask acc = AccumulatingTask.local(s.task, i < 2 ? 2 : 1)) {
                Trainer.run(acc, TrainerTest.settings(4, 0), null, false, null);
                runs[i] = s.coefficients();
            }
        }
        assertArrayEquals(runs[0], runs[1]);
        assertFalse(Arrays.equals(runs[0], runs[2]));
    }
}
