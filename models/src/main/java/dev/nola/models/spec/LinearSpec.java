package dev.nola.models.spec;

/**
 * One linear layer y = x·op(W) + b, possibly a slice of a fused stored weight (GPT-2's {@code c_attn}
 * holds q, k and v as three column ranges of one [C, 3C] Conv1D weight), and, when an adapter may sit
 * on it, its adapter site.
 *
 * @param weight the stored weight's name in the {@link WeightTable}
 * @param bias   the stored bias's name (its length is the stored output width), or null
 * @param layout how the stored weight is laid out
 * @param in     input features
 * @param out    output features of this layer
 * @param offset the first output feature of this layer within the stored weight (a column of a Conv1D
 *               weight, a row of a Linear one); 0 for an unfused layer
 * @param stored the stored weight's whole output width (≥ offset + out)
 * @param site   the adapter site's name ({@code h.3.attn.q}, {@code model.layers.3.self_attn.q_proj}), or null
 * @param module the site's module name, the word {@code --targets} uses ({@code q}, {@code q_proj}), or null
 */
public record LinearSpec(String weight, String bias, Layout layout, int in, int out, int offset, int stored,
                         String site, String module) {

    public LinearSpec {
        if (weight == null || layout == null) {
            throw new IllegalArgumentException("a linear layer needs a weight name and a layout");
        }
        if (in < 1 || out < 1 || offset < 0 || (long) offset + out > stored) {
            throw new IllegalArgumentException("linear " + weight + " [in " + in + ", out " + out + " at " + offset + " of "
                    + stored + "]; expected in, out ≥ 1 and offset + out ≤ stored");
        }
        if ((site == null) != (module == null)) {
            throw new IllegalArgumentException("linear " + weight + ": a site needs a module name and a module a site");
        }
    }

    /** A whole stored weight (no fusion). */
    public static LinearSpec whole(String weight, String bias, Layout layout, int in, int out, String site, String module) {
        return new LinearSpec(weight, bias, layout, in, out, 0, out, site, module);
    }

    /** The stored weight's shape: [in, stored] for Conv1D, [stored, in] for Linear. */
    public int[] storedShape() {
        return layout == Layout.CONV1D ? new int[] {in, stored} : new int[] {stored, in};
    }

    /** Whether an adapter may sit here. */
    public boolean adaptable() {
        return site != null;
    }
}
