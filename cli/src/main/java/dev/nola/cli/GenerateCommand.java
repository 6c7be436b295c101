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
import dev.nola.models.text.Tokenizer;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.lm.HfCheckpoint;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code nola generate}: continues a prompt with a causal language model (and an adapter), token by token: greedy at
 * temperature 0, else sampling from the softmax of logits / temperature over the top k, seeded. The
 * context is the last n_positions tokens.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, description = "Continue a prompt with a causal language model, with or without an adapter.")
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

    @Option(names = "--seed", defaultValue = "1", paramLabel = "SEED", description = "Sampling seed. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Override
    public Integer call() {
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
        PrintWriter out = spec.commandLine().getOut();
        try (Device d = Backends.open(RuntimeSettings.resolve(main.device()))) {
            ModelSource.CausalLmDir src = ModelSource.resolve(model, d, 0, new Progress(Progress.Mode.LINES,
                    spec.commandLine().getErr(), "pretrain " + model, "tokens")).languageModel("generate");
            HfCheckpoint ckpt = src.checkpoint();
            Tokenizer tok = src.tokenizer();
            Map<String, Adapter> adapters = adapter == null ? Map.of() : AdapterDirs.load(adapter, d);
            try (CausalLmWorkload w = new CausalLmWorkload(d, ckpt, tok, new LinkedHashMap<>(adapters), null, 1, seed)) {
                CausalLm m = w.model();
                int v = m.spec().vocabulary();
                int p = m.spec().positions();
                int[] ids = tok.encode(prompt);
                SplittableRandom rnd = new SplittableRandom(seed);
                int[] all = Arrays.copyOf(ids, ids.length + length);
                int n = ids.length;
                float[] logits = new float[v];
                for (int s = 0; s < length; s++) {
                    int t = Math.min(n, p);
                    m.forward(Arrays.copyOfRange(all, n - t, n), 1, t);
                    d.read(m.logits(), (long) (t - 1) * v, logits, 0, v);
                    int next = pick(logits, Math.min(v, tok.vocabularySize()), rnd);
                    all[n++] = next;
                    if (next == tok.endOfText()) {
                        break;
                    }
                }
                out.println(prompt + tok.decode(Arrays.copyOfRange(all, ids.length, n)).replace("<|endoftext|>", ""));
            }
        }
        out.flush();
        return 0;
    }

    private int pick(float[] logits, int v, SplittableRandom rnd) {
        int best = 0;
        for (int i = 1; i < v; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        if (temperature == 0) {
            return best;
        }
        Integer[] order = null;
        int k = topK == 0 || topK > v ? v : topK;
        int[] cand;
        if (k < v) {
            order = new Integer[v];
            for (int i = 0; i < v; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
            cand = new int[k];
            for (int i = 0; i < k; i++) {
                cand[i] = order[i];
            }
        } else {
            cand = new int[v];
            Arrays.setAll(cand, i -> i);
        }
        double[] w = new double[cand.length];
        double sum = 0;
        for (int i = 0; i < cand.length; i++) {
            w[i] = Math.exp((logits[cand[i]] - logits[best]) / temperature);
            sum += w[i];
        }
        double u = rnd.nextDouble() * sum;
        for (int i = 0; i < cand.length; i++) {
            u -= w[i];
            if (u <= 0) {
                return cand[i];
            }
        }
        return cand[cand.length - 1];
    }
}
