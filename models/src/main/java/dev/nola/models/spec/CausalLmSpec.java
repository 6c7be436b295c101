package dev.nola.models.spec;

/**
 * A decoder-only language model: token embedding (plus learned positions for GPT-2), the blocks and
 * final norm of {@link #model()}, and an output head — its own weight or the token embedding (tied).
 *
 * @param model             the blocks, the final norm and the weight table
 * @param tokenEmbedding    the [V, C] embedding's name
 * @param positionEmbedding the [P, C] learned positions' name, or null (rotary models)
 * @param head              the untied output head [V, C]'s name, or null when tied to the embedding
 * @param vocabulary        V
 * @param positions         P, the longest sequence
 */
public record CausalLmSpec(ModelSpec model, String tokenEmbedding, String positionEmbedding, String head,
                           int vocabulary, int positions) {

    public CausalLmSpec {
        int c = model.width();
        check(model, tokenEmbedding, vocabulary, c);
        if (positionEmbedding != null) {
            check(model, positionEmbedding, positions, c);
        }
        if (head != null) {
            check(model, head, vocabulary, c);
        }
    }

    private static void check(ModelSpec m, String name, int rows, int c) {
        int[] s = m.weights().shape(name);
        if (s.length != 2 || s[0] != rows || s[1] != c) {
            throw new IllegalArgumentException("tensor " + name + " is " + java.util.Arrays.toString(s) + "; expected ["
                    + rows + ", " + c + "]");
        }
    }

    /** The output head's weight name: {@link #head()}, or the token embedding when tied. */
    public String headWeight() {
        return head != null ? head : tokenEmbedding;
    }
}
