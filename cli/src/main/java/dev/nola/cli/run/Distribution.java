package dev.nola.cli.run;

import dev.nola.adapter.optim.ParameterSet;
import dev.nola.models.train.AccumulatingTask;
import java.util.List;

/**
 * Where a distributed {@code nola finetune} computes its micro-batches (the nola-spark module's Spark run), kept
 * behind this interface so that the CLI compiles without the cluster engine. The command keeps the run: the
 * optimizer, schedule, checkpoints, report and progress; a distribution only returns each step's micro-batch
 * gradients, rank by rank, which the command sums exactly as {@code --accumulate} does in one process.
 */
public interface Distribution {

    /**
     * What the workers need to compute a run's micro-batches.
     *
     * @param workerArgs the finetune command line a worker opens the same workload from (its model a directory every
     *                   worker must be able to read, no {@code --spark})
     * @param ranks      micro-batches per step
     * @param trainable  the driver's trainable parameters: their values go out each step, the summed gradients land in
     *                   their gradient tensors
     */
    record Job(List<String> workerArgs, int ranks, ParameterSet trainable) {
    }

    /** Starts the run's workers; the micro-batches of each step come from the returned source. */
    AccumulatingTask.MicroBatches start(Job job);

    /** Micro-batches per step when {@code --accumulate} is not given (the cluster's cores). */
    int defaultRanks();

    /** One line on the cluster for the progress header ("spark local[2]: 2 cores"). */
    String describe();

    /** Adds the distributed run's figures (sync time per step, the workers' shares) to the report. */
    void report(RunReport report);
}
