package dev.nola.bench;

import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.lm.Generator;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.transformer.DeviceWeights;
import dev.nola.models.transformer.WeightPrecision;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Greedy generation, timed, with or without the KV cache ({@link Generator}), on the model of
 * {@link StepBench#spec} (GPT-2 124M's or SmolLM2-135M's shape, random weights, no adapter): a prompt
 * of {@code --prompt} random tokens, then {@code --new} tokens. With the cache the prompt runs once and
 * each new token is one position; without it the whole context runs again for every token. The suite
 * runs one JVM per device, architecture and mode, so the peak RSS is that mode's:
 * <pre>
 *   java … dev.nola.bench.GenerateBench --arch llama --device cpu --mode cache [--prompt 128] [--new 128]
 *        [--layers 30] [--reps 3] [--warmup 1]
 * </pre>
 * Before timing, the architecture's small model generates 12 greedy tokens on the device with and
 * without the cache and on the reference without it: the three must be the same tokens. Prints one
 * JSON object: generate min/median/max seconds (prefill included), new tokens/s over the median, peak
 * RSS, and the generated tokens (the suite checks that both modes generated the same). A device that
 * lacks an op prints {@code {"skipped": reason}} instead.
 */
public final class GenerateBench {

    /** The modes. */
    static final List<String> MODES = List.of("cache", "no_cache");

    private GenerateBench() {
    }

    public static void main(String[] args) {
        Locale.setDefault(Locale.ROOT);
        Map<String, String> o = new LinkedHashMap<>(Map.of("--device", "cpu", "--arch", "gpt2", "--mode", "cache",
                "--prompt", "128", "--new", "128", "--layers", "", "--reps", "3", "--warmup", "1"));
        o.put("--weights", "f32");
        for (int i = 0; i < args.length; i += 2) {
            if (!o.containsKey(args[i]) || i + 1 >= args.length) {
                throw new IllegalArgumentException("option " + args[i] + " is unknown or has no value; expected "
                        + String.join(", ", o.keySet()));
            }
            o.put(args[i], args[i + 1]);
        }
        String device = o.get("--device");
        String arch = StepBench.arch(o.get("--arch"));
        String mode = o.get("--mode");
        if (!MODES.contains(mode)) {
            throw new IllegalArgumentException("--mode is " + mode + "; expected one of " + MODES);
        }
        boolean cache = mode.equals("cache");
        int promptLength = Integer.parseInt(o.get("--prompt"));
        int fresh = Integer.parseInt(o.get("--new"));
        int layers = o.get("--layers").isEmpty() ? StepBench.defaultLayers(arch) : Integer.parseInt(o.get("--layers"));
        int reps = Integer.parseInt(o.get("--reps"));
        int warmup = Integer.parseInt(o.get("--warmup"));
        WeightPrecision precision = WeightPrecision.parse("--weights", o.get("--weights"));
        String validation;
        try {
            validation = validate(device, arch, precision);
        } catch (UnsupportedOperationException e) {
            System.out.println(String.format("{\"skipped\": %s, \"device\": \"%s\", \"arch\": \"%s\", \"mode\": \"%s\"}",
                    JsonLines.quote(e.getMessage()), device, arch, mode));
            return;
        }
        CausalLmSpec spec = StepBench.spec(arch, layers, arch.equals("gpt2") ? 768 : StepBench.LLAMA_WIDTH);
        SplittableRandom r = new SplittableRandom(1);
        int[] prompt = new int[promptLength];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = r.nextInt(spec.vocabulary());
        }
        try (Device d = Backends.open(device)) {
            DeviceWeights w = CausalLm.randomWeights(d, spec, 7, precision);
            try (CausalLm m = new CausalLm(d, spec, w, false, Map.of())) {
                for (int i = 0; i < warmup; i++) {
                    Generator.generate(m, prompt, Generator.Settings.greedy(Math.min(fresh, 8)), cache);
                }
                List<Double> times = new ArrayList<>();
                int[] tokens = null;
                for (int i = 0; i < reps; i++) {
                    long t0 = System.nanoTime();
                    tokens = Generator.generate(m, prompt, Generator.Settings.greedy(fresh), cache);
                    times.add((System.nanoTime() - t0) / 1e9);
                }
                double[] sorted = times.stream().mapToDouble(Double::doubleValue).sorted().toArray();
                double median = sorted[sorted.length / 2];
                System.out.println(String.format("{\"device\": \"%s\", \"arch\": \"%s\", \"mode\": \"%s\", \"weights\": \"%s\", \"layers\": %d,"
                                + " \"prompt\": %d, \"new\": %d, \"warmup\": %d, \"reps\": %d, \"min_s\": %.5f, \"median_s\": %.5f,"
                                + " \"max_s\": %.5f, \"tokens_per_s\": %.3f, \"peak_rss_mb\": %d, \"validation\": %s,"
                                + " \"tokens\": %s}",
                        d.id(), arch, mode, precision.label(), layers, promptLength, fresh, warmup, reps, sorted[0], median,
                        sorted[sorted.length - 1], tokens.length / median, StepBench.peakRssMb(), JsonLines.quote(validation),
                        Arrays.toString(tokens)));
            } finally {
                w.close();
            }
        }
    }

    /** The row's op: {@code gpt2_generate} or {@code llama_generate}. */
    static String op(String arch) {
        return arch + "_generate";
    }

    /** The row's shape (the peer writes the same). */
    static String shape(String mode, int layers, int prompt, int fresh) {
        return mode + " L=" + layers + " prompt=" + prompt + " new=" + fresh;
    }

    /**
     * Twelve greedy tokens after an 8-token prompt on the architecture's small model (weights seeded 5):
     * on the device with the cache, on the device without it, and on the reference without it. Returns
     * what agreed, or throws where they differ.
     */
    static String validate(String device, String arch) {
        return validate(device, arch, WeightPrecision.F32);
    }

    /** {@link #validate(String, String)} with the frozen base held as {@code precision} on both devices. */
    static String validate(String device, String arch, WeightPrecision precision) {
        CausalLmSpec small = StepBench.small(arch);
        int[] prompt = {3, 141, 59, 26, 53, 58, 97, 93};
        Generator.Settings s = Generator.Settings.greedy(12);
        List<int[]> got = new ArrayList<>();
        List<String> runs = new ArrayList<>();
        for (String id : device.equals("reference") ? List.of("reference") : List.of(device, "reference")) {
            try (Device d = Backends.open(id)) {
                DeviceWeights w = CausalLm.randomWeights(d, small, 5, precision);
                try (CausalLm m = new CausalLm(d, small, w, false, Map.of())) {
                    for (boolean useCache : id.equals("reference") && !device.equals("reference")
                            ? new boolean[] {false} : new boolean[] {true, false}) {
                        got.add(Generator.generate(m, prompt, s, useCache));
                        runs.add(id + (useCache ? " with the cache" : " without it"));
                    }
                } finally {
                    w.close();
                }
            }
        }
        for (int i = 1; i < got.size(); i++) {
            if (!Arrays.equals(got.get(0), got.get(i))) {
                throw new IllegalStateException("greedy tokens of the small " + arch + " differ: " + runs.get(0) + " "
                        + Arrays.toString(got.get(0)) + ", " + runs.get(i) + " " + Arrays.toString(got.get(i)));
            }
        }
        return "small " + (arch.equals("gpt2") ? "GPT-2" : "LLaMA") + ": same greedy tokens " + String.join(", ", runs);
    }

    /** The index of the first token where the two differ, or −1 when they are the same. */
    static int firstDifference(int[] a, int[] b) {
        int n = Math.min(a.length, b.length);
        for (int i = 0; i < n; i++) {
            if (a[i] != b[i]) {
                return i;
            }
        }
        return a.length == b.length ? -1 : n;
    }
}
