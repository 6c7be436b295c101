package dev.nola.models.vit;

import dev.nola.adapter.optim.ParameterSet;
import dev.nola.kernels.Checks;
import dev.nola.models.image.ImageBatch;
import dev.nola.models.image.ImageSet;
import dev.nola.models.train.Evaluation;
import dev.nola.models.train.DeviceLossTask;
import java.util.List;

/**
 * Image classification with a {@link VitModel}: the batch of step s is batch {@code s mod E} of epoch
 * {@code s / E} in a seeded order; evaluation gives the mean loss and the accuracy over the test set.
 */
public final class VitTask implements DeviceLossTask {

    private final VitModel model;
    private final ImageSet train;
    private final ImageSet test;
    private final int batch;
    private final long seed;
    private final float labelSmoothing;
    private final int perEpoch;
    private int cachedEpoch = -1;
    private List<ImageBatch> epoch;

    public VitTask(VitModel model, ImageSet train, ImageSet test, int batch, long seed, float labelSmoothing) {
        this.model = Checks.notNull("model", model);
        this.train = Checks.notNull("train", train);
        this.test = Checks.notNull("test", test);
        this.batch = Math.min(Checks.positive("batch", batch), train.size());
        this.seed = seed;
        this.labelSmoothing = labelSmoothing;
        this.perEpoch = train.size() / this.batch;
    }

    @Override
    public ParameterSet trainable() {
        return model.trainable();
    }

    @Override
    public void runStep(long step) {
        int e = Math.toIntExact(step / perEpoch);
        if (e != cachedEpoch) {
            epoch = train.epoch(batch, seed, e);
            cachedEpoch = e;
        }
        ImageBatch b = epoch.get((int) (step % perEpoch));
        model.zeroGradients();
        model.forwardLoss(b.pixels(), b.labels(), b.batchSize(), labelSmoothing);
        model.backward();
    }

    @Override
    public double lastLoss() {
        return model.loss();
    }

    @Override
    public Evaluation evaluate() {
        double loss = 0;
        long right = 0;
        for (ImageBatch b : test.inOrder(64)) {
            loss += model.forward(b.pixels(), b.labels(), b.batchSize(), 0f) * b.batchSize();
            int[] p = model.predictions();
            for (int i = 0; i < p.length; i++) {
                if (p[i] == b.labels()[i]) {
                    right++;
                }
            }
        }
        return new Evaluation(loss / test.size(), (double) right / test.size());
    }

    @Override
    public long itemsPerStep() {
        return batch;
    }

    @Override
    public String itemUnit() {
        return "images";
    }
}
