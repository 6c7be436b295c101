package dev.nola.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nola.adapter.Adapter;
import dev.nola.cli.run.DataSpec;
import dev.nola.cli.run.Distribution;
import dev.nola.cli.run.FinetuneLayout;
import dev.nola.cli.run.MethodSpec;
import dev.nola.cli.run.ModelSource;
import dev.nola.cli.run.Progress;
import dev.nola.cli.run.RunLog;
import dev.nola.cli.run.RunReport;
import dev.nola.cli.run.Workload;
import dev.nola.config.RuntimeSettings;
import dev.nola.io.AtomicFiles;
import dev.nola.io.Echo;
import dev.nola.io.OutputPaths;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.bases.SmallBases;
import dev.nola.models.train.AccumulatingTask;
import dev.nola.models.train.Evaluation;
import dev.nola.models.train.Trainer;
import dev.nola.models.train.TrainerSettings;
import dev.nola.models.train.TrainingListener;
import dev.nola.models.train.TrainingTask;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code nola finetune}: trains a NOLA or LoRA adapter (or a ViT's head) on a Hugging Face causal language model (GPT-2) or
 * the project's ViT, and writes {@code OUT/adapter}, {@code OUT/report} and {@code OUT/checkpoint}
 * ({@link FinetuneLayout}). Checkpoints are atomic directories, so a run stopped at any point
 * (Ctrl-C, or SIGKILL) keeps the last one and continues from it with {@code --resume}.
 */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = "Train a NOLA or LoRA adapter on a causal language model (text) or the project's ViT (IDX images); writes OUT/adapter and OUT/report.")
final class FinetuneCommand implements Callable<Integer> {

    /** The key of the training data's SHA-256 among a checkpoint's inputs. */
    static final String DATA_DIGEST = "data_sha256";

    @Spec
    CommandSpec spec;

    @ParentCommand
    Main main;

    @Option(names = "--model", required = true, paramLabel = "MODEL",
            description = "gpt2-fortunes, llama-fortunes, vit-fashion (the project's bases, built on first use) or a directory: a Hugging Face causal LM checkpoint (GPT-2, LLaMA, Mistral, Qwen2) or a ViT base.")
    String model;

    @Mixin
    RunOptions.Data data;

    @Mixin
    RunOptions.Method method;

    @Option(names = "--steps", paramLabel = "N", description = "Optimizer steps (or --epochs).")
    Long steps;

    @Option(names = "--epochs", paramLabel = "E", description = "Passes over the training data (instead of --steps).")
    Double epochs;

    @Option(names = "--lr", paramLabel = "LR", description = "Peak learning rate. Default: 1e-2 (nola, head), 2e-3 (lora).")
    Double lr;

    @Option(names = "--schedule", defaultValue = "linear", paramLabel = "S",
            description = "linear or cosine decay after a warm-up. Default: ${DEFAULT-VALUE}.")
    String schedule;

    @Option(names = "--warmup", paramLabel = "N", description = "Warm-up steps. Default: 5%% of the steps.")
    Long warmup;

    @Option(names = "--batch", defaultValue = "8", paramLabel = "B", description = "Sequences or images per step. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--accumulate", paramLabel = "N",
            description = "Micro-batches of --batch each per optimizer step, their gradients summed in order and averaged"
                    + " (with --spark: the workers' shards per step). Default: 1 (with --spark: the cluster's cores).")
    Integer accumulate;

    @Option(names = "--spark", paramLabel = "MASTER",
            description = "Train data-parallel on a Spark cluster (local[N], spark://HOST:PORT): the nola-spark module runs"
                    + " --accumulate micro-batches per step on the executors.")
    String spark;

    @Option(names = "--eval-every", defaultValue = "0", paramLabel = "N", description = "Evaluate every N steps (0: only at the end).")
    long evalEvery;

    @Option(names = "--checkpoint-every", defaultValue = "0", paramLabel = "N",
            description = "Write a checkpoint every N steps. Default: 10%% of the steps.")
    long checkpointEvery;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory: adapter/, report/, checkpoint/.")
    Path out;

    @Option(names = "--resume", description = "Continue from OUT/checkpoint.")
    boolean resume;

    @Option(names = "--resume-changed-data",
            description = "With --resume: continue although --data changed since the checkpoint was written (its SHA-256 differs).")
    boolean resumeChangedData;

    @Option(names = "--base-steps", defaultValue = "0", paramLabel = "N", hidden = true,
            description = "Pretraining steps of a base built now (0: the recipe's).")
    long baseSteps;

