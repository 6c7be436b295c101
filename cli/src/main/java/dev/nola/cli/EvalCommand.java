package dev.nola.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nola.adapter.Adapter;
import dev.nola.cli.run.AdapterDirs;
import dev.nola.cli.run.DataSpec;
import dev.nola.cli.run.ModelSource;
import dev.nola.cli.run.Progress;
import dev.nola.cli.run.Workload;
import dev.nola.config.RuntimeSettings;
import dev.nola.io.Echo;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.train.Evaluation;
import dev.nola.models.transformer.WeightPrecision;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code nola eval}: the held-out loss and perplexity (GPT-2) or loss and accuracy (ViT) of a base,
 * with or without an adapter, on the same split {@code finetune} holds out.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Held-out loss and perplexity (GPT-2) or accuracy (ViT) of a base, with or without an adapter.")
final class EvalCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @ParentCommand
    Main main;

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "gpt2-fortunes, llama-fortunes, vit-fashion or a model directory.")
    String model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "An adapter directory, or a finetune output directory.")
    Path adapter;

    @Mixin
    RunOptions.Data data;

    @Option(names = "--batch", defaultValue = "8", paramLabel = "B", description = "Evaluation batch. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Mixin
    RunOptions.Weights weights;

    @Mixin
    RunOptions.Output output;

    @Override
    public Integer call() {
        DataSpec ds = data.spec();
        WeightPrecision precision = weights.precision();
        int[] classes = DataSpec.parseClasses(data.classes);
        if (batch <= 0) {
            throw new IllegalArgumentException("--batch is " + batch + "; expected > 0");
        }
        PrintWriter out = spec.commandLine().getOut();
        try (Device d = Backends.open(RuntimeSettings.resolve(main.device()))) {
            ModelSource src = ModelSource.resolve(model, d, 0, new Progress(output.mode(), spec.commandLine().getErr(),
                    "pretrain " + model, "items"));
            Map<String, Adapter> adapters = adapter == null ? Map.of() : AdapterDirs.load(adapter, d);
            Path headFile = adapter == null ? null : AdapterDirs.headFile(adapter); // a ViT's trained head, beside its adapter
            try (Workload w = src.workload(d, new java.util.LinkedHashMap<>(adapters), ds,
                    new ModelSource.Setup(batch, 1, classes, 0, headFile, precision))) {
                Evaluation e = w.evaluate();
                if (output.json) {
                    ObjectNode j = new ObjectMapper().createObjectNode();
                    j.put("model", model);
                    j.put("adapter", adapter == null ? null : adapter.toString());
                    j.put("device", d.id());
                    j.put("data", w.describe());
                    j.put("loss", e.loss());
                    j.put("weights", w.weightMemory().precision());
                    j.put("weight_bytes", w.weightMemory().bytes());
                    j.put("weight_bytes_f32", w.weightMemory().f32Bytes());
                    j.put(w.metricName(), w.metric(e));
                    out.println(j.toString());
                } else {
                    out.printf("%s%s on %s: loss %.4f, %s %s%n", src.name(), adapter == null ? "" : " + " + Echo.path(adapter),
                            w.describe(), e.loss(), w.metricName(), FinetuneCommand.fmt(w.metricName(), w.metric(e)));
                    out.printf("weights %s%n", w.weightMemory().describe());
                }
            }
        }
        out.flush();
        return 0;
    }
}
