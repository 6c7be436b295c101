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

    /**
     * How the model's weights are held on the device ({@code --weights}) and the bytes they take there,
     * beside what they would take as float32.
     *
     * @param precision {@code f32} or {@code bf16}
     * @param bytes     the weights' bytes on the device
     * @param f32Bytes  the same weights' bytes as float32
     */
    record WeightMemory(String precision, long bytes, long f32Bytes) {

        /** "bf16: 12.9 MB on the device, 25.8 MB as f32 (12.9 MB saved)". */
        public String describe() {
            return precision + ": " + dev.nola.io.Echo.bytes(bytes) + " on the device"
                    + (bytes == f32Bytes ? "" : ", " + dev.nola.io.Echo.bytes(f32Bytes) + " as f32 ("
                    + dev.nola.io.Echo.bytes(f32Bytes - bytes) + " saved)");
        }
    }

    /** The weights' precision and bytes on the device. */
    WeightMemory weightMemory();

    /** What the report calls the data ("kjv.txt: 1,234 training windows of 64 tokens"). */
    String describe();

    @Override
    void close();
}
