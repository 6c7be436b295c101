package dev.nola.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nola.adapter.Adapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.cli.run.DataSpec;
import dev.nola.cli.run.MethodSpec;
import dev.nola.cli.run.ModelSource;
import dev.nola.cli.run.Progress;
import dev.nola.cli.run.RunLog;
import dev.nola.cli.run.RunReport;
import dev.nola.cli.run.Workload;
import dev.nola.config.RuntimeSettings;
import dev.nola.io.AtomicFiles;
import dev.nola.io.Echo;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.bases.SmallBases;
import dev.nola.models.experiments.PaperClaim;
import dev.nola.models.image.ImageSet;
import dev.nola.models.train.Evaluation;
import dev.nola.models.train.Trainer;
import dev.nola.models.train.TrainerSettings;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code nola quickstart}: the paper's claim on real data, end to end — the project's ViT base
 * (Fashion-MNIST classes 0–4, built on the first run and cached) adapted to 10 images of each of the
 * unseen classes 5–9 with the head alone, NOLA, LoRA r = 1 and LoRA r = 4 (on the MLPs); or, with
 * {@code --task gpt2} or {@code --task llama}, the fortunes GPT-2 or the fortunes LLaMA adapted to the
 * King James Bible with NOLA, LoRA r = 1 and r = 4 on the query and value projections (the paper's
 * setting; NOLA's k and l from {@link PaperClaim#domainNola}). Prints a table (trainable
 * numbers, adapter bytes on disk, the metric before and after) and writes a report with charts.
 * Installs nothing: a missing data package is named with the command that installs it.
 */
@Command(name = "quickstart", mixinStandardHelpOptions = true, description = {
        "NOLA beside LoRA r=1, LoRA r=4 (and the head alone) on real data: few-shot Fashion-MNIST with the project's ViT"
                + " base (default), or the fortunes GPT-2 or LLaMA adapted to the King James Bible (--task gpt2, --task llama).",
        "Bases are built on the first run and cached ($NOLA_CACHE, default ~/.cache/nola)."})
final class QuickstartCommand implements Callable<Integer> {

    /** Where the King James text is cached, produced by Debian's {@code bible} program. */
    static final String KJV_FILE = "kjv.txt";

    /** The tasks, in the order help lists them. */
    static final List<String> TASKS = List.of("vit", "gpt2", "llama");

    @Spec
    CommandSpec spec;

    @ParentCommand
    Main main;

    @Option(names = "--task", defaultValue = "vit", paramLabel = "TASK", description = "vit, gpt2 or llama. Default: ${DEFAULT-VALUE}.")
    String task;

    @Option(names = "--steps", paramLabel = "N", description = "Training steps per method. Default: 150 (vit), 200 (gpt2, llama).")
    Long steps;

    @Option(names = "--seeds", defaultValue = "1", paramLabel = "N", description = "Seeds per method (mean reported). Default: ${DEFAULT-VALUE}.")
    int seeds;

    @Option(names = "--shots", defaultValue = "10", paramLabel = "K", description = "vit: training images per class. Default: ${DEFAULT-VALUE}.")
    int shots;

    @Option(names = "--held-out", defaultValue = "0", paramLabel = "N",
            description = "Evaluate on at most N test images / held-out windows (0: vit all 5,000, gpt2 and llama 64).")
    int heldOut;

    @Option(names = "--base-steps", defaultValue = "0", paramLabel = "N",
            description = "Pretraining steps of a base built now (0: the recipe's); other counts are cached apart.")
    long baseSteps;

    @Option(names = "--out", defaultValue = "nola-quickstart", paramLabel = "DIR",
            description = "Where the adapters and the report go. Default: ${DEFAULT-VALUE}.")
    Path out;

    @Mixin
    RunOptions.Output output;

