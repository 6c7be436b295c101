package dev.nola.models.gpt2;

import dev.nola.models.spec.AttentionSpec;
import dev.nola.models.spec.BlockSpec;
import dev.nola.models.spec.Init;
import dev.nola.models.spec.Layout;
import dev.nola.models.spec.LinearSpec;
import dev.nola.models.spec.MlpSpec;
import dev.nola.models.spec.NormSpec;
import dev.nola.models.spec.WeightSpec;
import java.util.List;

/**
 * GPT-2's block, the one place its tensors are named (the ViT reuses it): under {@code h.{i}.},
 * {@code ln_1.{weight,bias}} [C], {@code attn.c_attn.{weight,bias}} ([C, 3C] Conv1D: q, k, v as column
 * ranges [0, C), [C, 2C), [2C, 3C)), {@code attn.c_proj.*} [C, C], {@code ln_2.*}, {@code mlp.c_fc.*}
 * [C, 4C], {@code mlp.c_proj.*} [4C, C]. Adapter sites: {@code h.{i}.attn.q}, {@code h.{i}.attn.v},
 * {@code h.{i}.mlp.fc}, {@code h.{i}.mlp.fc2} (modules q, v, fc, fc2: the names adapter files have
 * always saved).
 */
public final class Gpt2Blocks {

    /** The adapter modules of a GPT-2-style block, in site order. */
    public static final List<String> MODULES = List.of("q", "v", "fc", "fc2");

    private Gpt2Blocks() {
    }

    /** Adds a layer norm's gain (1) and bias (0) named {@code name.weight}, {@code name.bias} to the table. */
    public static NormSpec layerNorm(List<WeightSpec> table, String name, int c, float eps) {
        table.add(WeightSpec.base(name + ".weight", Init.ONES, c));
        table.add(WeightSpec.base(name + ".bias", Init.ZEROS, c));
        return new NormSpec(NormSpec.Kind.LAYER_NORM, name + ".weight", name + ".bias", eps);
    }

    /**
     * Adds block i's tensors to the table and returns its spec.
     *
     * @param std     the normal init of c_attn and c_fc
     * @param projStd the normal init of the two c_proj (GPT-2 scales them by 1/√(2L))
     */
    public static BlockSpec block(List<WeightSpec> table, int i, int c, int heads, float eps, MlpSpec.Activation act,
                                  boolean causal, double std, double projStd) {
        String p = "h." + i + ".";
        NormSpec ln1 = layerNorm(table, p + "ln_1", c, eps);
        String attn = p + "attn.c_attn.";
        table.add(WeightSpec.base(attn + "weight", Init.normal(std), c, 3 * c));
        table.add(WeightSpec.base(attn + "bias", Init.ZEROS, 3 * c));
        String proj = p + "attn.c_proj.";
        table.add(WeightSpec.base(proj + "weight", Init.normal(projStd), c, c));
        table.add(WeightSpec.base(proj + "bias", Init.ZEROS, c));
        NormSpec ln2 = layerNorm(table, p + "ln_2", c, eps);
        String fc = p + "mlp.c_fc.";
        table.add(WeightSpec.base(fc + "weight", Init.normal(std), c, 4 * c));
        table.add(WeightSpec.base(fc + "bias", Init.ZEROS, 4 * c));
        String fc2 = p + "mlp.c_proj.";
        table.add(WeightSpec.base(fc2 + "weight", Init.normal(projStd), 4 * c, c));
        table.add(WeightSpec.base(fc2 + "bias", Init.ZEROS, c));
        LinearSpec q = new LinearSpec(attn + "weight", attn + "bias", Layout.CONV1D, c, c, 0, 3 * c, p + "attn.q", "q");
        LinearSpec k = new LinearSpec(attn + "weight", attn + "bias", Layout.CONV1D, c, c, c, 3 * c, null, null);
        LinearSpec v = new LinearSpec(attn + "weight", attn + "bias", Layout.CONV1D, c, c, 2 * c, 3 * c, p + "attn.v", "v");
        LinearSpec o = LinearSpec.whole(proj + "weight", proj + "bias", Layout.CONV1D, c, c, null, null);
        LinearSpec up = LinearSpec.whole(fc + "weight", fc + "bias", Layout.CONV1D, c, 4 * c, p + "mlp.fc", "fc");
        LinearSpec down = LinearSpec.whole(fc2 + "weight", fc2 + "bias", Layout.CONV1D, 4 * c, c, p + "mlp.fc2", "fc2");
        AttentionSpec attention = new AttentionSpec(q, k, v, o, heads, heads, c / heads, causal, null);
        return new BlockSpec(i, ln1, attention, ln2, new MlpSpec(act, null, up, down));
    }
}
