package dev.nola.models.gpt2;

import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.models.transformer.BlockWeights;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Moves GPT-2 weights between a {@link Gpt2Checkpoint} on the host (Hugging Face's names and Conv1D
 * layout) and {@link Gpt2Model.Weights} on a device, in the same layout: nothing is transposed, the
 * model reads Conv1D weights as they are.
 */
public final class Gpt2Weights {

    private Gpt2Weights() {
    }

    /** The model's shape of a checkpoint's configuration. */
    public static Gpt2Model.Dims dims(Gpt2Config c) {
        return new Gpt2Model.Dims(c.vocabularySize(), c.positions(), c.layers(), c.heads(), c.embeddingSize(),
                c.layerNormEpsilon());
    }

    /** The configuration of a model shape, with GPT-2's tanh GELU. */
    public static Gpt2Config config(Gpt2Model.Dims d) {
        return new Gpt2Config(d.width(), d.heads(), d.layers(), d.positions(), d.vocab(), d.eps(), "gelu_new");
    }

    /** Uploads every tensor of a checkpoint (the caller closes them with {@link Gpt2Init#close}). */
    public static Gpt2Model.Weights upload(Device d, Gpt2Checkpoint ckpt) {
        Map<String, int[]> shapes = Gpt2Checkpoint.shapes(ckpt.config());
        Map<String, Tensor> t = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, float[]> e : ckpt.tensors().entrySet()) {
                t.put(e.getKey(), d.upload(e.getValue(), shapes.get(e.getKey())));
            }
        } catch (RuntimeException ex) {
            t.values().forEach(Tensor::close);
            throw ex;
        }
        List<BlockWeights> blocks = new ArrayList<>();
        for (int i = 0; i < ckpt.config().layers(); i++) {
            String p = "h." + i + ".";
            blocks.add(new BlockWeights(t.get(p + "ln_1.weight"), t.get(p + "ln_1.bias"), t.get(p + "attn.c_attn.weight"),
                    t.get(p + "attn.c_attn.bias"), t.get(p + "attn.c_proj.weight"), t.get(p + "attn.c_proj.bias"),
                    t.get(p + "ln_2.weight"), t.get(p + "ln_2.bias"), t.get(p + "mlp.c_fc.weight"),
                    t.get(p + "mlp.c_fc.bias"), t.get(p + "mlp.c_proj.weight"), t.get(p + "mlp.c_proj.bias")));
        }
        return new Gpt2Model.Weights(t.get("wte.weight"), t.get("wpe.weight"), blocks, t.get("ln_f.weight"),
                t.get("ln_f.bias"));
    }

    /** Reads device weights back into a checkpoint of the given configuration (to save a pretrained base). */
    public static Gpt2Checkpoint download(Device d, Gpt2Model.Weights w, Gpt2Config config) {
        Map<String, float[]> t = new LinkedHashMap<>();
        t.put("wte.weight", d.read(w.wte()));
        t.put("wpe.weight", d.read(w.wpe()));
        for (int i = 0; i < w.blocks().size(); i++) {
            String p = "h." + i + ".";
            w.blocks().get(i).named().forEach((name, tensor) -> t.put(p + name, d.read(tensor)));
        }
        t.put("ln_f.weight", d.read(w.lnfWeight()));
        t.put("ln_f.bias", d.read(w.lnfBias()));
        return Gpt2Checkpoint.of(config, t);
    }
}
