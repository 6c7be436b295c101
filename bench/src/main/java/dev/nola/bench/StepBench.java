package dev.nola.bench;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.optim.AdamW;
import dev.nola.adapter.optim.Parameter;
import dev.nola.kernels.AbstractDevice;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.OpProfile;
import dev.nola.kernels.TransferCounts;
import dev.nola.models.gpt2.Gpt2Config;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.lm.LlamaConfig;
import dev.nola.models.spec.BlockSpec;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.spec.LinearSpec;
import dev.nola.models.transformer.Adapters;
import dev.nola.models.transformer.DeviceWeights;
import dev.nola.models.transformer.WeightPrecision;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Training steps of a causal LM, timed, for either architecture {@link CausalLm} runs: {@code gpt2}
 * (V = 50,257, P = 1024, heads of 64: the 124M model at 12 layers and C = 768) or {@code llama}
 * (SmolLM2-135M's shape: 30 layers, C = 576, 9 heads and 3 KV heads of 64, SwiGLU of 1536, V = 49,152,
 * tied, θ = 10000), on random weights, adapters on the query and value projections (q, v; q_proj,
 * v_proj) — NOLA r = 8, k = l = 1000, one bank per adapter, materialised or on the fly; or LoRA r = 4.
 * A step is zero_grad + forward + loss + backward + AdamW, as the PyTorch peer's. The suite runs it in
 * a JVM of its own per device, architecture and variant, so the process's peak RSS is that variant's:
 * <pre>
 *   java … dev.nola.bench.StepBench --arch gpt2 --device cpu --variant nola_materialized [--points 4x128,8x256]
 *        [--layers 12] [--width 768] [--steps 3] [--warmup 1] [--capture true] [--profile 0] [--head-rows 0] [--weights f32|bf16]
 * </pre>
 * {@code --weights bf16} holds the frozen base's matrices and embedding as bfloat16 ({@link WeightPrecision}).
 * {@code --layers} defaults to the architecture's (12, 30); {@code --width} is GPT-2's alone.
 * A device that lacks one of the architecture's ops (an {@link UnsupportedOperationException}) prints
 * one line {@code {"skipped": reason}} and exits 0, so the suite reports it as skipped.
 * Each step (zero the gradients, forward to the loss, backward, AdamW) runs as one
 * {@link Device#capture} unless {@code --capture false}, and its loss is read after it.
 * {@code --head-rows} sets {@link CausalLm#headBlockRows} (0: the model's default; B·T: the whole logits at once).
 * Before timing, one step of a small model of the architecture on the device is compared with the same step on the
 * reference backend (loss and every adapter gradient). Prints one JSON object per point (B×T): step
 * min/median/max seconds, tokens/s, the host↔device transfer time within a step (median) and the rest
 * (kernel time), peak device memory, peak RSS (warm-up and timed steps: read before the profiled pass), the garbage collectors' and the JIT compilers' time per timed
 * step, and the last loss. The warm-up is {@code --warmup} steps, then more (up to {@link #EXTRA_WARMUP}) until
 * the JIT compiler worked for less than 5% of each of two steps in a row; {@code "warmup"} is the count it took.
 * With {@code --profile N > 0}, N more steps run after the timed ones with every op timed between two
 * synchronisations ({@link OpProfile}, never captured), and the object gains {@code "breakdown"}: the
 * profiled step's seconds, and per {@code family.op} and per matmul shape the calls and seconds per step
 * ({@link Breakdown} groups them into kinds for the report).
 */
public final class StepBench {

    /** The architectures. */
    static final List<String> ARCHS = List.of("gpt2", "llama");

    private StepBench() {
    }

    public static void main(String[] args) throws Exception {
        Locale.setDefault(Locale.ROOT);
        Map<String, String> o = new LinkedHashMap<>(Map.of("--device", "cpu", "--variant", "nola_materialized",
                "--points", "4x128", "--layers", "", "--width", "768", "--steps", "3", "--warmup", "1"));
        o.put("--capture", "true");
        o.put("--head-rows", "0");
        o.put("--arch", "gpt2");
        o.put("--profile", "0");
        o.put("--weights", "f32");
        for (int i = 0; i < args.length; i += 2) {
            if (!o.containsKey(args[i]) || i + 1 >= args.length) {
                throw new IllegalArgumentException("option " + args[i] + " is unknown or has no value; expected "
                        + String.join(", ", o.keySet()));
            }
            o.put(args[i], args[i + 1]);
        }
        String device = o.get("--device");
        String variant = o.get("--variant");
        String arch = arch(o.get("--arch"));
        int layers = o.get("--layers").isEmpty() ? defaultLayers(arch) : Integer.parseInt(o.get("--layers"));
        int width = arch.equals("gpt2") ? Integer.parseInt(o.get("--width")) : LLAMA_WIDTH;
        int steps = Integer.parseInt(o.get("--steps"));
        int warmup = Integer.parseInt(o.get("--warmup"));
        String cap = o.get("--capture");
        if (!cap.equals("true") && !cap.equals("false")) {
            throw new IllegalArgumentException("--capture must be true or false, got " + cap);
        }
        boolean capture = cap.equals("true");
        int profile = Integer.parseInt(o.get("--profile"));
        CausalLmSpec spec = spec(arch, layers, width);
        WeightPrecision precision = WeightPrecision.parse("--weights", o.get("--weights"));
        String validation;
        try {
            validation = validate(device, arch, variant, precision);
        } catch (UnsupportedOperationException e) {
            System.out.println(skipped(device, arch, variant, e.getMessage()));
            return;
        }
        try (Device d = Backends.open(device)) {
            DeviceWeights w = CausalLm.randomWeights(d, spec, 7, precision);
            Map<String, ? extends Adapter> adapters = adapters(d, variant, spec, targets(arch));
            try (CausalLm m = new CausalLm(d, spec, w, false, adapters).headBlockRows(Integer.parseInt(o.get("--head-rows")));
                 AdamW opt = AdamW.nolaDefaults(m.trainable())) {
                for (String point : o.get("--points").split(",")) {
                    String[] bt = point.split("x");
                    int b = Integer.parseInt(bt[0]);
                    int t = Integer.parseInt(bt[1]);
                    System.out.println(point(d, m, opt, arch, variant, precision, layers, width, b, t, warmup, steps,
                            capture, profile, validation));
                    System.out.flush();
                }
            } finally {
                adapters.values().forEach(Adapter::close);
                w.close();
            }
        }
    }

    /** The architecture, checked. */
    static String arch(String arch) {
        if (!ARCHS.contains(arch)) {
            throw new IllegalArgumentException("--arch is " + arch + "; expected one of " + ARCHS);
        }
        return arch;
    }

    static final int LLAMA_WIDTH = 576;

    /** The architecture's layers at full size: GPT-2 124M's 12, SmolLM2-135M's 30. */
    static int defaultLayers(String arch) {
        return arch.equals("gpt2") ? 12 : 30;
    }

    /** The modules adapted: the query and value projections as the architecture names them. */
    static List<String> targets(String arch) {
        return arch.equals("gpt2") ? List.of("q", "v") : List.of("q_proj", "v_proj");
    }

    /**
     * The benchmarked model: GPT-2 of this width (heads of 64, V = 50,257, P = 1024), or SmolLM2-135M's
     * shape at this many layers (C = 576, 9 heads, 3 KV heads, head_dim 64, intermediate 1536,
     * V = 49,152, P = 8192, tied, θ = 10000, ε = 1e-5).
     */
    static CausalLmSpec spec(String arch, int layers, int width) {
        return arch.equals("gpt2") ? new Gpt2Config(width, width / 64, layers, 1024, 50257, 1e-5f, "gelu_new").spec()
                : new LlamaConfig("llama", LLAMA_WIDTH, 1536, layers, 9, 3, 64, 8192, 49152, 1e-5f, 10000.0, null, true,
                false, false, 0).spec();
    }

    /** The small model of the validation step: V = 211, 2 layers, C = 64 (LLaMA: 4 heads, 2 KV heads of 16, I = 96). */
    static CausalLmSpec small(String arch) {
        return arch.equals("gpt2") ? new Gpt2Config(64, 2, 2, 32, 211, 1e-5f, "gelu_new").spec()
                : new LlamaConfig("llama", 64, 96, 2, 4, 2, 16, 32, 211, 1e-5f, 10000.0, null, true, false, false, 0).spec();
    }

    /** The op name of the architecture's step row. */
    static String op(String arch) {
        return arch + "_step";
    }

    /** The row's shape: variant, layers, width, batch and sequence (the peer writes the same). */
    static String shape(String arch, String variant, int layers, int b, int t) {
        return variant + " L=" + layers + " C=" + (arch.equals("gpt2") ? 768 : LLAMA_WIDTH) + " B=" + b + " T=" + t;
    }

    /** The line of a device that lacks one of the architecture's ops. */
    static String skipped(String device, String arch, String variant, String reason) {
        return String.format("{\"skipped\": %s, \"device\": \"%s\", \"arch\": \"%s\", \"variant\": \"%s\"}",
                JsonLines.quote(reason), device, arch, variant);
    }

    /**
     * Matmul FLOP per token of forward + backward: every linear of the spec and the LM head once forward and
     * once for its input gradient (2 · 2 · weights; the base is frozen, so no weight gradients), attention's
     * products and the adapters' aside. It was 3 × forward, as if the weight gradients were computed: 379
     * GFLOP for a GPT-2 124M step of 512 tokens where its recorded matmuls are 253 ({@link MatmulFloor}).
     */
    static double flopsPerToken(CausalLmSpec spec) {
        long weights = (long) spec.vocabulary() * spec.model().width();
        for (BlockSpec block : spec.model().blocks()) {
            List<LinearSpec> linears = new ArrayList<>(List.of(block.attention().q(), block.attention().k(),
                    block.attention().v(), block.attention().out(), block.mlp().up(), block.mlp().down()));
            if (block.mlp().gate() != null) {
                linears.add(block.mlp().gate());
            }
            for (LinearSpec l : linears) {
                weights += (long) l.in() * l.out();
            }
        }
        return 2 * 2.0 * weights;
    }

    private static String point(Device d, CausalLm m, AdamW opt, String arch, String variant, WeightPrecision precision,
                                int layers, int width, int b, int t, int warmup, int steps, boolean capture, int profile,
                                String validation) {
        SplittableRandom r = new SplittableRandom(1);
        int[] ids = new int[b * t];
        int[] targets = new int[b * t];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(m.spec().vocabulary());
            targets[i] = r.nextInt(m.spec().vocabulary());
        }
        AbstractDevice counted = d instanceof AbstractDevice a ? a : null;
        if (counted != null) {
            counted.resetPeakMemory();
        }
        Map<String, Long> countersBefore = Map.of();
        List<Double> times = new ArrayList<>();
        List<Double> transfers = new ArrayList<>();
        long bytesMoved = 0;
        double loss = 0;
        Runnable step = () -> {
            m.zeroGradients();
            m.forwardLoss(ids, targets, b, t);
            m.backward();
            opt.step(1e-3);
        };
        double[] lastLoss = {0};
        java.util.function.DoubleSupplier once = () -> { // one step, its seconds
            long t0 = System.nanoTime();
            if (capture) {
                d.capture(step); // one execution plan per step where the backend records (TornadoVM)
            } else {
                step.run();
            }
            lastLoss[0] = m.loss();
            d.synchronize();
            return (System.nanoTime() - t0) / 1e9;
        };
        // Warm-up: the steps asked for, then more until the JIT compiler worked for less than 5% of two
        // steps in a row (at most EXTRA_WARMUP more): on a small machine C2 takes tens of seconds to reach
        // the kernels, and a step run by C1's code (the Vector API not intrinsified) is several times slower.
        int warmed = 0;
        int quiet = 0; // consecutive steps in which the JIT was (nearly) idle: it compiles in bursts
        while (warmed < warmup || (warmup > 0 && warmed < warmup + EXTRA_WARMUP)) {
            long jit0 = jitMillis();
            double sec = once.getAsDouble();
            warmed++;
            quiet = (jitMillis() - jit0) / 1e3 < 0.05 * sec ? quiet + 1 : 0;
            if (warmed >= warmup && quiet >= 2) {
                break;
            }
        }
        if (counted != null) {
            countersBefore = counted.backendCounters();
        }
        long gcBefore = gcMillis();
        long jitBefore = jitMillis();
        for (int s = 0; s < steps; s++) {
            TransferCounts before = counted == null ? null : counted.transfers();
            times.add(once.getAsDouble());
            if (counted != null) {
                TransferCounts moved = counted.transfers().since(before);
                transfers.add(moved.seconds());
                bytesMoved = moved.bytesToDevice() + moved.bytesToHost();
            }
        }
        loss = lastLoss[0];
        double jitPerStep = (jitMillis() - jitBefore) / 1e3 / steps;
        double gcPerStep = (gcMillis() - gcBefore) / 1e3 / steps;
        // The step's peak RSS: before the profiled pass, which runs every op on its own, never captured. On
        // tornado each of those ops is a plan of its own holding device copies of its arrays (the plan
        // cache keeps them up to half the device's memory, on PoCL host memory): a GPT-2 124M LoRA step's
        // JVM went from 1.2 GB after its timed steps to 5.7 GB and rising in that pass (--profile 2).
        long peakRss = peakRssMb();
        String breakdown = profile > 0 && counted != null ? profiled(counted, step, profile) : "{}";
        // the backend's own counters (TornadoVM's profiler) per timed step, when it keeps any
        StringBuilder backend = new StringBuilder();
        if (counted != null) {
            for (Map.Entry<String, Long> e : counted.backendCounters().entrySet()) {
                long delta = e.getValue() - countersBefore.getOrDefault(e.getKey(), 0L);
                backend.append(backend.isEmpty() ? "" : ", ").append('"').append(e.getKey()).append("\": ")
                        .append(delta / steps);
            }
        }
        double[] sorted = times.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double median = sorted[sorted.length / 2];
        double transfer = transfers.isEmpty() ? Double.NaN
                : transfers.stream().mapToDouble(Double::doubleValue).sorted().toArray()[transfers.size() / 2];
        double flopsPerToken = flopsPerToken(m.spec());
        return String.format("{\"device\": \"%s\", \"arch\": \"%s\", \"variant\": \"%s\", \"weights\": \"%s\", \"layers\": %d, \"width\": %d, \"batch\": %d,"
                        + " \"seq\": %d, \"warmup\": %d, \"reps\": %d, \"min_s\": %.5f, \"median_s\": %.5f, \"max_s\": %.5f,"
                        + " \"tokens_per_s\": %.2f, \"transfer_s\": %.6f, \"transfer_bytes\": %d, \"kernel_s\": %.5f,"
                        + " \"device_peak_mb\": %.1f, \"peak_rss_mb\": %d, \"gc_s\": %.5f, \"jit_s\": %.5f, \"flops\": %.4e, \"loss\": %.5f,"
                        + " \"validation\": \"%s\", \"times\": \"%s\", \"backend_per_step\": {%s}, \"breakdown\": %s}",
                d.id(), arch, variant, precision.label(), layers, width, b, t, warmed, steps, sorted[0], median, sorted[sorted.length - 1],
                b * t / median, transfer, bytesMoved, median - (Double.isNaN(transfer) ? 0 : transfer),
                counted == null ? Double.NaN : counted.peakMemoryBytes() / 1048576.0, peakRss, gcPerStep, jitPerStep,
                flopsPerToken * b * t, loss, validation, Arrays.toString(sorted), backend, breakdown);
    }

    /**
     * Runs the step {@code n} times with every op timed (not captured: a recording backend would time
     * its recording), and returns the breakdown as JSON: the profiled step's seconds (mean), and per op
     * and per matmul shape {@code [calls, seconds]} per step.
     */
    static String profiled(AbstractDevice d, Runnable step, int n) {
        OpProfile p = new OpProfile();
        d.profile(p);
        long t0 = System.nanoTime();
        try {
            for (int i = 0; i < n; i++) {
                step.run();
            }
            d.synchronize();
        } finally {
            d.profile(null);
        }
        double stepS = (System.nanoTime() - t0) / 1e9 / n;
        return String.format("{\"steps\": %d, \"step_s\": %.6f, \"ops\": %s, \"matmul_shapes\": %s}", n, stepS,
                perStep(p.ops(), n), perStep(p.matmulShapes(), n));
    }

    private static String perStep(Map<String, long[]> counts, int n) {
        StringBuilder sb = new StringBuilder("{");
        for (Map.Entry<String, long[]> e : counts.entrySet()) {
            sb.append(sb.length() > 1 ? ", " : "").append(JsonLines.quote(e.getKey())).append(": [")
                    .append(e.getValue()[0] / (double) n).append(", ")
                    .append(String.format("%.6f", e.getValue()[1] / 1e9 / n)).append(']');
        }
        return sb.append('}').toString();
    }

    /** Warm-up steps beyond {@code --warmup} while the JIT compiler is still busy. */
    static final int EXTRA_WARMUP = 8;

    /** Milliseconds the JIT compilers have worked in this JVM so far (0 where the JVM does not say). */
    static long jitMillis() {
        var jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : 0;
    }

    /** Milliseconds the garbage collectors have run in this JVM so far. */
    static long gcMillis() {
        long ms = 0;
        for (var gc : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
            ms += Math.max(0, gc.getCollectionTime());
        }
        return ms;
    }

    static Map<String, ? extends Adapter> adapters(Device d, String variant, CausalLmSpec spec, List<String> targets) {
        return switch (variant) {
            // one bank per adapter (per layer and module), as the peer's nola_materialized / nola_on_the_fly
            case "nola_materialized" -> Adapters.nola(d, NolaConfig.offset(8, 1000, 1000, 8f, 3L, targets)
                    .withSharedBases(false).withBasisMode(NolaConfig.BasisMode.MATERIALIZED), spec.model());
            case "nola_on_the_fly" -> Adapters.nola(d, NolaConfig.offset(8, 1000, 1000, 8f, 3L, targets)
                    .withSharedBases(false).withBasisMode(NolaConfig.BasisMode.ON_THE_FLY), spec.model());
            case "lora_r4" -> Adapters.lora(d, 4, targets, spec.model(), 3L);
            default -> throw new IllegalArgumentException("variant " + variant
                    + " is not one of nola_materialized, nola_on_the_fly, lora_r4");
        };
    }

    /**
     * One step of the architecture's {@link #small} model (B×T = 2×16) with this variant, on the device
     * and on the reference: the loss and every trainable gradient must agree within 1e-3 of their scale.
     * Returns "max error E of scale" or throws (UnsupportedOperationException where the device lacks an op).
     */
    static String validate(String device, String arch, String variant) {
        return validate(device, arch, variant, WeightPrecision.F32);
    }

    /** {@link #validate(String, String, String)} with the frozen base held as {@code precision} on both devices. */
    static String validate(String device, String arch, String variant, WeightPrecision precision) {
        if (device.equals("reference")) {
            return "reference (the oracle)";
        }
        CausalLmSpec small = small(arch);
        List<double[]> first = null;
        double worst = 0;
        for (String id : List.of("reference", device)) {
            try (Device d = Backends.open(id)) {
                DeviceWeights w = CausalLm.randomWeights(d, small, 5, precision);
                Map<String, ? extends Adapter> adapters = adapters(d, variant, small, targets(arch));
                adapters.values().forEach(a -> a.setParameters(Fixtures.random(13, a.parameterCount(), 0.05)));
                try (CausalLm m = new CausalLm(d, small, w, false, adapters)) {
                    int n = 32;
                    int[] ids = new int[n];
                    int[] tg = new int[n];
                    for (int i = 0; i < n; i++) {
                        ids[i] = (i * 37) % small.vocabulary();
                        tg[i] = (i * 53 + 7) % small.vocabulary();
                    }
                    d.capture(() -> {
                        m.zeroGradients();
                        m.forwardLoss(ids, tg, 2, 16);
                        m.backward();
                    });
                    double loss = m.loss();
                    List<double[]> now = new ArrayList<>(); // the loss, then each gradient, each to its own scale
                    now.add(new double[] {loss});
                    for (Parameter p : m.trainable().list()) {
                        float[] g = d.read(p.grad());
                        now.add(IntStream.range(0, g.length).mapToDouble(i -> g[i]).toArray());
                    }
                    if (first == null) {
                        first = now;
                    } else {
                        for (int i = 0; i < now.size(); i++) {
                            worst = Math.max(worst, Compare.maxError(first.get(i), now.get(i)));
                        }
                    }
                } finally {
                    adapters.values().forEach(Adapter::close);
                    w.close();
                }
            }
        }
        if (!(worst <= Compare.TOLERANCE)) {
            throw new IllegalStateException("the " + variant + " " + arch + " step on " + device + " differs from the reference:"
                    + " max error " + worst + " of scale (tolerance " + Compare.TOLERANCE + ")");
        }
        return String.format("max error %.1e of scale vs reference (small %s)", worst, arch.equals("gpt2") ? "GPT-2" : "LLaMA");
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
