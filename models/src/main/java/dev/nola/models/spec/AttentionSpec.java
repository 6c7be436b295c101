package dev.nola.models.spec;

/**
 * Multi-head self-attention: q, k, v projections (separate, or slices of one fused weight), scaled
 * dot-product attention with {@code kvHeads ≤ heads} key/value heads (grouped-query attention when
 * fewer; query head h reads KV head h / (heads / kvHeads)), optional rotary position embedding, and
 * the output projection.
 *
 * @param q       [C → heads·headDim]
 * @param k       [C → kvHeads·headDim]
 * @param v       [C → kvHeads·headDim]
 * @param out     [heads·headDim → C]
 * @param heads   query heads
 * @param kvHeads key/value heads, dividing heads
 * @param headDim the width of one head
 * @param causal  mask the future (decoders) or not (the ViT)
 * @param rope    the rotary embedding applied to q and k, or null
 */
public record AttentionSpec(LinearSpec q, LinearSpec k, LinearSpec v, LinearSpec out, int heads, int kvHeads,
                            int headDim, boolean causal, RopeSpec rope) {

    public AttentionSpec {
        if (heads < 1 || kvHeads < 1 || heads % kvHeads != 0 || headDim < 1) {
            throw new IllegalArgumentException("attention has " + heads + " heads, " + kvHeads + " KV heads of width "
                    + headDim + "; expected KV heads dividing heads, all ≥ 1");
        }
        if (q.out() != heads * headDim || k.out() != kvHeads * headDim || v.out() != kvHeads * headDim
                || out.in() != heads * headDim) {
            throw new IllegalArgumentException("attention projections q " + q.out() + ", k " + k.out() + ", v " + v.out()
                    + ", out " + out.in() + " do not match " + heads + " heads and " + kvHeads + " KV heads of " + headDim);
        }
        if (rope != null && rope.headDim() != headDim) {
            throw new IllegalArgumentException("rotary embedding of width " + rope.headDim() + " on heads of " + headDim);
        }
    }
}
