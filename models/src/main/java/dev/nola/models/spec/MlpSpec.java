package dev.nola.models.spec;

/**
 * The position-wise MLP of a block: {@code down(act(up(x)))} with a GELU (GPT-2, ViT), or
 * {@code down(silu(gate(x)) ⊙ up(x))} (SwiGLU, LLaMA).
 *
 * @param activation the activation
 * @param gate       [C → I] for SwiGLU, else null
 * @param up         [C → I] (GPT-2's {@code c_fc})
 * @param down       [I → C] (GPT-2's {@code mlp.c_proj})
 */
public record MlpSpec(Activation activation, LinearSpec gate, LinearSpec up, LinearSpec down) {

    /** The MLP activations. */
    public enum Activation {
        /** GELU, tanh approximation ({@code gelu_new}). */
        GELU_TANH,
        /** GELU, exact erf form ({@code gelu}). */
        GELU_ERF,
        /** silu(gate)·up. */
        SWIGLU
    }

    public MlpSpec {
        if (activation == null || up == null || down == null) {
            throw new IllegalArgumentException("an MLP needs an activation, up and down");
        }
        if ((activation == Activation.SWIGLU) != (gate != null)) {
            throw new IllegalArgumentException("MLP " + up.weight() + ": SwiGLU has a gate projection, GELU none");
        }
        if (down.in() != up.out() || gate != null && gate.out() != up.out()) {
            throw new IllegalArgumentException("MLP " + up.weight() + ": widths do not chain");
        }
    }
}
