package dev.nola.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nola.config.DeviceSpec;
import dev.nola.kernels.AbstractDevice;
import dev.nola.kernels.Backend;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.Tensor;
import dev.nola.models.transformer.WeightPrecision;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code nola bench}: the cross-device comparison suite. On every device given (default: every device
 * found, the reference excepted) it measures the device's own peaks (memory bandwidth, sgemm, host
 * transfers), every op family at GPT-2 124M shapes, one adapted layer forward and backward, GPT-2
 * 124M and SmolLM2-135M-shaped LLaMA training steps (in a JVM of their own per device, architecture and
 * variant), greedy generation with and without the KV cache on both, and how cost grows with k and with
 * batch × sequence; then the peers on the same work (numpy's sgemm, and PyTorch through
 * {@code bench/peers/torch_suite.py}). Every result is checked against the reference backend before
 * it is timed. Writes report.md, results.csv, results.json and charts/*.png into one new directory.
 *
 * <pre>
 *   nola bench [--device cpu,opencl:0:0] [--only GROUPS] [--out DIR] [--json] [--quick] [--no-peers]
 * </pre>
 */
public final class Suite {

    /** The groups in the order they run. */
    static final List<String> GROUPS = List.of("peaks", "random", "nola", "linalg", "adapter", "nn", "optim", "layer",
            "step", "generate", "scaling");
    static final List<String> STEP_VARIANTS = List.of("nola_materialized", "nola_on_the_fly", "lora_r4");
    static final int GEMM = 1024;
    static final int STREAM_N = 1 << 24;

    /** Parsed command line. */
    record Options(List<String> devices, List<String> groups, Path out, boolean json, boolean quick, boolean peers,
                   WeightPrecision weights) {
    }

    private final Options options;
    private final PrintStream log;
    private final Timing.Plan plan;
    private final List<Row> rows = new ArrayList<>();
    private final Map<String, Object> meta = new LinkedHashMap<>();
    private final Map<String, Map<String, Object>> peaks = new LinkedHashMap<>();

    Suite(Options options, PrintStream log) {
        this.options = options;
        this.log = log;
        this.plan = options.quick() ? Timing.Plan.QUICK : Timing.Plan.FULL;
    }

    public static void main(String[] args) {
        Locale.setDefault(Locale.ROOT);
        System.setProperty("java.awt.headless", "true");
        Options o;
        try {
            o = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("nola bench: " + e.getMessage());
            System.exit(2);
            return;
        }
        if (o == null) {
            System.out.println(usage());
            return;
        }
        try {
            Suite s = new Suite(o, System.err);
            s.run();
            Path dir = s.write();
            if (o.json()) {
                System.out.print(Report.json(s.meta, s.peaks, s.rows));
            } else {
                System.out.print(Report.markdown(s.meta, s.peaks, s.rows, "charts"));
            }
            System.err.println("nola bench: wrote " + dir);
        } catch (IllegalArgumentException | IllegalStateException | IOException e) {
            System.err.println("nola bench: " + e.getMessage());
            System.exit(2);
        }
    }

    static String usage() {
        return String.join("\n",
                "usage: nola bench [--device D[,D...]] [--only GROUPS] [--out DIR] [--json] [--quick] [--no-peers]"
                        + " [--weights f32|bf16]",
                "  --device   devices to compare (default: every device found, the reference backend excepted)",
                "  --only     groups, comma-separated, of: " + String.join(",", GROUPS)
                        + " (the peaks are measured in any case:",
                "             every figure is also a fraction of them)",
                "  --out      a new or empty directory for report.md, results.csv, results.json and charts/",
                "             (default: nola-bench-YYYYMMDD-HHMMSS)",
                "  --json     print results.json on stdout instead of the Markdown report",
                "  --quick    fewer repetitions, a 2-layer GPT-2 for the steps, fewer scaling points (under 2 minutes)",
                "  --no-peers skip numpy and PyTorch",
                "  --weights  the step and generate rows' frozen base in f32 (default) or bf16 (matrices and embedding",
                "             as bfloat16; the peers stay float32)");
    }

