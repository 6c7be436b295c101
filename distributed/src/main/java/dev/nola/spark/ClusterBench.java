package dev.nola.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.gpt2.Gpt2Config;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.lm.HfCheckpoint;
import dev.nola.models.transformer.DeviceWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The cluster measurement's two halves (distributed/bench-cluster.sh runs them around the runs):
 * <ul>
 *   <li>{@code base DIR TEXT}: a GPT-2 124M-shaped model (12 layers, C = 768, 12 heads, GPT-2's vocabulary) with random
 *       weights and 128 positions, as a Hugging Face directory, and a seeded text of plain words to train on;</li>
 *   <li>{@code compare CLUSTER_OUT LOCAL_OUT}: tokens/s of each run (the median step after the first, which loads the
 *       executors' model), the cluster's sync per step and its share, and whether the adapters are the same bytes.</li>
 * </ul>
 */
public final class ClusterBench {

    /**
     * GPT-2 124M's shape with 128 positions (the windows are 128 tokens); {@code NOLA_BENCH_LAYERS} gives fewer layers
     * than 12 for a quick trial of the script.
     */
    static final Gpt2Config SHAPE = new Gpt2Config(768, 12, Integer.parseInt(System.getenv().getOrDefault("NOLA_BENCH_LAYERS", "12")),
            128, 50257, 1e-5f, "gelu_new");

    private ClusterBench() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 3 && args[0].equals("base")) {
            base(Path.of(args[1]), Path.of(args[2]));
        } else if (args.length == 3 && args[0].equals("compare")) {
            compare(Path.of(args[1]), Path.of(args[2]));
        } else {
            System.err.println("usage: ClusterBench base DIR TEXT | compare CLUSTER_OUT LOCAL_OUT");
            System.exit(2);
        }
    }

    static void base(Path dir, Path text) throws IOException {
        try (Device d = Backends.open("cpu");
             DeviceWeights w = CausalLm.randomWeights(d, SHAPE.spec(), 124)) {
            HfCheckpoint.of(SHAPE, w.download(d)).write(dir);
        }
        String[] words = ("the of and to in a is that for it as was with be by on not he this are or his from at which but"
                + " have an they you were her one all we can has there been if more when will would who so no model data"
                + " step worker spark gradient adapter basis random seed").split(" ");
        SplittableRandom r = new SplittableRandom(7);
        StringBuilder sb = new StringBuilder();
        // ~300,000 words: thousands of 128-token windows, more than a few steps of 8 × 128 tokens need
        for (int i = 0; i < 300_000; i++) {
            sb.append(words[r.nextInt(words.length)]).append(i % 17 == 16 ? ".\n" : " ");
        }
        Files.writeString(text, sb.toString());
        System.out.println("base: " + dir + " (GPT-2 124M shape, 128 positions), text: " + text);
    }

    static void compare(Path cluster, Path local) throws IOException {
        ObjectMapper json = new ObjectMapper();
        JsonNode c = json.readTree(cluster.resolve("report/report.json").toFile());
        JsonNode l = json.readTree(local.resolve("report/report.json").toFile());
        double ct = medianAfterFirst(c);
        double lt = medianAfterFirst(l);
        boolean same = Arrays.equals(Files.readAllBytes(cluster.resolve("adapter/adapter_model.safetensors")),
                Files.readAllBytes(local.resolve("adapter/adapter_model.safetensors")));
        System.out.printf(Locale.ROOT, "cluster (2 workers x 1 core): %.0f tokens/s%n", ct);
        System.out.printf(Locale.ROOT, "one process, 1 thread (--accumulate 2): %.0f tokens/s%n", lt);
        System.out.printf(Locale.ROOT, "speed-up: %.2fx%n", ct / lt);
        System.out.printf(Locale.ROOT, "sync: %.1f ms per step, %.1f%% of the cluster's %.1f ms job%n",
                c.path("sync_ms_per_step").asDouble(), 100 * c.path("sync_share").asDouble(), c.path("job_ms_per_step").asDouble());
        System.out.println("micro-batches by executor: " + c.path("micro_batches_by_executor"));
        System.out.println("adapters identical: " + same);
    }

    /** The median tokens/s of the steps after the first. */
    private static double medianAfterFirst(JsonNode report) {
        JsonNode steps = report.path("methods").get(0).path("steps");
        double[] v = new double[Math.max(0, steps.size() - 1)];
        for (int i = 1; i < steps.size(); i++) {
            v[i - 1] = steps.get(i).path("items_per_second").asDouble();
        }
        Arrays.sort(v);
        return v.length == 0 ? Double.NaN : v[v.length / 2];
    }
}
