package dev.nola.cli.run;

import dev.nola.adapter.Adapter;
import dev.nola.kernels.Device;
import dev.nola.models.gpt2.Gpt2Adapters;
import dev.nola.models.gpt2.Gpt2Checkpoint;
import dev.nola.models.gpt2.Gpt2Init;
import dev.nola.models.gpt2.Gpt2Model;
import dev.nola.models.gpt2.Gpt2Task;
import dev.nola.models.gpt2.Gpt2Weights;
import dev.nola.models.text.TokenWindows;
import dev.nola.models.train.Evaluation;
import dev.nola.models.train.TrainingTask;
import java.nio.file.Path;
import java.util.Map;

/** A GPT-2 checkpoint with adapters on its blocks, and a text's token windows: next-token loss, perplexity. */
public final class Gpt2Workload implements Workload {

    /** The share of the windows held out for evaluation. */
    public static final double HELD_OUT = 0.05;

    private final Gpt2Model.Weights weights;
    private final Map<String, Adapter> adapters;
    private final Gpt2Model model;
    private final Gpt2Task task;
    private final String description;

    /**
     * @param adapters the adapters by saved name (owned by the workload from now on; closed with it)
     * @param data     the text, or null to build a model alone ({@link #model()}, for generation)
     */
    public Gpt2Workload(Device d, Gpt2Checkpoint ckpt, Map<String, Adapter> adapters, DataSpec data, int batch, long seed) {
        Gpt2Model.Dims dims = Gpt2Weights.dims(ckpt.config());
        this.adapters = adapters;
        Gpt2Model.Weights w = null;
        Gpt2Model m = null;
        try {
            var slots = Gpt2Adapters.slots(adapters, dims);
            w = Gpt2Weights.upload(d, ckpt);
            m = new Gpt2Model(d, dims, w, false, slots);
            if (data != null) {
                TokenWindows all = data.windows(dims.positions());
                if (all.size() < 2) {
                    throw new IllegalArgumentException("--data " + data.path() + " gives " + all.size() + " window of "
                            + dims.positions() + " tokens; expected at least 2 (one to train on, one held out)");
                }
                TokenWindows.Split split = all.split(HELD_OUT, 3);
                TokenWindows heldOut = data.limit(split.heldOut());
                int b = Math.min(batch, split.train().size());
                this.task = new Gpt2Task(m, split.train(), heldOut, b, seed);
                this.description = String.format("%s (%s): %,d training windows and %,d held out, %d tokens each",
                        data.path().getFileName(), data.resolvedFormat(), split.train().size(), heldOut.size(),
                        dims.positions());
            } else {
                this.task = null;
                this.description = "no data";
            }
        } catch (RuntimeException e) {
            if (m != null) {
                m.close();
            }
            if (w != null) {
                Gpt2Init.close(w);
            }
            adapters.values().forEach(Adapter::close);
            throw e;
        }
        this.weights = w;
        this.model = m;
    }

    /** The model (for generation). */
    public Gpt2Model model() {
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
    public String describe() {
        return description;
    }

    @Override
    public void close() {
        model.close();
        Gpt2Init.close(weights);
        adapters.values().forEach(Adapter::close);
    }
}