    @Mixin
    RunOptions.Weights weights;

    @Mixin
    RunOptions.Output output;

    @Override
    public Integer call() {
        weights.precision(); // a bad --weights is refused before anything is opened
        if (steps == null && epochs == null || steps != null && epochs != null) {
            throw new IllegalArgumentException("give one of --steps N or --epochs E (got " + (steps == null ? "neither" : "both") + ")");
        }
        if (steps != null && steps <= 0 || epochs != null && !(epochs > 0)) {
            throw new IllegalArgumentException((steps != null ? "--steps is " + steps : "--epochs is " + epochs) + "; expected > 0");
        }
        if (batch <= 0) {
            throw new IllegalArgumentException("--batch is " + batch + "; expected > 0");
        }
        if (accumulate != null && accumulate <= 0) {
            throw new IllegalArgumentException("--accumulate is " + accumulate + "; expected > 0");
        }
        if (spark != null && main.distribution == null) {
            throw new IllegalArgumentException("--spark " + Echo.quote(spark) + " needs the nola-spark module (distributed/);"
                    + " build it and run through bin/nola, or submit distributed/target/nola-spark.jar with spark-submit");
        }
        if (!schedule.equals("linear") && !schedule.equals("cosine")) {
            throw new IllegalArgumentException("--schedule " + Echo.quote(schedule) + " is not a schedule; expected linear or cosine");
        }
        DataSpec dataSpec = data.spec();
        Path ckptDir = out.resolve(FinetuneLayout.CHECKPOINT);
        if (Files.isDirectory(out)) {
            // what a run killed with SIGKILL left: a temporary removed, a checkpoint renamed aside put back
            AtomicFiles.recoverDirectory(ckptDir);
        }
        if (!resume && Files.exists(ckptDir)) {
            throw new IllegalArgumentException("--out " + Echo.path(out) + " holds a checkpoint; pass --resume to continue it,"
                    + " or choose another --out");
        }
        if (resume && !Files.isRegularFile(ckptDir.resolve("trainer.json"))) {
            throw new IllegalArgumentException("--resume: " + Echo.path(ckptDir) + " holds no checkpoint to continue");
        }
        if (resumeChangedData && !resume) {
            throw new IllegalArgumentException("--resume-changed-data is given without --resume; it only lets a resumed run"
                    + " continue on changed data");
        }
        // the data's digest goes into every checkpoint; a resume compares it before anything is loaded
        java.util.Map<String, String> inputs = java.util.Map.of(DATA_DIGEST, dataSpec.sha256());
        boolean dataChanged = false;
        if (resume) {
            String was = Trainer.checkpointInputs(ckptDir).get(DATA_DIGEST);
            dataChanged = was != null && !was.equals(inputs.get(DATA_DIGEST));
            if (dataChanged && !resumeChangedData) {
                throw new IllegalArgumentException("--data " + Echo.path(dataSpec.path()) + " changed since the checkpoint of step "
                        + Trainer.savedStep(ckptDir) + " in " + Echo.path(ckptDir) + " was written (sha256 " + was.substring(0, 12)
                        + "…, now " + inputs.get(DATA_DIGEST).substring(0, 12) + "…); restore it, or pass --resume-changed-data"
                        + " to continue on the new data");
            }
        }
        OutputPaths.requireApart("--out", out, dataSpec.path());
        if (!ModelSource.isBaseName(model)) {
            OutputPaths.requireApart("--out", out, Path.of(model));
        }
        PrintWriter o = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Progress.Mode mode = output.mode();
        long start = System.nanoTime();
        try (Device d = Backends.open(RuntimeSettings.resolve(main.device()))) {
            ModelSource src = ModelSource.resolve(model, d, baseSteps, new Progress(mode, err, "pretrain " + model, "items"));
            boolean vit = src.readsImages();
            MethodSpec m = method.spec(src);
            Distribution dist = main.distribution;
            int ranks = accumulate != null ? accumulate : dist != null ? dist.defaultRanks() : 1;
            try (Workload w = open(d, src, m, dataSpec);
                 AccumulatingTask acc = accumulator(w, src, dist, ranks)) {
                TrainingTask task = acc != null ? acc : w.task();
                ranksPerStep = ranks;
                long perEpoch = Math.max(1, epochCount(w));
                long n = steps != null ? steps : Math.max(1, Math.round(epochs * perEpoch));
                double rate = lr != null ? lr : m.method().equals("lora") ? 2e-3 : 1e-2;
                long warm = warmup != null ? warmup : n / 20;
                TrainerSettings ts = new TrainerSettings(n, rate, warm, schedule.equals("cosine"), 1.0, 0.0, evalEvery,
                        checkpointEvery > 0 ? checkpointEvery : Math.max(1, n / 10), 0.999);
                if (mode != Progress.Mode.QUIET) {
                    err.println("nola finetune: " + m.label() + " on " + src.name() + " (" + d.id() + "), " + w.describe()
                            + "; weights " + w.weightMemory().describe()
                            + (dist != null ? "; " + dist.describe() : "")
                            + (ranks > 1 ? "; " + ranks + " micro-batches of " + batch + " per step" : ""));
                    err.flush();
                }
                Evaluation before = w.evaluate();
                Progress progress = new Progress(mode, err, m.label(), w.task().itemUnit());
                RunLog log = new RunLog(m.label(), progress);
                AtomicLong lastCheckpoint = new AtomicLong(-1);
                TrainingListener l = new TrainingListener() {
                    @Override
                    public void onStep(long step, long total, double loss, double g, double lrate, double ips) {
                        log.onStep(step, total, loss, g, lrate, ips);
                    }

                    @Override
                    public void onEvaluation(long step, Evaluation e) {
                        log.onEvaluation(step, e);
                    }

                    @Override
                    public void onCheckpoint(long step, Path dir) {
                        lastCheckpoint.set(step);
                    }
                };
                Thread hook = interruptHook(err, progress, lastCheckpoint, ckptDir);
                Runtime.getRuntime().addShutdownHook(hook);
                Trainer.Result r;
                try {
                    if (dataChanged && mode != Progress.Mode.QUIET) {
                        err.println("nola finetune: --data changed since the checkpoint; continuing on the new data"
                                + " (--resume-changed-data)");
                        err.flush();
                    }
                    r = Trainer.run(task, ts, ckptDir, resume, l, inputs);
                } finally {
                    try {
                        Runtime.getRuntime().removeShutdownHook(hook);
                    } catch (IllegalStateException shuttingDown) {
                        // the hook is running: it says how to resume
                    }
                    progress.close();
                }
                long bytes = m.save(out.resolve(FinetuneLayout.ADAPTER), w.adapters(), src.name());
                if (vit) {
                    w.saveHead(out.resolve(FinetuneLayout.HEAD));
                }
                long trainable = w.adapters().values().stream().mapToLong(Adapter::parameterCount).sum();
                Evaluation after = r.last();
                RunReport rep = new RunReport("finetune", m.label() + " on " + src.name(), w.metricName()).device(d);
                ObjectNode c = rep.config();
                c.put("model", model);
                c.put("model_dir", src.dir().toString());
                c.put("data", dataSpec.path().toString());
                c.put("format", dataSpec.resolvedFormat());
                c.put("data_description", w.describe());
                c.put("method", m.method());
                c.put("targets", String.join(",", m.targets()));
                if (m.nola() != null) {
                    c.put("rank", m.nola().rank());
                    c.put("k", m.nola().basisA());
                    c.put("l", m.nola().basisB());
                    c.put("alpha", m.nola().alpha());
                    c.put("scheme", m.nola().init().name().toLowerCase());
                    c.put("basis", m.nola().basisMode().name().toLowerCase());
                } else if (m.method().equals("lora")) {
                    c.put("rank", m.rank());
                }
                c.put("seed", m.seed());
                c.put("steps", n);
                c.put("lr", rate);
                c.put("schedule", schedule);
                c.put("warmup", warm);
                c.put("batch", batch);
                c.put("weights", w.weightMemory().precision());
                c.put("weight_bytes", w.weightMemory().bytes());
                c.put("weight_bytes_f32", w.weightMemory().f32Bytes());
                c.put("accumulate", ranks);
                if (dist != null) {
                    dist.report(rep);
                }
                c.put("resumed_from_step", r.firstStep());
                rep.add(new RunReport.Method(m.label(), trainable, vit ? w.headNumbers() : 0, bytes, w.metric(before),
                        w.metric(after), new double[] {w.metric(after)}, log, r.seconds()));
                rep.note("seconds", (System.nanoTime() - start) / 1e9);
                Path reportDir = out.resolve(FinetuneLayout.REPORT);
                rep.write(reportDir);
                if (output.json) {
                    ObjectNode j = RunReportJson.summary(rep);
                    j.put("adapter", out.resolve(FinetuneLayout.ADAPTER).toString());
                    j.put("report", reportDir.toString());
                    o.println(j.toString());
                } else {
                    o.printf("%s on %s: %s %s -> %s after %d steps (%,d trainable numbers%s, adapter %,d bytes)%n", m.label(),
                            src.name(), w.metricName(), fmt(w.metricName(), w.metric(before)), fmt(w.metricName(), w.metric(after)),
                            n, trainable, vit ? String.format(" + head %,d", w.headNumbers()) : "", bytes);
                    o.println("adapter: " + out.resolve(FinetuneLayout.ADAPTER));
                    o.println("report:  " + reportDir.resolve("report.json") + " (charts: loss.png, metric.png, params.png)");
                }
                o.flush();
            }
        }
        return 0;
    }

