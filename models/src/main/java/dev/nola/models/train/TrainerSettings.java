package dev.nola.models.train;

import dev.nola.adapter.optim.LearningRateSchedule;

/**
 * How a {@link Trainer} runs.
 *
 * @param steps           optimizer steps, &gt; 0
 * @param learningRate    the peak rate, finite, &gt; 0
 * @param warmup          linear warm-up steps, 0 ≤ warmup &lt; steps
 * @param cosine          cosine decay to 1% of the peak after the warm-up, else linear decay to 0
 * @param clipNorm        global gradient-norm limit, or 0 for none
 * @param weightDecay     AdamW's decoupled decay λ, ≥ 0
 * @param evalEvery       evaluate every this many steps (0: only at the end)
 * @param checkpointEvery write a checkpoint every this many steps (0: only at the end, when a
 *                        checkpoint directory is given)
 * @param beta2           AdamW's β2 (β1 is 0.9, ε 1e-8)
 */
public record TrainerSettings(long steps, double learningRate, long warmup, boolean cosine, double clipNorm,
                              double weightDecay, long evalEvery, long checkpointEvery, double beta2) {

    public TrainerSettings {
        if (steps <= 0) {
            throw new IllegalArgumentException("steps must be > 0, got " + steps);
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be finite and > 0, got " + learningRate);
        }
        if (warmup < 0 || warmup >= steps) {
            throw new IllegalArgumentException("warm-up must be in [0, steps = " + steps + "), got " + warmup);
        }
        if (!(clipNorm >= 0) || Double.isInfinite(clipNorm)) {
            throw new IllegalArgumentException("clip norm must be finite and >= 0 (0 for none), got " + clipNorm);
        }
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("weight decay must be finite and >= 0, got " + weightDecay);
        }
        if (evalEvery < 0 || checkpointEvery < 0) {
            throw new IllegalArgumentException("evalEvery and checkpointEvery must be >= 0, got " + evalEvery + " and "
                    + checkpointEvery);
        }
        if (!(beta2 > 0 && beta2 < 1)) {
            throw new IllegalArgumentException("beta2 must be in (0, 1), got " + beta2);
        }
    }

    /** Defaults for fine-tuning adapters: linear decay, 5% warm-up, clip at 1, β2 0.999. */
    public static TrainerSettings fineTuning(long steps, double learningRate) {
        return new TrainerSettings(steps, learningRate, steps / 20, false, 1.0, 0.0, 0, 0, 0.999);
    }

    /** The learning-rate schedule. */
    public LearningRateSchedule schedule() {
        return cosine ? LearningRateSchedule.cosine(learningRate, learningRate * 0.01, warmup, steps)
                : LearningRateSchedule.linear(learningRate, warmup, steps);
    }
}
