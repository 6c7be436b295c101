package dev.nola.models.train;

import dev.nola.adapter.optim.ParameterSet;

/**
 * What a {@link Trainer} trains: a model with its data. The batch of a step must depend only on the
 * step number (and the task's seed), never on earlier calls, so that a run resumed from a checkpoint
 * sees the same batches as an uninterrupted one.
 */
public interface TrainingTask {

    /** The parameters the optimizer steps (their gradients are what {@link #step} accumulates). */
    ParameterSet trainable();

    /**
     * Forward and backward over the batch of {@code step}, gradients zeroed first.
     *
     * @param step the step number, from 0
     * @return the batch's mean loss
     */
    double step(long step);

    /** The held-out metrics (loss, and accuracy where the task has one). */
    Evaluation evaluate();

    /** Items (tokens, images) per step, for throughput. */
    long itemsPerStep();

    /** The items' name, plural ("tokens", "images"). */
    String itemUnit();
}
