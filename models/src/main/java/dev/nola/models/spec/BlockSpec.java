package dev.nola.models.spec;

import java.util.ArrayList;
import java.util.List;

/**
 * One pre-norm transformer block: {@code h = x + attention(norm1(x))}, {@code out = h + mlp(norm2(h))}.
 *
 * @param layer     its index
 * @param norm1     before attention
 * @param attention the attention
 * @param norm2     before the MLP
 * @param mlp       the MLP
 */
public record BlockSpec(int layer, NormSpec norm1, AttentionSpec attention, NormSpec norm2, MlpSpec mlp) {

    /** The block's linear layers: q, k, v, out, then gate (SwiGLU), up, down. */
    public List<LinearSpec> linears() {
        List<LinearSpec> l = new ArrayList<>(List.of(attention.q(), attention.k(), attention.v(), attention.out()));
        if (mlp.gate() != null) {
            l.add(mlp.gate());
        }
        l.add(mlp.up());
        l.add(mlp.down());
        return l;
    }
}
