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
import dev.nola.io.AtomicFiles;
import dev.nola.models.lm.HfCheckpoint;
import dev.nola.models.lm.Tokenizers;
import dev.nola.models.spec.AdapterSite;
import dev.nola.models.spec.LinearSpec;
import dev.nola.models.transformer.Linear;
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
 * {@code nola merge}: W' = W + s·B·A for every adapted layer of a causal language model, written as a
 * new Hugging Face checkpoint (config.json, model.safetensors) that loads without nola. Each adapter's
 * {@link AdapterSite} (by its saved name) says which stored weight it adds into and where: for GPT-2,
 * q and v are column ranges of the fused Conv1D c_attn [C, 3C], so ΔW [out, in] is added transposed
 * into the module's columns ({@link Linear#addDelta}). The checkpoint is written as one
 * {@code model.safetensors} (a sharded input too) with every tensor in the dtype the input stored it as,
 * under its Hugging Face name (GPT-2 without {@code transformer.}) (BF16 in, BF16 out, W + ΔW rounded to nearest even; F16 likewise; F32 stays F32).
 */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = "Merge an adapter into its language model (GPT-2, LLaMA, Mistral, Qwen2) and write a new Hugging Face "
                + "checkpoint in the input's dtype.")
final class MergeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @ParentCommand
    Main main;

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "gpt2-fortunes, llama-fortunes or a Hugging Face causal LM checkpoint directory.")
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
            ModelSource.CausalLmDir src = ModelSource.resolve(model, d, 0, new Progress(Progress.Mode.LINES,
                    spec.commandLine().getErr(), "pretrain " + model, "tokens")).languageModel("merge");
            HfCheckpoint ckpt = src.checkpoint();
            Map<String, AdapterSite> sites = ckpt.config().spec().model().sites();
            Map<String, Adapter> adapters = AdapterDirs.load(adapter, d);
            try {
                // every name is a site of this model and every adapter of its shape, or a one-line error
                for (Map.Entry<String, Adapter> e : adapters.entrySet()) {
                    requireSite(sites, e.getKey(), e.getValue());
                }
                for (Map.Entry<String, Adapter> e : adapters.entrySet()) {
                    LinearSpec layer = sites.get(e.getKey()).linear();
                    float[] delta;
                    try (Tensor t = e.getValue().deltaWeight()) {
                        delta = d.read(t);
                    }
                    Linear.addDelta(layer, ckpt.tensor(layer.weight()), delta);
                }
                // the merged model keeps its tokenizer, so it is a directory HF (and nola) can use as it is
                Map<String, byte[]> files = new java.util.LinkedHashMap<>(ckpt.files(out.toString()));
                files.putAll(Tokenizers.filesFor(src.dir()));
                AtomicFiles.writeDirectory(out, files);
            } finally {
                adapters.values().forEach(Adapter::close);
            }
            o.printf("merged %d adapted layers of %s into %s%n", adapters.size(), Echo.path(adapter), out);
        }
        o.flush();
        return 0;
    }

    /** Refuses, in one line, an adapter whose name is no site of the model or whose shape is not its site's. */
    private void requireSite(Map<String, AdapterSite> sites, String name, Adapter a) {
        AdapterSite s = sites.get(name);
        if (s == null) {
            throw new IllegalArgumentException("--adapter " + Echo.path(adapter) + ": adapter " + Echo.quote(name)
                    + " names no adapter site of --model " + Echo.quote(model) + "; expected names like "
                    + sites.keySet().iterator().next());
        }
        if (a.inFeatures() != s.in() || a.outFeatures() != s.out()) {
            throw new IllegalArgumentException("--adapter " + Echo.path(adapter) + ": adapter " + name + " is ["
                    + a.inFeatures() + " -> " + a.outFeatures() + "]; this model's " + s.module() + " is [" + s.in()
                    + " -> " + s.out() + "]");
        }
    }
}
