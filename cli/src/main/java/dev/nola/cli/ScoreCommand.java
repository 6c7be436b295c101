package dev.nola.cli;

import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.config.RuntimeSettings;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.lm.HfCheckpoint;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.transformer.DeviceWeights;
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
 * {@code nola score}: the mean next-token cross-entropy of a Hugging Face causal-LM checkpoint (GPT-2,
 * LLaMA, Mistral, Qwen2; F32, F16 or BF16, one file or shards),
 * with an adapter or not, over token ids, then the logits of the last position, one per line: a cross-implementation check like
 * {@code nola basis} and {@code nola mix}.
 */
@Command(name = "score", mixinStandardHelpOptions = true,
        description = "Print a causal LM's mean next-token cross-entropy over token ids, then the last position's logits.")
final class ScoreCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @ParentCommand
    Main main;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "A Hugging Face causal-LM directory: config.json and model.safetensors (or shards and their index).")
    Path model;

    @Option(names = "--ids", required = true, split = ",", paramLabel = "ID",
            description = "Token ids, comma-separated (at least 2, at most n_positions).")
    int[] ids;

    @Option(names = "--adapter", paramLabel = "DIR", description = "A NOLA adapter directory for this model (layers h.{i}.attn.q, model.layers.{i}.self_attn.q_proj, …).")
    Path adapter;

    @Override
    public Integer call() {
        if (ids.length < 2) {
            throw new IllegalArgumentException("--ids has " + ids.length + " id; expected at least 2 (a next-token loss needs a pair)");
        }
        HfCheckpoint ckpt = HfCheckpoint.load(model);
        CausalLmSpec lm = ckpt.config().spec();
        int v = lm.vocabulary();
        if (ids.length > lm.positions()) {
            throw new IllegalArgumentException("--ids has " + ids.length + " ids; the model takes at most n_positions = "
                    + lm.positions());
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= v) {
                throw new IllegalArgumentException("--ids[" + i + "] = " + ids[i] + " is outside the vocabulary [0, "
                        + v + ")");
            }
        }
        int t = ids.length - 1;
        int[] in = java.util.Arrays.copyOf(ids, t);
        int[] targets = java.util.Arrays.copyOfRange(ids, 1, ids.length);
        try (Device d = Backends.open(RuntimeSettings.resolve(main.device()))) {
            Map<String, NolaAdapter> adapters = adapter == null ? Map.of()
                    : NolaAdapterFiles.load(adapter).instantiate(d, adapter.toString());
            try (DeviceWeights w = DeviceWeights.upload(d, ckpt.table(), ckpt.tensors());
                 CausalLm m = new CausalLm(d, lm, w, false, adapters)) {
                double loss = m.evaluate(in, targets, 1, t);
                m.forwardLast(in, 1, t);
                float[] logits = new float[v];
                d.read(m.logits(), 0, logits, 0, v);
                PrintWriter out = spec.commandLine().getOut();
                out.println(Float.toString((float) loss));
                BasisCommand.printValues(out, logits);
            } finally {
                adapters.values().forEach(NolaAdapter::close);
            }
        }
        return 0;
    }
}
