package dev.nola.models.spec;

/** How a linear layer's weight is stored in its checkpoint. */
public enum Layout {
    /** Hugging Face's {@code Conv1D} (GPT-2): [in, out], y = x·W + b; a fused weight stacks layers as column ranges. */
    CONV1D,
    /** {@code nn.Linear} (LLaMA, most models): [out, in], y = x·Wᵀ + b; a fused weight stacks layers as row ranges. */
    LINEAR
}
