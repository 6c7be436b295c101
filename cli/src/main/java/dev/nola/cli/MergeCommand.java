package dev.nola.cli;

import dev.nola.adapter.Adapter;
import dev.nola.cli.run.AdapterDirs;
import dev.nola.cli.run.ModelSource;
import dev.nola.cli.run.Progress;
import dev.nola.config.RuntimeSettings;
import dev.nola.io.Echo;
import dev.nola.io.OutputPaths;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.models.gpt2.Gpt2Adapters;
import dev.nola.models.gpt2.Gpt2Checkpoint;
import dev.nola.models.gpt2.Gpt2Weights;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code nola merge}: W' = W + s·B·A for every adapted layer of a GPT-2, written as a new Hugging Face
 * checkpoint (config.json, model.safetensors) that loads without nola. GPT-2 keeps weights in Conv1D
 * layout [in, out] and q, k, v side by side in c_attn [C, 3C], so ΔW [out, in] is added transposed
 * into the module's columns.
 */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = "Merge an adapter into its GPT-2 base and write a new Hugging Face checkpoint.")
final class MergeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @ParentCommand
    Main main;

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "gpt2-fortunes or a GPT-2 checkpoint directory.")
    String model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "An adapter directory, or a finetune output directory.")
    Path adapter;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The merged checkpoint's directory (new, or a previous checkpoint).")
    Path out;

    @Override
    public Integer call() {
        OutputPaths.requireApart("--out", out, adapter);
        if (!ModelSource.isBaseName(model)) {
            OutputPaths.requireApart("--out", out, Path.of(model));
        }
        PrintWriter o = spec.commandLine().getOut();
        try (Device d = Backends.open(RuntimeSettings.resolve(main.device()))) {
            ModelSource src = ModelSource.resolve(model, d, 0, new Progress(Progress.Mode.LINES, spec.commandLine().getErr(),
                    "pretrain " + model, "tokens"));
            if (src.kind() != ModelSource.Kind.GPT2) {
                throw new IllegalArgumentException("--model " + Echo.quote(model) + " is a ViT; merge writes GPT-2 checkpoints only");
            }
            Gpt2Checkpoint ckpt = Gpt2Checkpoint.load(src.dir());
            var dims = Gpt2Weights.dims(ckpt.config());
            Map<String, Adapter> adapters = AdapterDirs.load(adapter, d);
            try {
                Gpt2Adapters.slots(adapters, dims); // every name and shape fits this model, or a one-line error
                int c = dims.width();
                for (Map.Entry<String, Adapter> e : adapters.entrySet()) {
                    String[] parts = e.getKey().split("\\.");
                    String module = parts[3];
                    String prefix = "h." + parts[1] + ".";
                    String tensor;
                    int col0;
                    int cols;
                    switch (module) {
                        case "q" -> { tensor = prefix + "attn.c_attn.weight"; col0 = 0; cols = 3 * c; }
                        case "v" -> { tensor = prefix + "attn.c_attn.weight"; col0 = 2 * c; cols = 3 * c; }
                        case "fc" -> { tensor = prefix + "mlp.c_fc.weight"; col0 = 0; cols = 4 * c; }
                        default -> { tensor = prefix + "mlp.c_proj.weight"; col0 = 0; cols = c; }
                    }
                    Adapter a = e.getValue();
                    float[] delta;
                    try (Tensor t = a.deltaWeight()) {
                        delta = d.read(t);
                    }
                    float[] w = ckpt.tensors().get(tensor);
                    int in = a.inFeatures();
                    int outF = a.outFeatures();
                    for (int r = 0; r < outF; r++) {
                        for (int i = 0; i < in; i++) {
                            w[i * cols + col0 + r] += delta[r * in + i];
                        }
                    }
                }
                ckpt.write(out);
            } finally {
                adapters.values().forEach(Adapter::close);
            }
            o.printf("merged %d adapted layers of %s into %s%n", adapters.size(), Echo.path(adapter), out);
        }
        o.flush();
        return 0;
    }
}
