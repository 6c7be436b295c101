package dev.nola.cli.run;

import dev.nola.adapter.Adapter;
import dev.nola.kernels.Device;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.lm.CausalLmTask;
import dev.nola.models.gpt2.Gpt2Tokenizer;
import dev.nola.models.lm.HfCheckpoint;
import dev.nola.models.lm.HfConfig;
import dev.nola.models.spec.WeightTable;
import dev.nola.models.lm.Tokenizers;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.text.TokenWindows;
import dev.nola.models.text.Tokenizer;
import dev.nola.models.train.Evaluation;
import dev.nola.models.train.TrainingTask;
import dev.nola.models.transformer.DeviceWeights;
import dev.nola.models.transformer.WeightPrecision;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face causal language model (any architecture its {@link HfCheckpoint} reads) with adapters
 * on its sites, and a text's token windows: next-token loss, perplexity.
 */
public final class CausalLmWorkload implements Workload {

    /** The share of the windows held out for evaluation. */
    public static final double HELD_OUT = 0.05;

    private final DeviceWeights weights;
    private final Map<String, Adapter> adapters;
    private final CausalLm model;
    private final CausalLmTask task;
    private final String description;
    private final WeightMemory memory;
    private final Tokenizer tokenizer;

    /**
     * @param config    the model's configuration
     * @param weights   its weights, uploaded one tensor at a time as they are read (no whole host copy):
     *                  {@code each -> HfCheckpoint.stream(dir, each)}
     * @param tokenizers gives the model's tokenizer, which reads the data ({@link ModelSource.CausalLmDir#tokenizer()});
     *                  asked once the weights are on the device, so a broken checkpoint is reported before a
     *                  missing tokenizer, as when the whole checkpoint was loaded first
     * @param adapters  the adapters by saved name (owned by the workload from now on; closed with it)
     * @param data      the text, or null to build a model alone ({@link #model()}, for generation)
     * @param precision how the frozen base is held on the device ({@code --weights})
     */
    public CausalLmWorkload(Device d, HfConfig config, DeviceWeights.Source weights,
                            java.util.function.Supplier<Tokenizer> tokenizers, Map<String, Adapter> adapters, DataSpec data,
                            int batch, long seed, WeightPrecision precision) {
        CausalLmSpec spec = config.spec();
        WeightTable table = spec.model().weights();
        this.adapters = adapters;
        DeviceWeights w = null;
        CausalLm m = null;
        try {
            Set<String> half = precision.halfWeights(spec, false);
            w = DeviceWeights.stream(d, table, half, weights);
            Tokenizer tokenizer = tokenizers.get();
            this.tokenizer = tokenizer;
            if (tokenizer.vocabularySize() > spec.vocabulary()) {
                // Tokenizers.forModel refuses this first, naming the files; this guards other callers
                throw new IllegalArgumentException("the model's vocab_size is " + spec.vocabulary() + " but its tokenizer has "
                        + tokenizer.vocabularySize() + " ids; expected a tokenizer whose ids fit the model");
            }
            this.memory = new WeightMemory(precision.label(), WeightPrecision.deviceBytes(table, half),
                    WeightPrecision.deviceBytes(table, Set.of()));
            m = new CausalLm(d, spec, w, false, adapters);
            if (data != null) {
                TokenWindows all = data.windows(spec.positions(), tokenizer);
                if (all.size() < 2) {
                    throw new IllegalArgumentException("--data " + data.path() + " gives " + all.size() + " window of "
                            + spec.positions() + " tokens; expected at least 2 (one to train on, one held out)");
                }
                TokenWindows.Split split = all.split(HELD_OUT, 3);
                TokenWindows heldOut = data.limit(split.heldOut());
                int b = Math.min(batch, split.train().size());
                this.task = new CausalLmTask(m, split.train(), heldOut, b, seed);
                this.description = String.format("%s (%s): %,d training windows and %,d held out, %d tokens each",
                        data.path().getFileName(), data.resolvedFormat(), split.train().size(), heldOut.size(),
                        spec.positions());
            } else {
                this.task = null;
                this.description = "no data";
            }
        } catch (RuntimeException e) {
            if (m != null) {
                m.close();
            }
            if (w != null) {
                w.close();
            }
            adapters.values().forEach(Adapter::close);
            throw e;
        }
        this.weights = w;
        this.model = m;
    }

    /** The model's tokenizer. */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The model (for generation). */
    public CausalLm model() {
        return model;
    }

    @Override
    public TrainingTask task() {
        return task;
    }

    @Override
    public String metricName() {
        return "perplexity";
    }

    @Override
    public double metric(Evaluation e) {
        return e.perplexity();
    }

    @Override
    public Map<String, Adapter> adapters() {
        return adapters;
    }

    @Override
    public long headNumbers() {
        return 0;
    }

    @Override
    public void saveHead(Path file) {
    }

    @Override
    public WeightMemory weightMemory() {
        return memory;
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public void close() {
        model.close();
        weights.close();
        adapters.values().forEach(Adapter::close);
    }
}
