package dev.nola.spark;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.function.Function;

/**
 * The Spark function of one step: rank → that rank's micro-batch gradient, computed on the executor at the values the
 * driver sent with the function (kilobytes: the adapter's coefficients, never the base's weights).
 */
final class MicroBatchTask implements Function<Integer, MicroBatchResult> {

    private static final long serialVersionUID = 1L;

    private final List<String> args;
    private final String device;
    private final long step;
    private final int ranks;
    private final float[][] values;

    MicroBatchTask(List<String> args, String device, long step, int ranks, float[][] values) {
        this.args = List.copyOf(args);
        this.device = device;
        this.step = step;
        this.ranks = ranks;
        this.values = values;
    }

    @Override
    public MicroBatchResult call(Integer rank) {
        SparkEnv env = SparkEnv.get();
        String executor = env == null ? "?" : env.executorId();
        return WorkerWorkloads.compute(args, device, step, ranks, rank, values, host(), executor);
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "unknown-host";
        }
    }
}