    static Options parse(String[] args) {
        List<String> devices = null;
        List<String> groups = GROUPS;
        Path out = null;
        boolean json = false;
        boolean quick = false;
        boolean peers = true;
        WeightPrecision weights = WeightPrecision.F32;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--device" -> devices = List.of(value(args, ++i, a).split(","));
                case "--only" -> {
                    groups = List.of(value(args, ++i, a).split(","));
                    for (String g : groups) {
                        if (!GROUPS.contains(g)) {
                            throw new IllegalArgumentException("--only names group '" + g + "'; expected some of "
                                    + String.join(",", GROUPS));
                        }
                    }
                }
                case "--out" -> out = Path.of(value(args, ++i, a));
                case "--json" -> json = true;
                case "--quick" -> quick = true;
                case "--no-peers" -> peers = false;
                case "--weights" -> weights = WeightPrecision.parse("--weights", value(args, ++i, a));
                case "--help", "-h" -> {
                    return null;
                }
                default -> throw new IllegalArgumentException("unknown option '" + a + "'\n" + usage());
            }
        }
        if (devices != null) {
            List<String> trimmed = new ArrayList<>();
            for (String d : devices) {
                DeviceSpec.parse(d.trim()); // a typo fails now, not after minutes of measuring
                trimmed.add(d.trim());
            }
            devices = trimmed;
        }
        if (out == null) {
            out = Path.of("nola-bench-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        }
        if (Files.exists(out) && !(Files.isDirectory(out) && isEmpty(out))) {
            throw new IllegalArgumentException("--out " + out + " exists and is not an empty directory; give a new one");
        }
        return new Options(devices, groups, out, json, quick, peers, weights);
    }

    private static boolean isEmpty(Path dir) {
        try (var s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    /** Every device of every available backend but the reference. */
    static List<String> discover() {
        List<String> ids = new ArrayList<>();
        for (Backend b : Backends.all()) {
            if (b.name().equals("reference") || !b.availability().available()) {
                continue;
            }
            for (DeviceInfo info : b.devices()) {
                ids.add(info.id());
            }
        }
        return ids;
    }

    // ------------------------------------------------------------------ run

    void run() {
        long t0 = System.nanoTime();
        List<String> devices = options.devices() != null ? options.devices() : discover();
        if (devices.isEmpty()) {
            throw new IllegalStateException("no device found; `nola devices` lists what each backend sees");
        }
        describe(devices);
        log.println("nola bench: " + (options.quick() ? "quick, " : "") + "devices " + devices + ", groups "
                + options.groups());
        if (options.peers()) {
            NumpyPeer.Result np = NumpyPeer.sgemm(GEMM, 10);
            meta.put("numpy_before", np.detail());
            addNumpy(np, "before");
        }
        try (Device ref = Backends.open("reference")) {
            for (String id : devices) {
                measureDevice(id, ref);
            }
        }
        boolean step = options.groups().contains("step");
        boolean scaling = options.groups().contains("scaling");
        String stepPoint = options.quick() ? "2x64" : "4x128";
        List<String> scalingPoints = options.quick() ? List.of("1x64", "2x64", "4x64")
                : List.of("1x128", "4x128", "4x256", "8x256");
        for (String id : devices) {
            for (String variant : STEP_VARIANTS) {
                // one JVM per device and variant; the scaling points ride along with nola_materialized's
                java.util.TreeSet<String> points = new java.util.TreeSet<>(
                        java.util.Comparator.comparingInt(Report::tokensOfPoint).thenComparing(x -> x));
                if (step) {
                    points.add(stepPoint);
                }
                if (scaling && variant.equals("nola_materialized")) {
                    points.addAll(scalingPoints);
                }
                if (!points.isEmpty()) {
                    steps(id, "gpt2", variant, List.copyOf(points), step ? stepPoint : null,
                            scaling ? scalingPoints : List.of());
                }
            }
            for (String variant : step ? STEP_VARIANTS : List.<String>of()) {
                steps(id, "llama", variant, List.of(stepPoint), stepPoint, List.of()); // the step point alone
            }
            if (options.groups().contains("generate")) {
                for (String arch : StepBench.ARCHS) {
                    generate(id, arch);
                }
            }
        }
        if (options.peers()) {
            NumpyPeer.Result np = NumpyPeer.sgemm(GEMM, 10);
            meta.put("numpy_after", np.detail());
            addNumpy(np, "after");
            List<String> torchGroups = new ArrayList<>(options.groups());
            if (!torchGroups.contains("peaks")) {
                torchGroups.add(0, "peaks");
            }
            log.println("peer: PyTorch (" + String.join(",", torchGroups) + ") ...");
            TorchPeer.Result torch = TorchPeer.run(torchGroups, options.quick(), log);
            meta.put("torch", torch.skipped() != null ? "skipped: " + torch.skipped() : torch.meta());
            meta.put("torch_summary", torch.skipped() != null ? "skipped: " + torch.skipped() : torch.summary());
            merge(torch);
            if (options.groups().contains("linalg")) {
                paired(devices);
            }
        } else {
            meta.put("peers", "skipped (--no-peers)");
        }
        derive();
        meta.put("wall_seconds", Math.round((System.nanoTime() - t0) / 1e8) / 10.0);
    }

    private void describe(List<String> devices) {
        meta.put("date", ZonedDateTime.now().withNano(0).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        meta.put("command", "nola bench " + String.join(" ", commandLine()));
        meta.put("quick", options.quick());
        meta.put("timing", Map.of("warmup", plan.warmup(), "min_reps", plan.minReps(), "min_seconds", plan.minSeconds(),
                "max_reps", plan.maxReps()));
        meta.put("java", Runtime.version().toString() + " (" + System.getProperty("java.vm.name") + ")");
        meta.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        meta.put("cpu", Machine.cpuModel());
        meta.put("processors", Runtime.getRuntime().availableProcessors());
        meta.put("fork_join_parallelism", java.util.concurrent.ForkJoinPool.getCommonPoolParallelism());
        meta.put("vector_bits", jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize());
        meta.put("caches", Machine.caches());
        meta.put("memory_mb", Machine.memoryBytes() >> 20);
        meta.put("devices", devices);
    }

    private List<String> commandLine() {
        List<String> a = new ArrayList<>();
        if (options.devices() != null) {
            a.add("--device " + String.join(",", options.devices()));
        }
        if (!options.groups().equals(GROUPS)) {
            a.add("--only " + String.join(",", options.groups()));
        }
        a.add("--out " + options.out());
        if (options.json()) {
            a.add("--json");
        }
        if (options.quick()) {
            a.add("--quick");
        }
        if (!options.peers()) {
            a.add("--no-peers");
        }
        if (options.weights() != WeightPrecision.F32) {
            a.add("--weights " + options.weights().label());
        }
        return a;
    }

    private void addNumpy(NumpyPeer.Result np, String when) {
        if (!Double.isNaN(np.gflops())) {
            double flops = 2.0 * GEMM * GEMM * GEMM;
            rows.add(new Row("peaks", "sgemm", GEMM + "x" + GEMM + "x" + GEMM, "numpy", 2, 10, flops / np.gflops() / 1e9,
                    flops / np.medianGflops() / 1e9, Double.NaN, flops, 3 * 4.0 * GEMM * GEMM, "peer",
                    Map.of("when", when, "kernel", np.detail())));
        }
    }

    private void measureDevice(String id, Device ref) {
        log.println("device " + id + " ...");
        try (Device d = Backends.open(id)) {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("name", d.info().name());
            p.put("type", String.valueOf(d.info().type()));
            p.put("version", d.info().version());
            p.put("compute_units", d.info().computeUnits());
            peaks.put(d.id(), p);
            measurePeaks(d, ref, p);
            List<Case> cases = new ArrayList<>(KernelCases.of(options.groups()));
            if (options.groups().contains("layer")) {
                cases.addAll(LayerCases.layer());
            }
            if (options.groups().contains("scaling")) {
                cases.addAll(LayerCases.scaling(options.quick()));
            }
            for (Case c : cases) {
                Row r = measure(d, ref, c);
                if (r != null) {
                    rows.add(r);
                }
            }
        }
    }

    /** The peak sgemm: C = A·B at {@link #GEMM}³ (the reference computes the first rows when checking). */
    static Case sgemmPeak() {
        return new Case("peaks", "sgemm", GEMM + "x" + GEMM + "x" + GEMM, 2.0 * GEMM * GEMM * GEMM, 12.0 * GEMM * GEMM,
                (a, check) -> {
                    int rows = check ? KernelCases.CHECK_ROWS : GEMM;
                    Tensor x = a.random(1, 1, rows, GEMM);
                    Tensor w = a.random(2, 1, GEMM, GEMM);
                    Tensor y = a.zeros(rows, GEMM);
                    return new Case.Prepared(() -> a.device().linalg().matmul(false, false, 1f, x, w, 0f, y), List.of(y));
                });
    }

    private void measurePeaks(Device d, Device ref, Map<String, Object> p) {
        Case gemm = sgemmPeak();
        Case stream = new Case("peaks", "stream_axpy", "n=" + STREAM_N, 2.0 * STREAM_N, 12.0 * STREAM_N,
                (a, check) -> {
                    Tensor x = a.random(1, 1, STREAM_N);
                    Tensor y = a.random(2, 1, STREAM_N);
                    return new Case.Prepared(() -> a.device().linalg().axpy(0.5f, x, y), List.of(y));
                });
        // a peak is the best call, measured with the full plan even under --quick
        Row g = measure(d, ref, gemm, Timing.Plan.FULL);
        Row s = measure(d, ref, stream, Timing.Plan.FULL);
        rows.add(g);
        rows.add(s);
        p.put("sgemm_gflops", g.flops() / g.minS() / 1e9);
        p.put("bandwidth_gbps", s.bytes() / s.minS() / 1e9);
        // host↔device: 64 MiB each way, timed with the device's transfer counters
        float[] host = Fixtures.random(3, STREAM_N, 1);
        try (Tensor t = d.allocate(STREAM_N)) {
            Timing.Result w = Timing.measure(Timing.Plan.FULL, () -> d.write(t, host));
            Timing.Result r = Timing.measure(Timing.Plan.FULL, () -> d.read(t, 0, host, 0, STREAM_N));
            for (Object[] x : new Object[][] {{"host_to_device", w}, {"device_to_host", r}}) {
                Timing.Result tr = (Timing.Result) x[1];
                Row row = new Row("peaks", (String) x[0], "n=" + STREAM_N, d.id(), tr.warmup(), tr.reps(), tr.best(),
                        tr.median(), tr.max(), 0, 4.0 * STREAM_N, "sizes and values checked by the contract suite", Map.of());
                rows.add(row);
                p.put(x[0] + "_gbps", row.bytes() / row.minS() / 1e9);
            }
        }
        if (d.id().equals("cpu") || d.info().type() == DeviceInfo.Type.CPU) {
            Timing.Result triad = Triad.measure(STREAM_N, Timing.Plan.FULL.minReps());
            p.put("java_triad_gbps", Triad.bytes(STREAM_N) / triad.best() / 1e9);
        }
        log.printf("  peaks: sgemm %.1f GFLOP/s, bandwidth (axpy) %.1f GB/s, host→device %.1f GB/s, device→host %.1f GB/s%n",
                p.get("sgemm_gflops"), p.get("bandwidth_gbps"), p.get("host_to_device_gbps"), p.get("device_to_host_gbps"));
    }

    /** Validates the case against the reference, then times it; a failed check is a row with no timing. */
    private Row measure(Device d, Device ref, Case c) {
        return measure(d, ref, c, plan);
    }

    private Row measure(Device d, Device ref, Case c, Timing.Plan timing) {
        AbstractDevice counted = d instanceof AbstractDevice a ? a : null;
        long held = counted == null ? 0 : counted.memoryBytes();
        if (counted != null) {
            counted.resetPeakMemory();
        }
        try (Arena arena = new Arena(d)) {
            Case.Prepared p = c.setup().on(arena, false);
            Case.once(d, p);
            String validation;
            if (d.id().equals("reference")) {
                validation = "reference (the oracle)";
            } else {
                try (Arena ra = new Arena(ref)) {
                    Case.Prepared rp = c.setup().on(ra, true);
                    Case.once(ref, rp);
                    double err = Compare.outputs(ref, rp.outputs(), d, p.outputs());
                    boolean prefix = rp.outputs().get(0).size() < p.outputs().get(0).size();
                    validation = String.format("max error %.1e of scale%s", err, prefix ? " (reference on the first rows)" : "");
                    if (!(err <= Compare.TOLERANCE)) {
                        log.printf("  %-8s %-32s %-40s FAILED the reference check: %s%n", c.group(), c.op(), c.shape(), validation);
                        return new Row(c.group(), c.op(), c.shape(), d.id(), 0, 0, Double.NaN, Double.NaN, Double.NaN,
                                c.flops(), c.bytes(), "FAILED: " + validation, Map.of());
                    }
                }
            }
            Timing.Plan pl = timing;
            Timing.Result t = Timing.measure(new Timing.Plan(0, 1, 0, 1), () -> Case.once(d, p));
            if (t.best() > 1.0) {
                pl = timing.slow();
            }
            Timing.Result timed = Timing.measure(pl, () -> Case.once(d, p));
            Row r = Row.timed(c, d.id(), timed, validation);
            if (counted != null) {
                r.extra().put("memory_mb", (counted.peakMemoryBytes() - held) / 1048576.0);
            }
            log.printf("  %-8s %-32s %-40s %10.3f ms  (%s)%n", c.group(), c.op(), c.shape(), timed.median() * 1e3, validation);
            return r;
        } catch (RuntimeException e) {
            log.printf("  %-8s %-32s %-40s error: %s%n", c.group(), c.op(), c.shape(), e.getMessage());
            return new Row(c.group(), c.op(), c.shape(), d.id(), 0, 0, Double.NaN, Double.NaN, Double.NaN, c.flops(),
                    c.bytes(), "ERROR: " + e.getMessage(), Map.of());
        }
    }

    // ------------------------------------------------------------------ steps and generation in child JVMs

    /** The layers of the architecture's model in this run: 2 under --quick, else the full model's. */
    private int layers(String arch) {
        return options.quick() ? 2 : StepBench.defaultLayers(arch);
    }

    /**
     * This JVM's command line for a child class of the bench: the same flags, so a step child gets the
     * memory settings {@code bin/nola} gives every command ({@code NOLA_MEMORY_FLAGS} in
     * {@code bin/jdk.sh}) and its RSS is what {@code nola finetune} on that device uses; nothing is chosen
     * per device here.
     */
    private static List<String> javaCommand(Class<?> main) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        return cmd;
    }

    /**
     * Runs {@link StepBench} in a JVM of its own (so its peak RSS is this variant's) over the points,
     * smallest first; the step point's figures become a {@code step} row, the scaling points' {@code scaling}
     * rows. A device that lacks one of the architecture's ops gives a row that says it was skipped and why.
     */
    private void steps(String device, String arch, String variant, List<String> points, String stepPoint,
                       List<String> scalingPoints) {
        int layers = layers(arch);
        List<String> cmd = javaCommand(StepBench.class);
        cmd.addAll(List.of("--arch", arch, "--device", device, "--variant", variant, "--points", String.join(",", points),
                "--layers", Integer.toString(layers), "--steps", options.quick() ? "2" : "10", "--warmup",
                options.quick() ? "1" : "2", "--profile", options.quick() ? "1" : "2", "--weights", options.weights().label()));
        String op = StepBench.op(arch);
        log.printf("  %s step %s on %s at %s (its own JVM) ...%n", arch, variant, device, points);
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
            Process p = pb.start();
            JsonLines.read(p, n -> {
                if (n.has("skipped")) {
                    String[] bt = (stepPoint != null ? stepPoint : points.get(0)).split("x");
                    rows.add(skippedRow(stepPoint != null ? "step" : "scaling", op, StepBench.shape(arch, variant, layers,
                            Integer.parseInt(bt[0]), Integer.parseInt(bt[1])), device, n.get("skipped").asText()));
                    log.printf("    skipped on %s: %s%n", device, n.get("skipped").asText());
                    return;
                }
                String point = n.get("batch").asInt() + "x" + n.get("seq").asInt();
                String shape = StepBench.shape(arch, variant, layers, n.get("batch").asInt(), n.get("seq").asInt());
                Map<String, Object> extra = new LinkedHashMap<>();
                for (String f : List.of("tokens_per_s", "transfer_s", "transfer_bytes", "kernel_s", "device_peak_mb",
                        "peak_rss_mb", "gc_s", "jit_s", "loss")) {
                    extra.put(f, n.get(f).asDouble());
                }
                if (n.path("breakdown").size() > 0) { // the profiled pass: seconds per op, see Breakdown
                    extra.put("breakdown", JsonLines.JSON.convertValue(n.get("breakdown"), Map.class));
                }
                extra.put("tokens", n.get("batch").asInt() * n.get("seq").asInt());
                extra.put("weights", options.weights().label());
                if (n.path("backend_per_step").size() > 0) { // e.g. TornadoVM's profiler, when enabled
                    extra.put("backend_per_step", JsonLines.JSON.convertValue(n.get("backend_per_step"), Map.class));
                }
                for (String group : List.of("step", "scaling")) {
                    boolean belongs = group.equals("step") ? point.equals(stepPoint)
                            : variant.equals("nola_materialized") && scalingPoints.contains(point);
                    if (belongs) {
                        rows.add(new Row(group, op, shape, device, n.get("warmup").asInt(),
                                n.get("reps").asInt(), n.get("min_s").asDouble(), n.get("median_s").asDouble(),
                                n.get("max_s").asDouble(), n.get("flops").asDouble(), 0, n.get("validation").asText(),
                                extra));
                    }
                }
                log.printf("    %s (weights %s): %.1f tokens/s, step %.3f s (transfers %.2f ms), device peak %.0f MB, RSS %d MB%n",
                        shape, options.weights().label(), n.get("tokens_per_s").asDouble(), n.get("median_s").asDouble(),
                        n.get("transfer_s").asDouble() * 1e3, n.get("device_peak_mb").asDouble(),
                        n.get("peak_rss_mb").asInt());
            });
            if (!p.waitFor(30, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException("the " + arch + " step on " + device + " ran over 30 minutes");
            }
            if (p.exitValue() != 0) {
                rows.add(new Row(stepPoint != null ? "step" : "scaling", op, StepBench.shape(arch, variant, layers, 0, 0),
                        device, 0, 0, Double.NaN,
                        Double.NaN, Double.NaN, 0, 0, "ERROR: the step's JVM exited with status " + p.exitValue()
                        + " (its messages are above)", Map.of()));
            }
        } catch (IOException e) {
            throw new IllegalStateException("could not start the " + arch + " step's JVM: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A row that was not measured because the device lacks an op; its validation says so and why. */
    static Row skippedRow(String group, String op, String shape, String device, String reason) {
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("skipped", reason);
        return new Row(group, op, shape, device, 0, 0, Double.NaN, Double.NaN, Double.NaN, 0, 0, "SKIPPED: " + reason, extra);
    }

    /** Prompt and new tokens of the generation rows: 128 + 128 (quick: 32 + 16). */
    int[] generationLengths() {
        return options.quick() ? new int[] {32, 16} : new int[] {128, 128};
    }

    /**
     * Greedy generation on the architecture's model with and without the KV cache, each in a JVM of its
     * own ({@link GenerateBench}); two {@code generate} rows. The bench asserts that both modes generated
     * the same tokens: where they did not, both rows fail their check and say at which token.
     */
    private void generate(String device, String arch) {
        int layers = layers(arch);
        int[] len = generationLengths();
        Map<String, Row> byMode = new LinkedHashMap<>();
        Map<String, int[]> tokens = new LinkedHashMap<>();
        for (String mode : GenerateBench.MODES) {
            String shape = GenerateBench.shape(mode, layers, len[0], len[1]);
            List<String> cmd = javaCommand(GenerateBench.class);
            // the recompute path is slow (the whole context per token): one timed run of it
            cmd.addAll(List.of("--arch", arch, "--device", device, "--mode", mode, "--layers", Integer.toString(layers),
                    "--prompt", Integer.toString(len[0]), "--new", Integer.toString(len[1]), "--reps",
                    mode.equals("cache") && !options.quick() ? "3" : "1", "--warmup", "1", "--weights",
                    options.weights().label()));
            log.printf("  %s generate %s on %s (its own JVM) ...%n", arch, shape, device);
            try {
                Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
                JsonLines.read(p, n -> {
                    if (n.has("skipped")) {
                        byMode.put(mode, skippedRow("generate", GenerateBench.op(arch), shape, device, n.get("skipped").asText()));
                        return;
                    }
                    Map<String, Object> extra = new LinkedHashMap<>();
                    extra.put("tokens_per_s", n.get("tokens_per_s").asDouble());
                    extra.put("peak_rss_mb", n.get("peak_rss_mb").asDouble());
                    extra.put("tokens", n.get("new").asInt());
                    int[] got = JsonLines.JSON.convertValue(n.get("tokens"), int[].class);
                    tokens.put(mode, got);
                    byMode.put(mode, new Row("generate", GenerateBench.op(arch), shape, device, n.get("warmup").asInt(),
                            n.get("reps").asInt(), n.get("min_s").asDouble(), n.get("median_s").asDouble(),
                            n.get("max_s").asDouble(), 0, 0, n.get("validation").asText(), extra));
                    log.printf("    %s: %.2f new tokens/s, %.3f s, RSS %d MB%n", shape, n.get("tokens_per_s").asDouble(),
                            n.get("median_s").asDouble(), n.get("peak_rss_mb").asInt());
                });
                if (!p.waitFor(30, TimeUnit.MINUTES)) {
                    p.destroyForcibly();
                    throw new IllegalStateException("the " + arch + " generation on " + device + " ran over 30 minutes");
                }
                if (p.exitValue() != 0 && !byMode.containsKey(mode)) {
                    byMode.put(mode, new Row("generate", GenerateBench.op(arch), shape, device, 0, 0, Double.NaN, Double.NaN,
                            Double.NaN, 0, 0, "ERROR: the generation's JVM exited with status " + p.exitValue()
                            + " (its messages are above)", Map.of()));
                }
            } catch (IOException e) {
                throw new IllegalStateException("could not start the " + arch + " generation's JVM: " + e.getMessage(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        rows.addAll(sameTokens(byMode, tokens));
    }

    /**
     * The generation rows, with the check that the cached and the recomputing run generated the same
     * greedy tokens added to their validation (or, where they differ, both rows marked FAILED with the
     * first differing token; the figures stay, so the report shows what was measured).
     */
    static List<Row> sameTokens(Map<String, Row> byMode, Map<String, int[]> tokens) {
        int[] a = tokens.get("cache");
        int[] b = tokens.get("no_cache");
        List<Row> out = new ArrayList<>();
        for (Row r : byMode.values()) {
            if (a == null || b == null || Double.isNaN(r.medianS())) {
                out.add(r);
                continue;
            }
            int at = GenerateBench.firstDifference(a, b);
            String v = at < 0 ? r.validation() + "; the same " + a.length + " greedy tokens with and without the cache"
                    : "FAILED: greedy tokens with and without the cache differ from new token " + at + " on ("
                    + (at < a.length ? a[at] : "none") + " with, " + (at < b.length ? b[at] : "none") + " without); "
                    + r.validation();
            r.extra().put("tokens_identical", at < 0);
            out.add(new Row(r.group(), r.op(), r.shape(), r.device(), r.warmup(), r.reps(), r.minS(), r.medianS(), r.maxS(),
                    r.flops(), r.bytes(), v, r.extra()));
        }
        return out;
    }

    // ------------------------------------------------------------------ peers and derived figures

    private void merge(TorchPeer.Result torch) {
        if (torch.skipped() != null) {
            log.println("  PyTorch skipped: " + torch.skipped());
            return;
        }
        for (Iterator<JsonNode> it = torch.records().values().iterator(); it.hasNext(); ) {
            JsonNode n = it.next();
            if (!n.has("median_s")) {
                continue;
            }
            Map<String, Object> extra = new LinkedHashMap<>();
            for (String f : List.of("tokens_per_s", "peak_rss_mb", "loss")) {
                if (n.has(f)) {
                    extra.put(f, n.get(f).asDouble());
                }
            }
            rows.add(new Row(n.get("group").asText(), n.get("op").asText(), n.get("shape").asText(), "torch",
                    n.path("warmup").asInt(), n.path("reps").asInt(), n.get("min_s").asDouble(), n.get("median_s").asDouble(),
                    n.path("max_s").asDouble(Double.NaN), 0, 0, "peer", extra));
        }
        for (Row r : rows) {
            if (r.device().equals("torch") || r.device().equals("numpy") || Double.isNaN(r.medianS())) {
                continue;
            }
            JsonNode n = torch.get(r.group(), r.op(), r.shape());
            if (n != null && n.has("median_s")) {
                double theirs = n.get("median_s").asDouble();
                r.extra().put("torch_median_s", theirs);
                r.extra().put("speed_vs_torch", theirs / r.medianS());
            }
        }
    }

    /**
     * The linalg group's matmuls and the 1024³ sgemm again, each device against PyTorch (and the sgemm
     * against numpy too) in alternating rounds ({@link Paired}): ratios that the machine's drift between
     * our timings and the peers' does not reach.
     */
    private void paired(List<String> devices) {
        Path script = TorchPeer.script();
        List<Case> linalg = Paired.cases(KernelCases.of(List.of("linalg")));
        Case sgemm = sgemmPeak();
        int rounds = options.quick() ? Paired.QUICK_ROUNDS : Paired.ROUNDS;
        double seconds = options.quick() ? Paired.QUICK_ROUND_SECONDS : Paired.ROUND_SECONDS;
        log.println("paired rounds: the matmuls against PyTorch, the 1024³ sgemm against PyTorch and numpy ...");
        record Pairing(Case c, Paired.Session peer) {
        }
        try (Paired.Session torch = script == null ? null : Paired.Session.start("torch",
                List.of("/usr/bin/python3", script.toString(), "--serve", "--groups", "peaks,linalg"), log);
             Paired.Session numpy = Paired.Session.start("numpy", List.of("python3", "-c", NumpyPeer.SERVE), log)) {
            List<Pairing> work = new ArrayList<>(List.of(new Pairing(sgemm, torch), new Pairing(sgemm, numpy)));
            linalg.forEach(c -> work.add(new Pairing(c, torch)));
            work.removeIf(w -> w.peer() == null); // a peer that did not start has said so in the log
            for (String id : devices) {
                try (Device d = Backends.open(id)) {
                    for (Pairing w : work) {
                        Case c = w.c();
                        Paired.Session peer = w.peer();
                        try (Arena arena = new Arena(d)) {
                            Row r = Paired.run(d, c, c.setup().on(arena, false), peer, rounds, seconds);
                            if (r != null) {
                                rows.add(r);
                                log.printf("  paired %-8s %-14s %-22s ours %9.3f ms, %s %9.3f ms: ×%s %.2f (%.2f–%.2f)%n", id,
                                        c.op(), c.shape(), r.medianS() * 1e3, peer.name, r.number("peer_median_s") * 1e3,
                                        peer.name, r.number("speed_vs_peer"), r.number("speed_vs_peer_min"),
                                        r.number("speed_vs_peer_max"));
                            }
                        } catch (RuntimeException e) {
                            log.printf("  paired %-8s %-14s %-22s error: %s%n", id, c.op(), c.shape(), e.getMessage());
                        }
                    }
                }
            }
        } catch (java.io.IOException e) {
            log.println("  paired rounds stopped: " + e.getMessage());
        }
    }

    /** Each row's fraction of its device's roofline bound, the torch rows' work counts, and the steps' matmul floors. */
    private void derive() {
        Map<String, Row> byKey = new LinkedHashMap<>();
        for (Row r : rows) {
            if (!r.device().equals("torch") && !r.device().equals("numpy")) {
                byKey.putIfAbsent(r.key(), r);
            }
        }
        List<Row> fixed = new ArrayList<>();
        for (Row r : rows) {
            Row withWork = r;
            if (r.device().equals("torch") && byKey.containsKey(r.key())) {
                Row ours = byKey.get(r.key());
                withWork = new Row(r.group(), r.op(), r.shape(), r.device(), r.warmup(), r.reps(), r.minS(), r.medianS(),
                        r.maxS(), ours.flops(), ours.bytes(), r.validation(), r.extra());
            }
            Map<String, Object> p = peaks.get(withWork.device());
            if (p != null && !Double.isNaN(withWork.medianS())) {
                double peakFlops = ((Number) p.get("sgemm_gflops")).doubleValue();
                double bw = ((Number) p.get("bandwidth_gbps")).doubleValue();
                double bound = Double.NaN;
                double achieved = Double.NaN;
                if (withWork.flops() > 0 && withWork.bytes() > 0) {
                    bound = Math.min(peakFlops, withWork.intensity() * bw);
                    achieved = withWork.gflops();
                } else if (withWork.flops() > 0) {
                    bound = peakFlops;
                    achieved = withWork.gflops();
                } else if (withWork.bytes() > 0) {
                    bound = bw;
                    achieved = withWork.gbps();
                }
                if (!Double.isNaN(bound)) {
                    withWork.extra().put("of_peak", achieved / bound);
                }
            }
            fixed.add(withWork);
        }
        rows.clear();
        rows.addAll(fixed);
        MatmulFloor.derive(rows, peaks); // after the torch rows got their work counts: it adds to the rows' extra maps
    }

    // ------------------------------------------------------------------ output

    /** Writes the report into a temporary sibling directory, then renames it to {@code --out}. */
    Path write() throws IOException {
        Path out = options.out().toAbsolutePath();
        Path parent = out.getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, out.getFileName() + ".tmp");
        try {
            Files.createDirectories(tmp.resolve("charts"));
            List<String> charts = Charts.write(tmp.resolve("charts"), peaks, rows);
            meta.put("charts", charts);
            Files.writeString(tmp.resolve("report.md"), Report.markdown(meta, peaks, rows, "charts"), StandardCharsets.UTF_8);
            Files.writeString(tmp.resolve("results.csv"), Report.csv(rows), StandardCharsets.UTF_8);
            Files.writeString(tmp.resolve("results.json"), Report.json(meta, peaks, rows), StandardCharsets.UTF_8);
            if (Files.isDirectory(out)) {
                Files.delete(out); // empty, checked when the options were parsed
            }
            Files.move(tmp, out, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return out;
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
    }

    private static void deleteTree(Path dir) {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort: the temporary directory is named .tmp
        }
    }

    List<Row> rows() {
        return rows;
    }
}
