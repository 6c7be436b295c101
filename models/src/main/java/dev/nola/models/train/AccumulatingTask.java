package dev.nola.models.train;

import dev.nola.adapter.optim.Parameter;
import dev.nola.adapter.optim.ParameterSet;
import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.List;

/**
 * Gradient accumulation: one optimizer step over {@code n} micro-batches. Step {@code s} is made of the inner
 * task's batches {@code s·n + 0 … s·n + n-1} ("ranks" 0 … n-1), so the data of a rank depends only on the step,
 * the rank and the task's seed. The gradient the optimizer sees is
 * {@code (g_0 + g_1 + … + g_{n-1}) · (1/n)}, summed on the device in rank order, one float add per rank and one
 * float multiply at the end; the loss is the mean of the micro-batch losses, summed in rank order in double.
 *
 * <p>Where the micro-batches' gradients come from is a {@link MicroBatches}: {@link #local} runs them one after
 * another on the inner task; a distributed run computes them elsewhere and hands each rank's gradient in, in rank
 * order, through {@link Ranks#add}. Both pass through the same adds, so a distributed run whose ranks compute the
 * gradients the inner task would compute ends with the very same bits as the local one.
 *
 * <p>Not a {@link DeviceLossTask}: each micro-batch's loss is read back inside the step (on TornadoVM this splits
 * the step's capture into one plan per micro-batch).
 */
public final class AccumulatingTask implements TrainingTask, AutoCloseable {

    /** Computes the gradients of a step's micro-batches. */
    public interface MicroBatches {
        /**
         * Computes micro-batches {@code 0 … n-1} of {@code step}; for each rank, in rank order, leaves its gradient
         * in the trainable parameters' gradient tensors and calls {@link Ranks#add} with its mean loss.
         */
        void compute(long step, int n, Ranks ranks);
    }

    /** Where {@link MicroBatches} hands each rank's gradient (found in the parameters' gradient tensors). */
    public interface Ranks {
        /** Adds the gradient now in the parameters' gradient tensors as rank {@code rank}'s; ranks come 0, 1, … */
        void add(int rank, double loss);
    }

    private final TrainingTask inner;
    private final int n;
    private final MicroBatches source;
    private final List<Parameter> params;
    private final Tensor[] sums;

    /**
     * @param inner  the task whose parameters, evaluation and units this one has (and whose batches {@link #local}
     *               runs)
     * @param n      micro-batches per step, &gt; 0
     * @param source where the micro-batches' gradients come from
     */
    public AccumulatingTask(TrainingTask inner, int n, MicroBatches source) {
        this.inner = Checks.notNull("inner", inner);
        this.source = Checks.notNull("source", source);
        if (n <= 0) {
            throw new IllegalArgumentException("micro-batches per step is " + n + "; expected > 0");
        }
        this.n = n;
        ParameterSet set = inner.trainable();
        Device d = set.device();
        this.params = set.list();
        this.sums = new Tensor[params.size()];
        try {
            for (int i = 0; i < sums.length; i++) {
                sums[i] = d.allocate(params.get(i).grad().shape());
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** {@code n} micro-batches per step, each one of the inner task's batches, run in turn. */
    public static AccumulatingTask local(TrainingTask inner, int n) {
        return new AccumulatingTask(inner, n, (step, count, ranks) -> {
            for (int r = 0; r < count; r++) {
                ranks.add(r, inner.step(microBatch(step, count, r)));
            }
        });
    }

    /** The inner task's batch that is micro-batch {@code rank} of {@code step} with {@code n} per step. */
    public static long microBatch(long step, int n, int rank) {
        return Math.multiplyExact(step, (long) n) + rank;
    }

    /** Micro-batches per step. */
    public int microBatches() {
        return n;
    }

    @Override
    public ParameterSet trainable() {
        return inner.trainable();
    }

    @Override
    public double step(long step) {
        Device d = inner.trainable().device();
        double[] lossSum = {0};
        int[] next = {0};
        source.compute(step, n, (rank, loss) -> {
            if (rank != next[0]) {
                throw new IllegalStateException("rank " + rank + " added out of order; expected rank " + next[0]);
            }
            next[0]++;
            for (int i = 0; i < sums.length; i++) {
                if (rank == 0) {
                    d.copy(params.get(i).grad(), sums[i]);
                } else {
                    d.linalg().axpy(1f, params.get(i).grad(), sums[i]);
                }
            }
            lossSum[0] += loss;
        });
        if (next[0] != n) {
            throw new IllegalStateException("step " + step + " got " + next[0] + " of " + n + " micro-batches");
        }
        for (int i = 0; i < sums.length; i++) {
            d.copy(sums[i], params.get(i).grad());
            if (n > 1) {
                d.linalg().scale(1f / n, params.get(i).grad());
            }
        }
        return lossSum[0] / n;
    }

    @Override
    public Evaluation evaluate() {
        return inner.evaluate();
    }

    @Override
    public long itemsPerStep() {
        return inner.itemsPerStep() * n;
    }

    @Override
    public String itemUnit() {
        return inner.itemUnit();
    }

    @Override
    public void close() {
        for (Tensor t : sums) {
            if (t != null) {
                t.close();
            }
        }
    }
}
