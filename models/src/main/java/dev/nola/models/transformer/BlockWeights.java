package dev.nola.models.transformer;

import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The weights of one pre-LN transformer block in GPT-2's names and Conv1D layouts ([in, out]):
 * {@code ln_1}, {@code attn.c_attn} (q, k, v side by side, [C, 3C]), {@code attn.c_proj} [C, C],
 * {@code ln_2}, {@code mlp.c_fc} [C, 4C], {@code mlp.c_proj} [4C, C]. The same record holds the
 * gradients of a trainable block.
 */
public record BlockWeights(Tensor ln1Weight, Tensor ln1Bias, Tensor attnWeight, Tensor attnBias,
                           Tensor projWeight, Tensor projBias, Tensor ln2Weight, Tensor ln2Bias,
                           Tensor fcWeight, Tensor fcBias, Tensor fc2Weight, Tensor fc2Bias) {

    /** Zero tensors of a block of width c (layernorm weights zero too: for gradients). */
    public static BlockWeights zeros(Device d, int c) {
        return new BlockWeights(d.allocate(c), d.allocate(c), d.allocate(c, 3 * c), d.allocate(3 * c),
                d.allocate(c, c), d.allocate(c), d.allocate(c), d.allocate(c),
                d.allocate(c, 4 * c), d.allocate(4 * c), d.allocate(4 * c, c), d.allocate(c));
    }

    /** The tensors under their Hugging Face names relative to the block ({@code ln_1.weight}, …), in order. */
    public Map<String, Tensor> named() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("ln_1.weight", ln1Weight);
        m.put("ln_1.bias", ln1Bias);
        m.put("attn.c_attn.weight", attnWeight);
        m.put("attn.c_attn.bias", attnBias);
        m.put("attn.c_proj.weight", projWeight);
        m.put("attn.c_proj.bias", projBias);
        m.put("ln_2.weight", ln2Weight);
        m.put("ln_2.bias", ln2Bias);
        m.put("mlp.c_fc.weight", fcWeight);
        m.put("mlp.c_fc.bias", fcBias);
        m.put("mlp.c_proj.weight", fc2Weight);
        m.put("mlp.c_proj.bias", fc2Bias);
        return m;
    }

    /** Closes every tensor. */
    public void close() {
        named().values().forEach(Tensor::close);
    }
}
