package dev.nola.models.bases;

import dev.nola.adapter.io.SafeTensorsReader;
import dev.nola.adapter.io.SafeTensorsWriter;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.models.transformer.BlockWeights;
import dev.nola.models.vit.VitModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A ViT's weights as one safetensors file: {@code patch.weight} [P·P, C], {@code tokens} [2, C] (class
 * token, patch bias), {@code positions} [T, C], {@code h.{i}.…} in GPT-2's block names, {@code ln_f.*},
 * {@code head.weight} [C, K], {@code head.bias} [K].
 */
public final class VitWeightsFile {

    private VitWeightsFile() {
    }

    /** The tensors by name, in file order. */
    static Map<String, Tensor> named(VitModel.Weights w) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("patch.weight", w.patchWeight());
        m.put("tokens", w.tokenTable());
        m.put("positions", w.positions());
        for (int i = 0; i < w.blocks().size(); i++) {
            for (Map.Entry<String, Tensor> e : w.blocks().get(i).named().entrySet()) {
                m.put("h." + i + "." + e.getKey(), e.getValue());
            }
        }
        m.put("ln_f.weight", w.lnfWeight());
        m.put("ln_f.bias", w.lnfBias());
        m.put("head.weight", w.head());
        m.put("head.bias", w.headBias());
        return m;
    }

    /** The file's bytes. */
    public static byte[] bytes(Device d, VitModel.Weights w) {
        SafeTensorsWriter out = new SafeTensorsWriter();
        named(w).forEach((name, t) -> out.f32(name, t.shape(), d.read(t)));
        return out.toBytes(Map.of("format", "nola-vit-1"));
    }

    /** Reads weights of the given shape onto the device, every tensor's shape checked. */
    public static VitModel.Weights read(Device d, Path file, VitModel.Dims dims) {
        int c = dims.width();
        List<Tensor> made = new ArrayList<>();
        try (SafeTensorsReader r = SafeTensorsReader.open(file)) {
            java.util.function.BiFunction<String, int[], Tensor> get = (name, shape) -> {
                int[] s = r.tensor(name).shape();
                if (!java.util.Arrays.equals(s, shape)) {
                    throw new IllegalArgumentException(file + ": tensor '" + name + "' has shape "
                            + java.util.Arrays.toString(s) + ", expected " + java.util.Arrays.toString(shape));
                }
                Tensor t = d.upload(r.readFloats(name), shape);
                made.add(t);
                return t;
            };
            List<BlockWeights> blocks = new ArrayList<>();
            for (int i = 0; i < dims.layers(); i++) {
                String p = "h." + i + ".";
                blocks.add(new BlockWeights(get.apply(p + "ln_1.weight", new int[] {c}), get.apply(p + "ln_1.bias", new int[] {c}),
                        get.apply(p + "attn.c_attn.weight", new int[] {c, 3 * c}), get.apply(p + "attn.c_attn.bias", new int[] {3 * c}),
                        get.apply(p + "attn.c_proj.weight", new int[] {c, c}), get.apply(p + "attn.c_proj.bias", new int[] {c}),
                        get.apply(p + "ln_2.weight", new int[] {c}), get.apply(p + "ln_2.bias", new int[] {c}),
                        get.apply(p + "mlp.c_fc.weight", new int[] {c, 4 * c}), get.apply(p + "mlp.c_fc.bias", new int[] {4 * c}),
                        get.apply(p + "mlp.c_proj.weight", new int[] {4 * c, c}), get.apply(p + "mlp.c_proj.bias", new int[] {c})));
            }
            return new VitModel.Weights(get.apply("patch.weight", new int[] {dims.patchSize(), c}),
                    get.apply("tokens", new int[] {2, c}), get.apply("positions", new int[] {dims.tokens(), c}), blocks,
                    get.apply("ln_f.weight", new int[] {c}), get.apply("ln_f.bias", new int[] {c}),
                    get.apply("head.weight", new int[] {c, dims.classes()}), get.apply("head.bias", new int[] {dims.classes()}));
        } catch (RuntimeException e) {
            made.forEach(Tensor::close);
            throw e;
        }
    }
}
