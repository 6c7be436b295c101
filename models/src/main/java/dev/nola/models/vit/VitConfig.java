package dev.nola.models.vit;

import dev.nola.kernels.Checks;
import dev.nola.models.gpt2.Gpt2Blocks;
import dev.nola.models.spec.BlockSpec;
import dev.nola.models.spec.Init;
import dev.nola.models.spec.MlpSpec;
import dev.nola.models.spec.ModelSpec;
import dev.nola.models.spec.NormSpec;
import dev.nola.models.spec.WeightSpec;
import dev.nola.models.spec.WeightTable;
import java.util.ArrayList;
import java.util.List;

/**
 * The shape of the project's small Vision Transformer, and its spec: single-channel square images cut
 * into P×P patches, a class token, learned positions, L pre-LN non-causal blocks in GPT-2's names with
 * the erf GELU, a final layernorm and a linear head on the class token.
 *
 * <p>Tensors, in file order: {@code patch.weight} [P·P, C] (Conv1D), {@code tokens} [2, C] (the class
 * token, then the patch projection's bias), {@code positions} [T, C], the blocks {@code h.{i}.…}
 * ({@link Gpt2Blocks}), {@code ln_f.*}, {@code head.weight} [C, K] and {@code head.bias} [K] (the head
 * trains in fine-tuning too).
 *
 * @param image   image side in pixels (square)
 * @param patch   P, dividing the image side
 * @param layers  L
 * @param heads   NH
 * @param width   C, divisible by NH
 * @param classes K
 * @param eps     layernorm epsilon
 */
public record VitConfig(int image, int patch, int layers, int heads, int width, int classes, float eps) {

    public VitConfig {
        Checks.positive("image", image);
        Checks.positive("patch", patch);
        Checks.positive("layers", layers);
        Checks.positive("heads", heads);
        Checks.positive("width", width);
        Checks.positive("classes", classes);
        if (image % patch != 0) {
            throw new IllegalArgumentException("patch " + patch + " does not divide the image side " + image);
        }
        if (width % heads != 0) {
            throw new IllegalArgumentException("width " + width + " is not divisible by heads " + heads);
        }
        if (!(eps > 0)) {
            throw new IllegalArgumentException("eps must be > 0, got " + eps);
        }
    }

    /** Np, patches per image. */
    public int patches() {
        return (image / patch) * (image / patch);
    }

    /** T = Np + 1 tokens per image. */
    public int tokens() {
        return patches() + 1;
    }

    /** P·P values per patch. */
    public int patchSize() {
        return patch * patch;
    }

    /** The same ViT with a head of another number of classes. */
    public VitConfig withClasses(int k) {
        return new VitConfig(image, patch, layers, heads, width, k, eps);
    }

    /** The spec: weight table (N(0, 0.02) projections and embeddings, norms 1, biases 0), blocks, adapter sites. */
    public ModelSpec spec() {
        int c = width;
        List<WeightSpec> table = new ArrayList<>();
        table.add(WeightSpec.base("patch.weight", Init.normal(0.02), patchSize(), c));
        table.add(WeightSpec.base("tokens", Init.normal(0.02), 2, c));
        table.add(WeightSpec.base("positions", Init.normal(0.02), tokens(), c));
        List<BlockSpec> blocks = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            blocks.add(Gpt2Blocks.block(table, i, c, heads, eps, MlpSpec.Activation.GELU_ERF, false, 0.02, 0.02));
        }
        NormSpec lnf = Gpt2Blocks.layerNorm(table, "ln_f", c, eps);
        table.add(new WeightSpec("head.weight", new int[] {c, classes}, Init.normal(0.02), WeightSpec.Training.ALWAYS));
        table.add(new WeightSpec("head.bias", new int[] {classes}, Init.ZEROS, WeightSpec.Training.ALWAYS));
        return new ModelSpec("vit", new WeightTable(table), blocks, lnf, c);
    }

    /** The order a fresh ViT draws its normal weights in: the blocks, then the stem, then the head. */
    public List<String> drawOrder() {
        List<String> names = spec().weights().list().stream().map(WeightSpec::name).toList();
        List<String> order = new ArrayList<>(names.stream().filter(n -> n.startsWith("h.")).toList());
        order.addAll(List.of("patch.weight", "tokens", "positions", "head.weight"));
        return order;
    }
}
