package dev.nola.spark;

import dev.nola.adapter.optim.Parameter;
import dev.nola.cli.run.Distribution;
import dev.nola.cli.run.RunReport;
import dev.nola.kernels.Device;
import dev.nola.models.train.AccumulatingTask;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongConsumer;
import java.util.stream.IntStream;
import org.apache.spark.TaskFailedReason;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * A finetune's micro-batches on Spark: one Spark job per step, {@code ranks} tasks, each computing one rank's
 * micro-batch gradient on an executor ({@link MicroBatchTask}); the driver collects them in rank order (a collect
 * returns partitions in order, whichever finished first) and hands them to the command's {@link AccumulatingTask},
 * which sums them exactly as {@code --accumulate} does in one process.
 *
 * <p>Per step it measures the job's wall time and the slowest worker's compute time; their difference is the step's
 * sync time (scheduling, the values out, the gradients back), reported per step and as a share of the step.
 */
public final class SparkDistribution implements Distribution {

    /** The device executors compute on: the CPU backend, deterministic at any thread count. */
    public static final String WORKER_DEVICE = "cpu";

    private final JavaSparkContext sc;
    private final String workerDevice;
    private final LongConsumer beforeStep;
    private final List<double[]> steps = new ArrayList<>();
    private final Map<String, Long> microBatchesByExecutor = new TreeMap<>();
    private final List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
    private volatile long currentStep = -1;
    private long loadNanos;

    /**
     * @param sc           the context (the caller stops it)
     * @param workerDevice the device executors open ({@link #WORKER_DEVICE})
     * @param beforeStep   called with each step number before its job is submitted (tests inject faults here), or null
     */
    public SparkDistribution(JavaSparkContext sc, String workerDevice, LongConsumer beforeStep) {
        this.sc = sc;
        this.workerDevice = workerDevice;
        this.beforeStep = beforeStep == null ? s -> { } : beforeStep;
        sc.sc().addSparkListener(new FaultLog());
    }

    /** What Spark did about faults (a task lost, an executor gone), by step, for the report and the console. */
    private final class FaultLog extends SparkListener {
        @Override
        public void onTaskEnd(SparkListenerTaskEnd end) {
            if (end.reason() instanceof TaskFailedReason f) {
                events.add("step " + currentStep + ": rank " + end.taskInfo().index() + " (attempt " + end.taskInfo().attemptNumber()
                        + ") failed on executor " + end.taskInfo().executorId() + " at " + end.taskInfo().host() + ": "
                        + String.valueOf(f.toErrorString()).lines().findFirst().orElse("") + "; Spark reruns it");
            }
        }

        @Override
        public void onExecutorRemoved(SparkListenerExecutorRemoved removed) {
            events.add("step " + currentStep + ": executor " + removed.executorId() + " removed: " + removed.reason());
        }
    }

    @Override
    public AccumulatingTask.MicroBatches start(Job job) {
        List<Parameter> params = job.trainable().list();
        Device d = job.trainable().device();
        List<Integer> ranks = IntStream.range(0, job.ranks()).boxed().toList();
        return (step, n, sink) -> {
            currentStep = step;
            beforeStep.accept(step);
            float[][] values = new float[params.size()][];
            for (int i = 0; i < values.length; i++) {
                values[i] = d.read(params.get(i).value());
            }
            long t0 = System.nanoTime();
            List<MicroBatchResult> results;
            try {
                results = sc.parallelize(ranks, n).map(new MicroBatchTask(job.workerArgs(), workerDevice, step, n, values)).collect();
            } catch (Exception e) {
                // Spark's job failure (a SparkException, thrown unchecked from Scala)
                throw failure(step, e);
            }
            long wall = System.nanoTime() - t0;
            long slowest = 0;
            for (int r = 0; r < n; r++) {
                MicroBatchResult m = results.get(r);
                if (m.rank() != r) {
                    throw new IllegalStateException("step " + step + ": result " + r + " is rank " + m.rank());
                }
                for (int i = 0; i < params.size(); i++) {
                    d.write(params.get(i).grad(), m.gradients()[i]);
                }
                sink.add(r, m.loss());
                slowest = Math.max(slowest, m.computeNanos());
                microBatchesByExecutor.merge(m.host() + " executor " + m.executor(), 1L, Long::sum);
                loadNanos += m.loadNanos();
            }
            // the first job of an executor also opens the workload: that is loading, not sync
            long load = results.stream().mapToLong(MicroBatchResult::loadNanos).max().orElse(0);
            steps.add(new double[] {wall / 1e6, Math.max(0, wall - slowest - load) / 1e6, slowest / 1e6});
        };
    }

    /** A Spark failure as the one line a worker reported, or the Spark message's first line. */
    private static RuntimeException failure(long step, Exception e) {
        String worker = WorkerFailure.find(e);
        if (worker != null) {
            return new UncheckedIOException(worker, new IOException(e));
        }
        String first = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
        return new UncheckedIOException("step " + step + " failed on the cluster: " + first, new IOException(e));
    }

    /** The faults Spark met and what it did, in order ("step 2: rank 1 (attempt 0) failed on executor 0 …"). */
    public List<String> faults() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    @Override
    public int defaultRanks() {
        return Math.max(1, sc.defaultParallelism());
    }

    @Override
    public String describe() {
        return "spark " + sc.master() + " (" + sc.defaultParallelism() + " cores)";
    }

    /** Per step run so far: {wall ms, sync ms, slowest worker's compute ms}. */
    public List<double[]> stepTimes() {
        return List.copyOf(steps);
    }

    /** The micro-batches each executor computed, by "host executor id". */
    public Map<String, Long> microBatchesByExecutor() {
        return Map.copyOf(microBatchesByExecutor);
    }

    @Override
    public void report(RunReport report) {
        // the first step includes each executor's JVM warm-up; the figures are over the steps after it
        List<double[]> s = steps.size() > 1 ? steps.subList(1, steps.size()) : steps;
        double wall = s.stream().mapToDouble(x -> x[0]).average().orElse(0);
        double sync = s.stream().mapToDouble(x -> x[1]).average().orElse(0);
        report.config().put("spark_master", sc.master());
        report.config().put("worker_device", workerDevice);
        report.note("sync_ms_per_step", sync);
        report.note("job_ms_per_step", wall);
        report.note("sync_share", wall > 0 ? sync / wall : 0);
        report.note("worker_load_seconds", loadNanos / 1e9);
        report.note("micro_batches_by_executor", new TreeMap<>(microBatchesByExecutor));
        report.note("cluster_faults", faults());
    }
}
