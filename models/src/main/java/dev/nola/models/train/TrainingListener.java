package dev.nola.models.train;

import java.nio.file.Path;

/** Progress of a {@link Trainer} run; the CLI draws it (the library never prints). All methods optional. */
public interface TrainingListener {

    /**
     * After each step.
     *
     * @param step         the step just taken, from 0
     * @param steps        the total
     * @param loss         the batch loss
     * @param gradNorm     the global gradient norm before clipping
     * @param learningRate the rate used
     * @param itemsPerSecond throughput of this step
     */
    default void onStep(long step, long steps, double loss, double gradNorm, double learningRate,
                        double itemsPerSecond) {
    }

    /** After an evaluation at a step (and at the end). */
    default void onEvaluation(long step, Evaluation e) {
    }

    /** After a checkpoint is written. */
    default void onCheckpoint(long step, Path dir) {
    }

    /** Nothing. */
    TrainingListener NONE = new TrainingListener() {
    };
}
