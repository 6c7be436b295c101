package dev.nola.models.lm;

import dev.nola.models.spec.CausalLmSpec;
import java.util.function.Predicate;

/**
 * The configuration of a Hugging Face causal language model ({@code config.json}) of an architecture
 * nola implements: it derives the model's {@link CausalLmSpec} and says how the checkpoint names its
 * tensors. One implementation per architecture ({@code Gpt2Config}, {@code LlamaConfig}).
 */
public interface HfConfig {

    /** {@code model_type} as written in {@code config.json} ({@code gpt2}, {@code llama}, …). */
    String modelType();

    /** The model: weight table, blocks, adapter sites, embedding and head. */
    CausalLmSpec spec();

    /** This configuration as a {@code config.json} that transformers loads (UTF-8). */
    byte[] toJson();

    /** Prefixes a checkpoint may put before the table's names ({@code transformer.} for GPT-2). */
    default java.util.List<String> keyPrefixes() {
        return java.util.List.of();
    }

    /** Names in a checkpoint that are buffers, not parameters, and are skipped (causal masks, rotary tables). */
    default Predicate<String> ignoredKeys() {
        return name -> false;
    }

    /**
     * A checkpoint key that may duplicate the tied head ({@code lm_head.weight} when the head is the
     * embedding): accepted only when equal to the embedding; null when none.
     */
    default String tiedHeadKey() {
        return null;
    }

    /** The config fields that fix a tensor's shape, for messages ("n_layer = 2, n_embd = 8"). */
    String fieldsFor(String tensor);

    /** The name messages give the architecture ("GPT-2"). */
    String displayName();
}
