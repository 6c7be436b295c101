package dev.nola.models.bases;

import dev.nola.adapter.io.SafeTensorsReader;
import dev.nola.adapter.io.SafeTensorsWriter;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.models.spec.WeightSpec;
import dev.nola.models.transformer.DeviceWeights;
import dev.nola.models.vit.VitConfig;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A ViT's weights as one safetensors file, the tensors of {@link VitConfig#spec()}'s table in its
 * order (format {@code nola-vit-1}).
 */
public final class VitWeightsFile {

    private VitWeightsFile() {
    }

    /** The file's bytes. */
    public static byte[] bytes(Device d, DeviceWeights w) {
        SafeTensorsWriter out = new SafeTensorsWriter();
        w.all().forEach((name, t) -> out.f32(name, t.shape(), d.read(t)));
        return out.toBytes(Map.of("format", "nola-vit-1"));
    }

    /** Reads weights of the given shape onto the device, every tensor's shape checked against the table first. */
    public static DeviceWeights read(Device d, Path file, VitConfig config) {
        try (SafeTensorsReader r = SafeTensorsReader.open(file)) {
            Map<String, float[]> host = new LinkedHashMap<>();
            for (WeightSpec w : config.spec().weights().list()) {
                int[] s = r.tensor(w.name()).shape();
                if (!Arrays.equals(s, w.shape())) {
                    throw new IllegalArgumentException(file + ": tensor '" + w.name() + "' has shape " + Arrays.toString(s)
                            + ", expected " + Arrays.toString(w.shape()));
                }
            }
            for (WeightSpec w : config.spec().weights().list()) {
                host.put(w.name(), r.readFloats(w.name()));
            }
            return DeviceWeights.upload(d, config.spec().weights(), host);
        }
    }
}