    /** The workload of this command's model, method and data on {@code d} (what every worker of a distributed run opens too). */
    Workload open(Device d, ModelSource src, MethodSpec m, DataSpec dataSpec) {
        if (src.readsImages() != dataSpec.images()) {
            throw new IllegalArgumentException("--model " + Echo.quote(model) + " is a " + src.displayName() + " but --data "
                    + Echo.path(dataSpec.path()) + " holds " + (dataSpec.images() ? "images" : "text"));
        }
        int[] classes = DataSpec.parseClasses(data.classes);
        return src.workload(d, m.create(d, src.spec()), dataSpec,
                new ModelSource.Setup(batch, m.seed(), classes, data.shots, null, weights.precision()));
    }

    /** The task that sums {@code ranks} micro-batches per step (on the cluster, with a distribution), or null for none. */
    private AccumulatingTask accumulator(Workload w, ModelSource src, Distribution dist, int ranks) {
        if (dist != null) {
            return new AccumulatingTask(w.task(), ranks, dist.start(new Distribution.Job(workerArgs(src), ranks, w.task().trainable())));
        }
        return ranks > 1 ? AccumulatingTask.local(w.task(), ranks) : null;
    }

    /** The workload a worker opens from {@code args} (a finetune command line from {@link #workerArgs}) on {@code d}. */
    Workload openForWorker(Device d) {
        ModelSource src = ModelSource.directory(model);
        return open(d, src, method.spec(src), data.spec());
    }

