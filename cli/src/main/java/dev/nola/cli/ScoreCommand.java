package dev.nola.cli;

import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.config.RuntimeSettings;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.gpt2.Gpt2Adapters;
import dev.nola.models.gpt2.Gpt2Checkpoint;
import dev.nola.models.gpt2.Gpt2Init;
import dev.nola.models.gpt2.Gpt2Model;
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
 * {@code nola score}: the mean next-token cross-entropy of a GPT-2 checkpoint (with an adapter) over
 * token ids, then the logits of the last position, one per line: a cross-implementation check like
 * {@code nola basis} and {@code nola mix}.
 */
@Command(name = "score", mixinStandardHelpOptions = true,
        description = "Print a GPT-2's mean next-token cross-entropy over token ids, then the last position's logits.")
final class ScoreCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @ParentCommand
    Main main;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "A Hugging Face GPT-2 directory: config.json and model.safetensors.")
    Path model;

    @Option(names = "--ids", required = true, split = ",", paramLabel = "ID",
            description = "Token ids, comma-separated (at least 2, at most n_positions).")
    int[] ids;

    @Option(names = "--adapter", paramLabel = "DIR", description = "A NOLA adapter directory for this model (layers h.{i}.attn.q, …).")
    Path adapter;

    @Override
    public Integer call() {
        if (ids.length < 2) {
            throw new IllegalArgumentException("--ids has " + ids.length + " id; expected at least 2 (a next-token loss needs a pair)");
        }
        Gpt2Checkpoint ckpt = Gpt2Checkpoint.load(model);
        Gpt2Model.Dims dims = Gpt2Weights.dims(ckpt.config());
        if (ids.length > dims.positions()) {
            throw new IllegalArgumentException("--ids has " + ids.length + " ids; the model takes at most n_positions = "
                    + dims.positions());
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= dims.vocab()) {
                throw new IllegalArgumentException("--ids[" + i + "] = " + ids[i] + " is outside the vocabulary [0, "
                        + dims.vocab() + ")");
            }
        }
        int t = ids.length - 1;
        int[] in = java.util.Arrays.copyOf(ids, t);
        int[] targets = java.util.Arrays.copyOfRange(ids, 1, ids.length);
        try (Device d = Backends.open(RuntimeSettings.resolve(main.device()))) {
            Map<String, NolaAdapter> adapters = adapter == null ? Map.of()
                    : NolaAdapterFiles.load(adapter).instantiate(d, adapter.toString());
            Gpt2Model.Weights w = Gpt2Weights.upload(d, ckpt);
            try (Gpt2Model m = new Gpt2Model(d, dims, w, false, Gpt2Adapters.slots(adapters, dims))) {
                double loss = m.forward(in, targets, 1, t);
                float[] logits = new float[dims.vocab()];
                d.read(m.logits(), (long) (t - 1) * dims.vocab(), logits, 0, dims.vocab());
                PrintWriter out = spec.commandLine().getOut();
                out.println(Float.toString((float) loss));
                BasisCommand.printValues(out, logits);
            } finally {
                adapters.values().forEach(NolaAdapter::close);
                Gpt2Init.close(w);
            }
        }
        return 0;
    }
}
