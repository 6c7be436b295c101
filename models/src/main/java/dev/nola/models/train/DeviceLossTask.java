package dev.nola.models.train;

/**
 * A {@link TrainingTask} whose step leaves its loss on the device: it implements {@link #runStep} and
 * {@link #lastLoss}, and {@link #step} is the two in turn. The {@link Trainer} runs each step, optimizer
 * included, as one {@link dev.nola.kernels.Device#capture} that reads nothing back, and reads the loss
 * after it.
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
