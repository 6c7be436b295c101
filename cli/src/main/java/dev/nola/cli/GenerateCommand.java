package dev.nola.cli;

import dev.nola.adapter.Adapter;
import dev.nola.cli.run.AdapterDirs;
import dev.nola.cli.run.CausalLmWorkload;
import dev.nola.cli.run.ModelSource;
import dev.nola.cli.run.Progress;
import dev.nola.config.RuntimeSettings;
import dev.nola.io.Echo;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.text.HfTokenizer;
import dev.nola.models.text.Tokenizer;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.lm.Generator;
import dev.nola.models.lm.HfCheckpoint;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import dev.nola.models.transformer.WeightPrecision;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code nola generate}: continues a prompt with a causal LM (and an adapter) through {@link Generator}:
 * greedy at temperature 0, else sampling from the softmax of logits / temperature over the top k and
 * the top-p nucleus, seeded. The KV cache is on: the prompt runs once, then one position per new token;
 * {@code --no-cache} runs the whole context (its last n_positions tokens) again for every token, the
 * path the cache is checked against. Both give the same text for the same seed, as the command did
 * before it used the cache.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, description = "Continue a prompt with a causal LM, with or without an adapter.")
final class GenerateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @ParentCommand
    Main main;

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "gpt2-fortunes, llama-fortunes or a Hugging Face causal LM directory.")
    String model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "An adapter directory, or a finetune output directory.")
    Path adapter;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "The text to continue (not empty).")
    String prompt;

    @Option(names = "--length", defaultValue = "40", paramLabel = "N", description = "New tokens. Default: ${DEFAULT-VALUE}.")
    int length;

    @Option(names = "--temperature", defaultValue = "0.8", paramLabel = "T", description = "0 for greedy. Default: ${DEFAULT-VALUE}.")
    double temperature;

    @Option(names = "--top-k", defaultValue = "40", paramLabel = "K", description = "Sample among the K likeliest tokens (0: all). Default: ${DEFAULT-VALUE}.")
    int topK;

    @Option(names = "--top-p", defaultValue = "1.0", paramLabel = "P",
            description = "Sample among the likeliest tokens whose probabilities add up to P, in (0, 1] (1: all). Default: ${DEFAULT-VALUE}.")
    double topP;

    @Option(names = "--seed", defaultValue = "1", paramLabel = "SEED", description = "Sampling seed. Default: ${DEFAULT-VALUE}.")
    long seed;

    @picocli.CommandLine.Mixin
    RunOptions.Weights weights;

    @Option(names = "--no-cache", description = "Recompute the whole context for every token instead of using the KV cache (slower; for checking).")
    boolean noCache;

    @Override
    public Integer call() {
        WeightPrecision precision = weights.precision();
        if (prompt.isEmpty()) {
            throw new IllegalArgumentException("--prompt is empty; expected some text to continue");
        }
        if (length <= 0 || length > 10_000) {
            throw new IllegalArgumentException("--length is " + length + "; expected 1..10000");
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("--temperature is " + temperature + "; expected a finite number >= 0");
        }
        if (topK < 0) {
            throw new IllegalArgumentException("--top-k is " + topK + "; expected >= 0 (0 for all)");
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("--top-p is " + topP + "; expected a number in (0, 1] (1 for all)");
        }
        PrintWriter out = spec.commandLine().getOut();
        try (Device d = Backends.open(RuntimeSettings.resolve(main.device()))) {
            ModelSource.CausalLmDir src = ModelSource.resolve(model, d, 0, new Progress(Progress.Mode.LINES,
                    spec.commandLine().getErr(), "pretrain " + model, "tokens")).languageModel("generate");
            Map<String, Adapter> adapters = adapter == null ? Map.of() : AdapterDirs.load(adapter, d);
            try (CausalLmWorkload w = new CausalLmWorkload(d, src.config(), each -> HfCheckpoint.stream(src.dir(), each),
                    src::tokenizer, new LinkedHashMap<>(adapters), null, 1, seed, precision)) {
                Tokenizer tok = w.tokenizer();
                CausalLm m = w.model();
                int[] ids = tok.encode(prompt);
                if (tok instanceof HfTokenizer h && h.addsBeginningOfText() && h.beginningOfText().isPresent()) {
                    // a LLaMA-family prompt starts with bos, as the model was trained to see it
                    int[] withBos = new int[ids.length + 1];
                    withBos[0] = h.beginningOfText().getAsInt();
                    System.arraycopy(ids, 0, withBos, 1, ids.length);
                    ids = withBos;
                }
                Generator.Settings settings = new Generator.Settings(length, temperature, topK, topP, seed, tok.endOfText());
                // ids the tokenizer cannot decode (embedding rows beyond its vocabulary) are never picked
                int[] fresh = Generator.generate(m, ids, settings, !noCache, tok.vocabularySize());
                if (fresh.length > 0 && fresh[fresh.length - 1] == tok.endOfText()) {
                    fresh = java.util.Arrays.copyOf(fresh, fresh.length - 1);   // the stop token is not text
                }
                out.println(prompt + tok.decode(fresh));
            }
        }
        out.flush();
        return 0;
    }
}
