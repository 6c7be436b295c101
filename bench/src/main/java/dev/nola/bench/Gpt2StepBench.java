package dev.nola.bench;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.optim.AdamW;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.gpt2.Gpt2Adapters;
import dev.nola.models.gpt2.Gpt2Init;
import dev.nola.models.gpt2.Gpt2Model;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * One GPT-2 training step, timed: the 124M configuration (V = 50,257, P = 1024, L = 12, NH = 12,
 * C = 768) on random weights, batch B × T tokens, adapters on q and v (NOLA r = 8, k = l = 1000,
 * materialized or on the fly; or LoRA r = 4), zero_grad + forward + loss + backward + AdamW, as the
 * PyTorch peer's {@code gpt2_step} measures it. Run one variant per JVM so that its peak RSS is its own:
 * <pre>
 *   java … dev.nola.bench.Gpt2StepBench --device cpu --variant nola_materialized [--steps 3 --warmup 1]
 * </pre>
 * Prints one JSON object: median and min step seconds, tokens/s, the peak RSS (VmHWM) and the
 * model's approximate FLOP per token.
 */
public final class Gpt2StepBench {

    private Gpt2StepBench() {
    }

    public static void main(String[] args) throws Exception {
        String device = "cpu";
        String variant = "nola_materialized";
        int steps = 3;
        int warmup = 1;
        int b = 4;
        int t = 128;
        int layers = 12;
        int width = 768;
        for (int i = 0; i < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--device" -> device = v;
                case "--variant" -> variant = v;
                case "--steps" -> steps = Integer.parseInt(v);
                case "--warmup" -> warmup = Integer.parseInt(v);
                case "--batch" -> b = Integer.parseInt(v);
                case "--seq" -> t = Integer.parseInt(v);
                case "--layers" -> layers = Integer.parseInt(v);
                case "--width" -> width = Integer.parseInt(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + "; expected --device, --variant, --steps, --warmup, --batch, --seq, --layers, --width");
            }
        }
        Gpt2Model.Dims dims = new Gpt2Model.Dims(50257, 1024, layers, width / 64, width, 1e-5f);
        SplittableRandom r = new SplittableRandom(1);
        int[] ids = new int[b * t];
        int[] targets = new int[b * t];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(dims.vocab());
            targets[i] = r.nextInt(dims.vocab());
        }
        try (Device d = Backends.open(device)) {
            Gpt2Model.Weights w = Gpt2Init.random(d, dims, 7);
            Map<String, ? extends Adapter> adapters = switch (variant) {
                // per-layer bases, as the peer's nola_materialized / nola_on_the_fly (one bank per module)
                case "nola_materialized" -> Gpt2Adapters.nola(d, NolaConfig.offset(8, 1000, 1000, 8f, 3L, List.of("q", "v"))
                        .withSharedBases(false).withBasisMode(NolaConfig.BasisMode.MATERIALIZED), dims);
                case "nola_on_the_fly" -> Gpt2Adapters.nola(d, NolaConfig.offset(8, 1000, 1000, 8f, 3L, List.of("q", "v"))
                        .withSharedBases(false).withBasisMode(NolaConfig.BasisMode.ON_THE_FLY), dims);
                case "lora_r4" -> Gpt2Adapters.lora(d, 4, List.of("q", "v"), dims, 3L);
                default -> throw new IllegalArgumentException("variant " + variant
                        + " is not one of nola_materialized, nola_on_the_fly, lora_r4");
            };
            try (Gpt2Model m = new Gpt2Model(d, dims, w, false, Gpt2Adapters.slots(adapters, dims));
                 AdamW opt = AdamW.nolaDefaults(m.trainable())) {
                List<Double> times = new ArrayList<>();
                double loss = 0;
                for (int s = 0; s < warmup + steps; s++) {
                    long t0 = System.nanoTime();
                    m.zeroGradients();
                    loss = m.forward(ids, targets, b, t);
                    m.backward();
                    opt.step(1e-3);
                    d.synchronize();
                    double sec = (System.nanoTime() - t0) / 1e9;
                    if (s >= warmup) {
                        times.add(sec);
                    }
                }
                double[] sorted = times.stream().mapToDouble(Double::doubleValue).sorted().toArray();
                double median = sorted[sorted.length / 2];
                // forward ≈ 2·(12·L·C² + V·C) per token (matmuls), backward ≈ 2× (activation grads only: frozen base)
                double flopsPerToken = 2.0 * (12.0 * layers * width * (double) width + (double) dims.vocab() * width) * 2;
                System.out.printf("{\"device\": \"%s\", \"variant\": \"%s\", \"batch\": %d, \"seq\": %d, \"steps\": %d,"
                                + " \"median_s\": %.4f, \"min_s\": %.4f, \"tokens_per_s\": %.1f, \"peak_rss_mb\": %d,"
                                + " \"flop_per_token\": %.3e, \"gflops\": %.1f, \"loss\": %.4f, \"times\": %s}%n",
                        device, variant, b, t, steps, median, sorted[0], b * t / median, peakRssMb(), flopsPerToken,
                        flopsPerToken * b * t / median / 1e9, loss, Arrays.toString(sorted));
            } finally {
                adapters.values().forEach(Adapter::close);
                Gpt2Init.close(w);
            }
        }
    }

    /** VmHWM of this process in MB (Linux), or -1. */
    static long peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (Exception e) {
            return -1;
        }
        return -1;
    }
}
