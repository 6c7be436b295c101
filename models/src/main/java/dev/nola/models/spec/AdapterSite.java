package dev.nola.models.spec;

/**
 * A linear layer an adapter may sit on (PEFT's target module), by name.
 *
 * @param name   the adapter's saved name ({@code h.3.attn.q}, {@code model.layers.3.self_attn.q_proj})
 * @param module the module word of {@code --targets} ({@code q}, {@code q_proj})
 * @param layer  the block's index
 * @param linear the layer: shapes, the stored weight it adds into, its layout and offset
 */
public record AdapterSite(String name, String module, int layer, LinearSpec linear) {

    /** Input features. */
    public int in() {
        return linear.in();
    }

    /** Output features. */
    public int out() {
        return linear.out();
    }
}
