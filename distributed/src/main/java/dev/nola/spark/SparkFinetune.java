package dev.nola.spark;

import dev.nola.cli.Main;
import dev.nola.io.Echo;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.LongConsumer;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * {@code nola finetune … --spark MASTER} (bin/nola hands such a command line here) and
 * {@code spark-submit --class dev.nola.spark.SparkFinetune nola-spark.jar finetune …}: the CLI's own finetune (its
 * options, workload, trainer, checkpoints and report) with each step's micro-batches computed on the cluster
 * ({@link SparkDistribution}). The master is {@code --spark}'s value, else spark-submit's {@code --master}.
 */
public final class SparkFinetune {

    /** The JVM flags Spark needs on JDK 25 ({@link SparkJvmFlags#LIST}). */
    public static final List<String> JVM_FLAGS = SparkJvmFlags.LIST;

    private SparkFinetune() {
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true), new SparkConf(), null));
    }

    /**
     * Runs a finetune command line on Spark and returns the exit status (the CLI's: 0, 1 for a failed run, 2 for bad
     * input).
     *
     * @param conf       settings for the context (spark-submit's, or a test's); the master comes from {@code --spark}
     *                   when given
     * @param beforeStep called before each step's job is submitted (tests inject faults), or null
     */
    public static int run(String[] args, PrintWriter out, PrintWriter err, SparkConf conf, LongConsumer beforeStep) {
        String master = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--spark") && i + 1 < args.length) {
                master = args[i + 1];
            } else if (args[i].startsWith("--spark=")) {
                master = args[i].substring("--spark=".length());
            }
        }
        if (master != null) {
            conf.setMaster(master);
        }
        if (args.length == 0 || !args[0].equals("finetune")) {
            err.println("nola-spark: expected a finetune command line (finetune --model … --data … --out …), got "
                    + Echo.quote(String.join(" ", args)));
            return Main.BAD_INPUT;
        }
        if (!conf.contains("spark.master")) {
            err.println("nola-spark: no Spark master; give --spark MASTER (local[N], spark://HOST:PORT) or spark-submit --master");
            return Main.BAD_INPUT;
        }
        List<String> full = new ArrayList<>(List.of(args));
        if (master == null) {
            // through spark-submit: the command records where it ran, so a resume repeats it
            full.add("--spark");
            full.add(conf.get("spark.master"));
        }
        configure(conf);
        JavaSparkContext sc;
        try {
            sc = new JavaSparkContext(conf);
        } catch (RuntimeException e) {
            err.println("nola: --spark " + Echo.quote(conf.get("spark.master")) + " does not start: "
                    + Echo.line(String.valueOf(e.getMessage()).lines().findFirst().orElse("")));
            return 1;
        }
        try {
            SparkDistribution dist = new SparkDistribution(sc, conf.get("nola.worker.device", SparkDistribution.WORKER_DEVICE),
                    beforeStep);
            int status = Main.run(full.toArray(String[]::new), out, err, dist);
            List<double[]> t = dist.stepTimes();
            if (status == 0 && !t.isEmpty() && !List.of(args).contains("--quiet")) {
                List<double[]> s = t.size() > 1 ? t.subList(1, t.size()) : t;
                double wall = s.stream().mapToDouble(x -> x[0]).average().orElse(0);
                double sync = s.stream().mapToDouble(x -> x[1]).average().orElse(0);
                err.println(String.format(Locale.ROOT, "nola-spark: %d steps; sync %.1f ms per step (%.1f%% of the step's %.1f ms);"
                        + " micro-batches by executor %s", t.size(), sync, wall > 0 ? 100 * sync / wall : 0, wall,
                        dist.microBatchesByExecutor()));
            }
            if (!List.of(args).contains("--quiet")) {
                dist.faults().forEach(f -> err.println("nola-spark: " + Echo.line(f)));
            }
            return status;
        } finally {
            sc.stop();
            WorkerWorkloads.closeAll();
        }
    }

    /**
     * The settings a run needs whatever the master: an app name, the nola jar for executors when this JVM runs from it,
     * and the executor JVM's flags; the caller's settings win.
     */
    private static void configure(SparkConf conf) {
        conf.setIfMissing("spark.app.name", "nola finetune");
        // the CPU backend's Vector API, and one thread per core given to the executor (determinism does not depend
        // on it; the core count is what the cluster promised)
        String cores = conf.get("spark.executor.cores", "1");
        conf.setIfMissing("spark.executor.extraJavaOptions", String.join(" ", JVM_FLAGS) + " -XX:ActiveProcessorCount=" + cores);
        if (!conf.contains("spark.jars")) {
            Path self = ownJar();
            if (self != null) {
                conf.setJars(new String[] {self.toString()});
            }
        }
    }

    /** The jar this class was loaded from (nola-spark.jar), or null when it runs from a classes directory. */
    private static Path ownJar() {
        try {
            Path p = Path.of(SparkFinetune.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return Files.isRegularFile(p) && p.toString().endsWith(".jar") ? p.toAbsolutePath() : null;
        } catch (Exception e) {
            return null;
        }
    }
}
