package dev.nola.cli.run;

import dev.nola.adapter.Adapter;
import dev.nola.models.train.Evaluation;
import dev.nola.models.train.TrainingTask;
import java.nio.file.Path;
import java.util.Map;

/**
 * A model on the device with its adapters and data, ready to train or evaluate: {@link CausalLmWorkload}
 * (next-token loss, perplexity) or {@link VitWorkload} (classification accuracy). Closing frees what
 * it put on the device, adapters included.
 */
public interface Workload extends AutoCloseable {

    /** The training task (batches by step, held-out evaluation). */
    TrainingTask task();

    /** The held-out evaluation now. */
    default Evaluation evaluate() {
        return task().evaluate();
    }

    /** "perplexity" or "accuracy". */
    String metricName();

    /** The metric of an evaluation. */
    double metric(Evaluation e);

    /** The adapters, by saved name (empty for none). */
    Map<String, Adapter> adapters();

    /** Numbers of a trained classification head (0 for a language model). */
    long headNumbers();

    /** Writes a trained head beside the adapter (ViT); nothing for a language model. */
    void saveHead(Path file);

    /** What the report calls the data ("kjv.txt: 1,234 training windows of 64 tokens"). */
    String describe();

    @Override
    void close();
}