    /**
     * This command line as a worker rebuilds it: the model as the directory it resolved to (a base name was built
     * here), without --spark.
     */
    private java.util.List<String> workerArgs(ModelSource src) {
        java.util.List<String> a = new java.util.ArrayList<>();
        String[] args = main.args;
        for (int i = 0; i < args.length; i++) {
            String s = args[i];
            if (s.equals("--spark") || s.equals("--model")) {
                i++;
            } else if (!s.startsWith("--spark=") && !s.startsWith("--model=")) {
                a.add(s);
            }
        }
        a.add("--model");
        a.add(src.dir().toAbsolutePath().toString());
        return a;
    }

    /** Micro-batches per step, once known (an epoch is this many batches fewer steps). */
    private int ranksPerStep = 1;

    private long epochCount(Workload w) {
        return w.task() == null ? 1 : Math.max(1, trainItems(w) / Math.max(1, (long) batch * ranksPerStep));
    }

    private static long trainItems(Workload w) {
        String d = w.describe();
        // the workloads describe their training size first; parse it rather than widen the interface
        java.util.regex.Matcher mt = java.util.regex.Pattern.compile("([\\d,]+) training").matcher(d);
        return mt.find() ? Long.parseLong(mt.group(1).replace(",", "")) : 1;
    }

    private Thread interruptHook(PrintWriter err, Progress progress, AtomicLong lastCheckpoint, Path ckptDir) {
        String[] args = main.args == null ? new String[0] : main.args;
        StringBuilder again = new StringBuilder("nola");
        for (String a : args) {
            again.append(' ').append(a.matches("[A-Za-z0-9_./:,=@+-]+") ? a : "'" + a.replace("'", "'\\''") + "'");
        }
        if (!java.util.Arrays.asList(args).contains("--resume")) {
            again.append(" --resume");
        }
        return new Thread(() -> {
            progress.close();
            long at = lastCheckpoint.get();
            err.println();
            err.println("nola: interrupted; " + (at >= 0 ? "the checkpoint of step " + at + " in " + ckptDir + " is intact"
                    : "no checkpoint was written yet") + "; resume with: " + again);
            err.flush();
        }, "nola-interrupt");
    }

    static String fmt(String metric, double v) {
        return metric.equals("accuracy") ? String.format("%.2f%%", 100 * v) : String.format("%.3f", v);
    }
}
