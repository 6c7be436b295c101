package dev.nola.models.transformer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.LoraAdapter;
import dev.nola.kernels.AbstractDevice;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.vit.VitConfig;
import dev.nola.models.vit.VitModel;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A stack refused at construction frees what it had allocated, and says why in one line. */
class StackConstructionTest {

    @Test
    void anAdapterOfTheWrongShapeIsRefusedAndNothingIsLeft() {
        VitConfig config = new VitConfig(8, 4, 2, 2, 8, 3, 1e-6f);
        try (Device d = Backends.open("reference"); DeviceWeights w = VitModel.randomWeights(d, config, 1);
             Adapter wrong = new LoraAdapter(d, 8, 8, 2, 4f, 1, 0)) {   // fc is [8 -> 32], not [8 -> 8]
            AbstractDevice a = (AbstractDevice) d;
            long before = a.memoryBytes();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new VitModel(d, config, w, false, Map.of("h.1.mlp.fc", wrong)));
            assertTrue(e.getMessage().contains("h.1.mlp.fc") && e.getMessage().contains("[8 -> 32]"), e.getMessage());
            // the ViT's head gradients (ALWAYS weights) were allocated before block 1 refused the adapter
            assertEquals(before, a.memoryBytes(), "the refused stack freed its gradients");
        }
    }
}
