package dev.nola.models.gpt2;

/**
 * The weights of one GPT-2 transformer block (pre-LN): x += attnProj(attention(attn(ln1(x)))), then
 * x += mlpProj(gelu(fc(ln2(x)))). Projections are in the Conv1D layout [in, out] of the file; see
 * {@link Projection#linearWeight()} for [out, in]. With C = n_embd, the Hugging Face keys under
 * {@code h.{i}.} are:
 *
 * @param ln1      {@code ln_1.{weight,bias}} [C]
 * @param attn     {@code attn.c_attn.{weight,bias}}: [C, 3C] and [3C], the query, key and value
 *                 projections side by side (columns [0, C), [C, 2C), [2C, 3C)); head h uses columns
 *                 [h·C/n_head, (h+1)·C/n_head) of each
 * @param attnProj {@code attn.c_proj.{weight,bias}}: [C, C] and [C]
 * @param ln2      {@code ln_2.{weight,bias}} [C]
 * @param fc       {@code mlp.c_fc.{weight,bias}}: [C, 4C] and [4C]
 * @param mlpProj  {@code mlp.c_proj.{weight,bias}}: [4C, C] and [C]
 */
public record Gpt2Block(LayerNorm ln1, Projection attn, Projection attnProj, LayerNorm ln2, Projection fc,
                        Projection mlpProj) {

    public Gpt2Block {
        int c = ln1.size();
        if (ln2.size() != c) {
            throw new IllegalArgumentException("ln_2 has " + ln2.size() + " features; expected C = " + c + " as ln_1");
        }
        check("attn.c_attn", attn, c, 3 * c, c);
        check("attn.c_proj", attnProj, c, c, c);
        check("mlp.c_fc", fc, c, 4 * c, c);
        check("mlp.c_proj", mlpProj, 4 * c, c, c);
    }

    private static void check(String name, Projection p, int in, int out, int c) {
        if (p.in() != in || p.out() != out) {
            throw new IllegalArgumentException(name + " is [" + p.in() + ", " + p.out() + "]; expected [" + in + ", " + out
                    + "] for C = " + c);
        }
    }

    /** A copy of the query projection: columns [0, C) of {@code c_attn}, weight [C, C], bias [C]. */
    public Projection query() {
        return attn.columns(0, ln1.size());
    }

    /** A copy of the key projection: columns [C, 2C) of {@code c_attn}. */
    public Projection key() {
        return attn.columns(ln1.size(), ln1.size());
    }

    /** A copy of the value projection: columns [2C, 3C) of {@code c_attn}. */
    public Projection value() {
        return attn.columns(2 * ln1.size(), ln1.size());
    }
}
