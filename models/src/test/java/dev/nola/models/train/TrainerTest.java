package dev.nola.models.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.optim.Parameter;
import dev.nola.adapter.optim.ParameterSet;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.models.gpt2.Gpt2Config;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.lm.CausalLmTask;
import dev.nola.models.text.TokenWindows;
import dev.nola.models.transformer.DeviceWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trainer on a tiny GPT-2 with NOLA on q and v: learning, exact resume, the non-finite guard. */
class TrainerTest {

    static final String DEVICE = "cpu";
    static final Gpt2Config TINY = new Gpt2Config(8, 2, 2, 8, 23, 1e-5f, "gelu_new");
    static final NolaConfig NOLA = NolaConfig.offset(2, 16, 16, 16f, 5L, List.of("q", "v"));

    @TempDir
    Path tmp;

    /** A learnable sequence: token i+1 follows token i (mod V), with a seeded start per window. */
    static TokenWindows windows(int n, int t, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] in = new int[n * t];
        int[] out = new int[n * t];
        for (int w = 0; w < n; w++) {
            int x = r.nextInt(TINY.vocabularySize());
            for (int j = 0; j < t; j++) {
                in[w * t + j] = x;
                x = (x + 1) % TINY.vocabularySize();
                out[w * t + j] = x;
            }
        }
        return TokenWindows.of(in, out, t);
    }

    /** A model on fixed random weights with NOLA on q and v, and its task. */
    static final class Setup implements AutoCloseable {
        final Device d;
        final DeviceWeights w;
        final CausalLm m;
        final CausalLmTask task;

        Setup(String device) {
            d = Backends.open(device);
            w = CausalLm.randomWeights(d, TINY.spec(), 11);
            // layer by layer, q then v: the order the adapters' parameters have always been listed in
            Map<String, Adapter> a = new LinkedHashMap<>();
            int c = TINY.embeddingSize();
            for (int i = 0; i < TINY.layers(); i++) {
                a.put("h." + i + ".attn.q", NolaAdapter.create(d, NOLA, c, c, i, "q"));
                a.put("h." + i + ".attn.v", NolaAdapter.create(d, NOLA, c, c, i, "v"));
            }
            m = new CausalLm(d, TINY.spec(), w, false, a);
            task = new CausalLmTask(m, windows(16, 6, 1), windows(4, 6, 2), 4, 9);
        }

        float[] coefficients() {
            ParameterSet p = m.trainable();
            int n = (int) p.count();
            float[] all = new float[n];
            int at = 0;
            for (var q : p.list()) {
                d.read(q.value(), 0, all, at, (int) q.size());
                at += (int) q.size();
            }
            return all;
        }

        @Override
        public void close() {
            m.close();
            m.adapters().values().forEach(Adapter::close);
            w.close();
            d.close();
        }
    }

    static TrainerSettings settings(long steps, long checkpointEvery) {
        return new TrainerSettings(steps, 3e-2, 2, false, 1.0, 0.0, 0, checkpointEvery, 0.999);
    }

    @Test
    void nolaFineTuningLowersTheHeldOutLoss() {
        try (Setup s = new Setup(DEVICE)) {
            Evaluation before = s.task.evaluate();
            Trainer.Result r = Trainer.run(s.task,
                    new TrainerSettings(60, 0.3, 3, false, 1.0, 0.0, 20, 0, 0.999), null, false, null);
            assertEquals(60, r.losses().size());
            assertEquals(3, r.evaluations().size(), "evaluations at 20, 40 and the end");
            // On a random base, q and v adapters can move the loss only a little (3.122 -> 3.103 here);
            // the deterministic run makes any fall real, and 0.01 is 50 times the float noise.
            assertTrue(r.last().loss() < before.loss() - 0.01, "held-out loss " + before.loss() + " -> " + r.last().loss());
        }
    }

    /** Stopped after step 5 (its checkpoint written), resumed by a fresh process state: the same bits as one run. */
    @Test
    void aResumedRunEndsWithTheSameCoefficientsBitForBit() {
        float[] straight;
        try (Setup s = new Setup(DEVICE)) {
            Trainer.run(s.task, settings(10, 0), null, false, null);
            straight = s.coefficients();
        }
        Path ckpt = tmp.resolve("ckpt");
        try (Setup s = new Setup(DEVICE)) {
            TrainerSettings first = settings(10, 5);
            // run the first half only: a task that stops the run after step 5 by throwing
            TrainingTask half = new TrainingTask() {
                @Override public ParameterSet trainable() { return s.task.trainable(); }
                @Override public double step(long step) {
                    if (step == 5) {
                        throw new IllegalStateException("killed");
                    }
                    return s.task.step(step);
                }
                @Override public Evaluation evaluate() { return s.task.evaluate(); }
                @Override public long itemsPerStep() { return s.task.itemsPerStep(); }
                @Override public String itemUnit() { return "tokens"; }
            };
            assertThrows(IllegalStateException.class, () -> Trainer.run(half, first, ckpt, false, null));
        }
        assertTrue(Files.isRegularFile(ckpt.resolve(Trainer.META_FILE)), "the step-5 checkpoint exists");
        try (Setup s = new Setup(DEVICE)) {
            Trainer.Result r = Trainer.run(s.task, settings(10, 5), ckpt, true, null);
            assertEquals(5, r.firstStep());
            assertArrayEquals(straight, s.coefficients(), "resumed coefficients equal the uninterrupted run's");
        }
    }

    /**
     * A task that defers its loss runs each step as one {@code Device.capture} (forward, backward,
     * clipping, AdamW; the loss and norm read after): the same losses and coefficients, bit for bit, as
     * the same task run through {@code step} with the reads in between.
     */
    @Test
    void aCapturedStepGivesTheSameRunAsOneReadingBetweenItsParts() {
        Trainer.Result captured;
        float[] capturedCoefficients;
        try (Setup s = new Setup(DEVICE)) {
            assertTrue(s.task.defersLoss());
            captured = Trainer.run(s.task, settings(6, 0), null, false, null);
            capturedCoefficients = s.coefficients();
        }
        try (Setup s = new Setup(DEVICE)) {
            TrainingTask stepwise = new TrainingTask() {
                @Override public ParameterSet trainable() { return s.task.trainable(); }
                @Override public double step(long step) { return s.task.step(step); }
                @Override public Evaluation evaluate() { return s.task.evaluate(); }
                @Override public long itemsPerStep() { return s.task.itemsPerStep(); }
                @Override public String itemUnit() { return "tokens"; }
            };
            Trainer.Result r = Trainer.run(stepwise, settings(6, 0), null, false, null);
            assertEquals(captured.losses(), r.losses());
            assertArrayEquals(capturedCoefficients, s.coefficients());
        }
    }

    /**
     * The task of {@link Setup} with a poison at step {@code at}: {@code "grad"} writes a NaN into
     * element 2 of layer 1's first v-adapter parameter's gradient after backward, {@code "loss"} makes
     * the loss read back NaN (the gradients stay finite), {@code "throw"} stops the run by throwing
     * before the step does anything. {@code deferred} picks how the trainer gets the loss: through
     * {@link DeviceLossTask} ({@code runStep}, then {@code lastLoss}) or through {@code step}.
     */
    private static TrainingTask poisoned(Setup s, long at, String poison, boolean deferred) {
        class Poisoned {
            void run(long step) {
                if (step == at && poison.equals("throw")) {
                    throw new IllegalStateException("stopped before step " + at);
                }
                s.task.runStep(step);
                if (step == at && poison.equals("grad")) {
                    s.d.write(poisonedParameter(s).grad(), 2, new float[] {Float.NaN}, 0, 1);
                }
            }

            double loss(long step) {
                return step == at && poison.equals("loss") ? Double.NaN : s.task.lastLoss();
            }
        }
        Poisoned p = new Poisoned();
        if (deferred) {
            return new DeviceLossTask() {
                long last;
                @Override public ParameterSet trainable() { return s.task.trainable(); }
                @Override public void runStep(long step) { last = step; p.run(step); }
                @Override public double lastLoss() { return p.loss(last); }
                @Override public Evaluation evaluate() { return s.task.evaluate(); }
                @Override public long itemsPerStep() { return s.task.itemsPerStep(); }
                @Override public String itemUnit() { return "tokens"; }
            };
        }
        return new TrainingTask() {
            @Override public ParameterSet trainable() { return s.task.trainable(); }
            @Override public double step(long step) { p.run(step); return p.loss(step); }
            @Override public Evaluation evaluate() { return s.task.evaluate(); }
            @Override public long itemsPerStep() { return s.task.itemsPerStep(); }
            @Override public String itemUnit() { return "tokens"; }
        };
    }

    static Parameter poisonedParameter(Setup s) {
        return s.m.adapters().get("h.1.attn.v").parameterSet().list().get(0);
    }

    /** The coefficients after steps 0..at-1 of an 8-step run (stopped by a throw before step {@code at}). */
    private static float[] coefficientsBefore(long at) {
        try (Setup s = new Setup(DEVICE)) {
            assertThrows(IllegalStateException.class,
                    () -> Trainer.run(poisoned(s, at, "throw", true), settings(8, 0), null, false, null));
            return s.coefficients();
        }
    }

    /**
     * A NaN written into one gradient at step 3 of a captured step (forward, backward, norm, update in
     * one capture): the run stops at step 3, names the element, says the update was undone, and the
     * parameters are bit for bit those after step 2; the checkpoint of step 2 stays and resumes to the
     * uninterrupted run's parameters. Through {@code DeviceLossTask} and through {@code step} alike.
     */
    @Test
    void aNonFiniteGradientUndoesTheStepsUpdateAndLeavesTheCheckpointToResume() throws Exception {
        float[] afterStep2 = coefficientsBefore(3);
        float[] straight;
        try (Setup s = new Setup(DEVICE)) {
            Trainer.run(s.task, settings(8, 0), null, false, null);
            straight = s.coefficients();
        }
        for (boolean deferred : new boolean[] {true, false}) {
            Path ckpt = tmp.resolve("guard-" + deferred);
            try (Setup s = new Setup(DEVICE)) {
                TrainingTask task = poisoned(s, 3, "grad", deferred);
                assertEquals(deferred, task.defersLoss());
                Trainer.TrainingStopped e = assertThrows(Trainer.TrainingStopped.class,
                        () -> Trainer.run(task, settings(8, 2), ckpt, false, null));
                assertEquals(3, e.step());
                assertEquals("training stopped at step 3: the gradient norm is NaN; the first non-finite gradient is "
                        + poisonedParameter(s).name() + "[2] = NaN; the update of step 3 was undone: the trainable"
                        + " values and AdamW's moments are back to their values before step 3; the last checkpoint,"
                        + " of step 2, in " + ckpt + " is untouched", e.getMessage());
                assertArrayEquals(afterStep2, s.coefficients(), "the values after step 2 (deferred: " + deferred + ")");
            }
            String meta = Files.readString(ckpt.resolve(Trainer.META_FILE));
            assertTrue(meta.contains("\"step\" : 2") && meta.contains("\"adamw_steps\" : 2"), meta);
            try (Setup s = new Setup(DEVICE)) {
                Trainer.Result r = Trainer.run(s.task, settings(8, 2), ckpt, true, null);
                assertEquals(2, r.firstStep());
                assertArrayEquals(straight, s.coefficients(), "resumed from step 2: the uninterrupted run's values");
            }
        }
    }

    /** A loss read back NaN with finite gradients is undone the same way; no checkpoint yet is said so. */
    @Test
    void aNonFiniteLossUndoesTheStepsUpdateToo() {
        float[] afterStep2 = coefficientsBefore(3);
        Path ckpt = tmp.resolve("guard-loss");
        try (Setup s = new Setup(DEVICE)) {
            Trainer.TrainingStopped e = assertThrows(Trainer.TrainingStopped.class,
                    () -> Trainer.run(poisoned(s, 3, "loss", true), settings(8, 5), ckpt, false, null));
            assertEquals(3, e.step());
            assertEquals("training stopped at step 3: the loss is NaN; the update of step 3 was undone: the trainable"
                    + " values and AdamW's moments are back to their values before step 3; no checkpoint has been"
                    + " written to " + ckpt, e.getMessage());
            assertArrayEquals(afterStep2, s.coefficients());
        }
        assertFalse(Files.exists(ckpt.resolve(Trainer.META_FILE)));
    }
}
