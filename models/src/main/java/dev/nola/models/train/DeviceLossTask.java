package dev.nola.models.train;

/**
 * A {@link TrainingTask} whose step leaves its loss on the device: it implements {@link #runStep} and
 * {@link #lastLoss}, and {@link #step} is the two in turn. The {@link Trainer} runs such a task's steps,
 * optimizer included, as one {@link dev.nola.kernels.Device#capture}.
 */
public interface DeviceLossTask extends TrainingTask {

    @Override
    default boolean defersLoss() {
        return true;
    }

    @Override
    default double step(long step) {
        runStep(step);
        return lastLoss();
    }

    @Override
    void runStep(long step);

    @Override
    double lastLoss();
}
