package dev.nola.models.lm;

import dev.nola.adapter.optim.ParameterSet;
import dev.nola.kernels.Checks;
import dev.nola.models.text.TokenBatch;
import dev.nola.models.text.TokenWindows;
import dev.nola.models.train.Evaluation;
import dev.nola.models.train.DeviceLossTask;
import java.util.List;

/**
 * Next-token training of a {@link CausalLm} (GPT-2, LLaMA) on token windows: the batch of step s is batch
 * {@code s mod E} of epoch {@code s / E} in a seeded order (E batches per epoch), so it depends on the
 * step alone; evaluation is the token-weighted mean loss over the held-out windows in order.
 */
public final class CausalLmTask implements DeviceLossTask {

    private final CausalLm model;
    private final TokenWindows train;
    private final TokenWindows heldOut;
    private final int batch;
    private final long seed;
    private final int perEpoch;
    private int cachedEpoch = -1;
    private List<TokenBatch> epoch;

    /**
     * @param batch sequences per step, &gt; 0, at most the training windows
     */
    public CausalLmTask(CausalLm model, TokenWindows train, TokenWindows heldOut, int batch, long seed) {
        this.model = Checks.notNull("model", model);
        this.train = Checks.notNull("train", train);
        this.heldOut = Checks.notNull("heldOut", heldOut);
        this.batch = Checks.positive("batch", batch);
        this.seed = seed;
        this.perEpoch = train.size() / batch;
        if (perEpoch == 0) {
            throw new IllegalArgumentException("batch " + batch + " exceeds the " + train.size() + " training windows");
        }
        if (heldOut.size() == 0) {
            throw new IllegalArgumentException("the held-out split is empty");
        }
    }

    @Override
    public ParameterSet trainable() {
        return model.trainable();
    }

    /** The batch of a step. */
    TokenBatch batchOf(long step) {
        int e = Math.toIntExact(step / perEpoch);
        if (e != cachedEpoch) {
            epoch = train.epoch(batch, seed, e);
            cachedEpoch = e;
        }
        return epoch.get((int) (step % perEpoch));
    }

    @Override
    public void runStep(long step) {
        TokenBatch b = batchOf(step);
        model.zeroGradients();
        model.forwardLoss(b.inputs(), b.targets(), b.batchSize(), b.length());
        model.backward();
    }

    @Override
    public double lastLoss() {
        return model.loss();
    }

    @Override
    public Evaluation evaluate() {
        double sum = 0;
        long count = 0;
        for (TokenBatch b : heldOut.inOrder(Math.min(batch, heldOut.size()))) {
            int n = b.learnedTargets();
            if (n > 0) {
                sum += model.evaluate(b.inputs(), b.targets(), b.batchSize(), b.length()) * n;
                count += n;
            }
        }
        return new Evaluation(sum / count, Double.NaN);
    }

    @Override
    public long itemsPerStep() {
        return (long) batch * train.length();
    }

    @Override
    public String itemUnit() {
        return "tokens";
    }
}
