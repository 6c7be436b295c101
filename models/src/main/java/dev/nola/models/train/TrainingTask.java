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

    /**
     * Whether {@link #runStep} and {@link #lastLoss} work ({@link DeviceLossTask}): the step can leave
     * its loss on the device, so nothing is read back inside the {@link dev.nola.kernels.Device#capture}
     * in which the {@link Trainer} runs each step (forward, backward, clipping, the copies that let it
     * undo the update, the optimizer; on TornadoVM one execution plan per step, replayed). A task that
     * returns its loss from {@link #step} reads it back inside the capture, which splits the plan there.
     */
    default boolean defersLoss() {
        return false;
    }

    /** {@link #step} without reading anything back; the loss waits on the device for {@link #lastLoss}. */
    default void runStep(long step) {
        throw new UnsupportedOperationException(getClass().getName() + " does not defer its loss");
    }

    /** The mean loss of the last {@link #runStep} (reads it back). */
    default double lastLoss() {
        throw new UnsupportedOperationException(getClass().getName() + " does not defer its loss");
    }

    /** The held-out metrics (loss, and accuracy where the task has one). */
    Evaluation evaluate();

    /** Items (tokens, images) per step, for throughput. */
    long itemsPerStep();

    /** The items' name, plural ("tokens", "images"). */
    String itemUnit();
}