    @Override
    public Integer call() {
        if (!TASKS.contains(task)) {
            throw new IllegalArgumentException("--task " + Echo.quote(task) + " is not a task; expected vit, gpt2 or llama");
        }
        boolean vit = task.equals("vit");
        long n = steps != null ? steps : vit ? 150 : 200;
        if (n <= 0 || seeds <= 0 || shots <= 0 || heldOut < 0 || baseSteps < 0) {
            throw new IllegalArgumentException("--steps, --seeds and --shots must be > 0 and --held-out, --base-steps >= 0; got "
                    + n + ", " + seeds + ", " + shots + ", " + heldOut + ", " + baseSteps);
        }
        Path data = vit ? requireFashion() : requireKjv();
        PrintWriter o = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Progress.Mode mode = output.mode();
        long start = System.nanoTime();
        try (Device d = Backends.open(RuntimeSettings.resolve(main.device()))) {
            if (mode != Progress.Mode.QUIET) {
                err.println("nola quickstart: device " + d.id() + " (" + d.info().name() + ")");
                err.flush();
            }
            String baseName = switch (task) {
                case "vit" -> ModelSource.VIT_FASHION;
                case "gpt2" -> ModelSource.GPT2_FORTUNES;
                default -> ModelSource.LLAMA_FORTUNES;
            };
            long t0 = System.nanoTime();
            ModelSource src = ModelSource.resolve(baseName, d, baseSteps,
                    new Progress(mode, err, "pretrain " + baseName + " (first run only)", vit ? "images" : "tokens"));
            double baseSeconds = (System.nanoTime() - t0) / 1e9;
            DataSpec ds = new DataSpec(data, vit ? "idx" : "text", heldOut > 0 ? heldOut : vit ? 0 : 64);
            List<MethodSpec> methods = methods(vit, src);
            RunReport rep = new RunReport("quickstart", vit ? String.format("Fashion-MNIST classes 5-9, %d-shot, ViT base", shots)
                    : "King James Bible, fortunes " + src.displayName(), vit ? "accuracy" : "perplexity").device(d);
            for (MethodSpec m : methods) {
                double[] after = new double[seeds];
                double before = Double.NaN;
                RunLog first = null;
                long trainable = 0;
                long head = 0;
                long bytes = 0;
                long mt = System.nanoTime();
                for (int s = 0; s < seeds; s++) {
                    long seed = 1 + s;
                    MethodSpec ms = new MethodSpec(m.method(), m.nola(), m.rank(), m.targets(), seed);
                    try (Workload w = workload(d, src, ds, ms, vit, seed)) {
                        Evaluation b = w.evaluate();
                        if (s == 0) {
                            before = w.metric(b);
                        }
                        RunLog log = new RunLog(m.label(), new Progress(mode, err, m.label() + (seeds > 1 ? " seed " + seed : ""),
                                w.task().itemUnit()));
                        double lr = m.method().equals("lora") ? (vit ? 5e-3 : 2e-3) : vit ? 1e-2 : 2e-2;
                        Trainer.Result r = Trainer.run(w.task(), new TrainerSettings(n, lr, n / 10, vit, 1.0, 0.0, 0, 0, 0.999),
                                null, false, log);
                        after[s] = w.metric(r.last());
                        if (s == 0) {
                            first = log;
                            Path dir = out.resolve("adapters").resolve(m.label());
                            trainable = w.adapters().values().stream().mapToLong(Adapter::parameterCount).sum();
                            head = w.headNumbers();
                            bytes = m.method().equals("head") ? headBytes(w, dir) : ms.save(dir, w.adapters(), src.name());
                        }
                    }
                }
                rep.add(new RunReport.Method(m.label(), trainable, head, bytes, before,
                        java.util.Arrays.stream(after).average().orElse(Double.NaN), after, first, (System.nanoTime() - mt) / 1e9));
            }
            double total = (System.nanoTime() - start) / 1e9;
            ObjectNode c = rep.config();
            c.put("task", task);
            c.put("base", src.dir().toString());
            c.put("data", data.toString());
            c.put("steps", n);
            c.put("seeds", seeds);
            if (vit) {
                c.put("shots", shots);
            }
            rep.note("base_seconds", baseSeconds);
            rep.note("seconds", total);
            Path reportDir = out.resolve("report");
            rep.write(reportDir);
            if (output.json) {
                ObjectNode j = RunReportJson.summary(rep);
                j.put("report", reportDir.toString());
                o.println(j.toString());
            } else {
                table(o, rep, vit, n, d, total, baseSeconds, reportDir);
            }
        }
        o.flush();
        return 0;
    }

