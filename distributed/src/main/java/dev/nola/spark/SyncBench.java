package dev.nola.spark;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * The per-step exchange without the model, to choose the mechanism: {@code ranks} tasks each receive the adapter's
 * values ({@code floats} numbers) and return a gradient of that size, by
 * <ol>
 *   <li>one job per step, the values inside the task closure, an ordered {@code collect} (what nola-spark does);</li>
 *   <li>the same with the values as a {@code broadcast} (one more round trip per step to fetch it);</li>
 *   <li>a {@code treeReduce} summing the gradients on the executors (fewer bytes into the driver, but the summation
 *       order follows the tree, not the ranks);</li>
 *   <li>an empty job (the scheduling alone).</li>
 * </ol>
 * The variants take turns step by step. Prints the median and 90th percentile of each, in ms per step:
 * {@code java … dev.nola.spark.SyncBench [MASTER] [RANKS] [FLOATS] [STEPS]} (default local[2] 2 48000 60).
 */
public final class SyncBench {

    private SyncBench() {
    }

    public static void main(String[] args) {
        String master = args.length > 0 ? args[0] : "local[2]";
        int ranks = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int floats = args.length > 2 ? Integer.parseInt(args[2]) : 48_000;
        int steps = args.length > 3 ? Integer.parseInt(args[3]) : 60;
        SparkConf conf = new SparkConf().setMaster(master).setAppName("nola sync bench").setIfMissing("spark.ui.enabled", "false")
                .setIfMissing("spark.driver.host", "127.0.0.1");
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            List<Integer> rs = IntStream.range(0, ranks).boxed().toList();
            float[] values = new float[floats];
            Arrays.fill(values, 0.5f);
            String[] names = {"job per step, values in the closure, ordered collect", "job per step, broadcast values, ordered collect",
                    "job per step, values in the closure, treeReduce", "job per step, nothing out or back (the job alone)"};
            List<List<Double>> ms = new ArrayList<>();
            for (String n : names) {
                ms.add(new ArrayList<>());
            }
            // the variants take turns step by step, so that a loaded machine's swings fall on all of them alike
            for (int s = 0; s < steps * names.length; s++) {
                int variant = s % names.length;
                long t0 = System.nanoTime();
                final float[] v = values.clone();
                if (variant == 0) {
                    sum(sc.parallelize(rs, ranks).map(r -> v.clone()).collect());
                } else if (variant == 1) {
                    Broadcast<float[]> b = sc.broadcast(v);
                    sum(sc.parallelize(rs, ranks).map(r -> b.value().clone()).collect());
                    b.destroy();
                } else if (variant == 2) {
                    sc.parallelize(rs, ranks).map(r -> v.clone()).treeReduce((a, c) -> {
                        float[] o = a.clone();
                        for (int i = 0; i < o.length; i++) {
                            o[i] += c[i];
                        }
                        return o;
                    });
                } else {
                    sc.parallelize(rs, ranks).map(r -> r).collect();
                }
                ms.get(variant).add((System.nanoTime() - t0) / 1e6);
            }
            for (int variant = 0; variant < names.length; variant++) {
                // the first steps warm the JIT and the executors; the figures are over the rest
                List<Double> all = ms.get(variant);
                List<Double> rest = new ArrayList<>(all.subList(Math.min(10, all.size() - 1), all.size()));
                rest.sort(null);
                System.out.printf(Locale.ROOT, "%-55s median %6.1f ms, p90 %6.1f ms per step (%s, %d ranks, %,d floats)%n", names[variant],
                        rest.get(rest.size() / 2), rest.get((int) (rest.size() * 0.9)), master, ranks, floats);
            }
        }
    }

    private static float[] sum(List<float[]> g) {
        float[] acc = g.get(0).clone();
        for (int r = 1; r < g.size(); r++) {
            for (int i = 0; i < acc.length; i++) {
                acc[i] += g.get(r)[i];
            }
        }
        return acc;
    }
}