    /**
     * The methods of a task: on the ViT the head alone and NOLA on the MLPs; on a language model NOLA
     * on its query and value projections ({@link ModelSource#defaultTargets()}: q, v for GPT-2, q_proj,
     * v_proj for LLaMA) with {@link PaperClaim#domainNola}'s k and l; then LoRA r = 1 and r = 4 on the
     * same modules.
     */
    private static List<MethodSpec> methods(boolean vit, ModelSource src) {
        List<MethodSpec> m = new ArrayList<>();
        List<String> targets = src.defaultTargets();
        if (vit) {
            m.add(new MethodSpec("head", null, 0, targets, 1));
            // k + l = 80 per matrix, 8 matrices: 640 numbers, a quarter of LoRA r = 1's 2,560
            m.add(new MethodSpec("nola", NolaConfig.offset(4, 40, 40, 4f, 7L, targets)
                    .withBasisMode(NolaConfig.BasisMode.MATERIALIZED), 4, targets, 1));
        } else {
            // half of LoRA r = 1's numbers: GPT-2 k = l = 64 (512 against 1,024), LLaMA k = l = 56 (448 against 896)
            m.add(new MethodSpec("nola", PaperClaim.domainNola(src.spec(), targets)
                    .withBasisMode(NolaConfig.BasisMode.MATERIALIZED), 8, targets, 1));
        }
        m.add(new MethodSpec("lora", null, 1, targets, 1));
        m.add(new MethodSpec("lora", null, 4, targets, 1));
        return m;
    }

    private Workload workload(Device d, ModelSource src, DataSpec ds, MethodSpec m, boolean vit, long seed) {
        ModelSource.Setup setup = vit ? new ModelSource.Setup(25, seed, new int[] {5, 6, 7, 8, 9}, shots, null)
                : ModelSource.Setup.text(8, seed);
        return src.workload(d, m.create(d, src.spec()), ds, setup);
    }

    private static long headBytes(Workload w, Path dir) {
        Path f = dir.resolve("head.safetensors");
        w.saveHead(f);
        return f.toFile().length();
    }

    private void table(PrintWriter o, RunReport rep, boolean vit, long n, Device d, double total, double baseSeconds,
                       Path reportDir) {
        o.printf("%s — %d steps per method, %d seed%s, device %s%n", rep.toJson().path("title").asText(), n, seeds,
                seeds == 1 ? "" : "s", d.id());
        String metric = rep.metric();
        o.printf("  %-9s %12s %14s %12s %12s%n", "method", "trainable", "adapter bytes", metric + " before", "after");
        for (RunReport.Method m : rep.methods()) {
            String numbers = m.headNumbers() > 0 && m.trainable() > 0 ? String.format("%,d+%,d", m.trainable(), m.headNumbers())
                    : String.format("%,d", m.trainable() + m.headNumbers());
            o.printf("  %-9s %12s %14s %12s %12s%n", m.name(), numbers, String.format("%,d", m.adapterBytes()),
                    FinetuneCommand.fmt(metric, m.before()), FinetuneCommand.fmt(metric, m.after())
                            + (seeds > 1 ? String.format(" ±%s", FinetuneCommand.fmt(metric, std(m.perSeed()))) : ""));
        }
        if (vit) {
            o.println("  (trainable: adapter numbers + the new 5-class head's, which every method trains)");
        }
        o.printf("report: %s (charts: loss.png, metric.png, params.png)%n", reportDir.resolve("report.json"));
        o.printf("(%.0f s; base %s %.0f s)%n", total, baseSeconds < 1 ? "from the cache," : "built in", baseSeconds);
    }

    private static double std(double[] v) {
        double m = java.util.Arrays.stream(v).average().orElse(0);
        return v.length < 2 ? 0 : Math.sqrt(java.util.Arrays.stream(v).map(x -> (x - m) * (x - m)).sum() / (v.length - 1));
    }

    private static Path requireFashion() {
        Path dir = ImageSet.DEBIAN_FASHION_MNIST;
        if (!Files.isRegularFile(dir.resolve("train-images-idx3-ubyte.gz")) && !Files.isRegularFile(dir.resolve("train-images-idx3-ubyte"))) {
            throw new IllegalArgumentException("Fashion-MNIST is missing (" + dir + "); install it with: apt-get install dataset-fashion-mnist");
        }
        return dir;
    }

    /** The King James text in the cache, written by Debian's {@code bible} program once. */
    private static Path requireKjv() {
        Path file = SmallBases.cacheDir().resolve("data").resolve(KJV_FILE);
        if (Files.isRegularFile(file)) {
            return file;
        }
        Path bible = Path.of("/usr/bin/bible");
        if (!Files.isExecutable(bible)) {
            throw new IllegalArgumentException("the King James Bible is missing (" + bible + "); install it with: apt-get install bible-kjv");
        }
        try {
            Process p = new ProcessBuilder(bible.toString(), "gen1:1-rev22:21").redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] text = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0 || text.length < 1_000_000) {
                throw new IllegalStateException(bible + " gen1:1-rev22:21 gave " + text.length + " bytes (exit "
                        + p.exitValue() + "); expected the whole text (about 4.3 MB)");
            }
            AtomicFiles.write(file, text);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + bible + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + bible);
        }
    }
}
