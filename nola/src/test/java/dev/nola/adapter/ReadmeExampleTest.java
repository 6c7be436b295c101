package dev.nola.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.adapter.optim.AdamW;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's "Using the library" example, kept compiling and running. */
class ReadmeExampleTest {

    @TempDir
    Path tmp;

    @Test
    void theReadmeExampleRuns() {
        Path dir = tmp.resolve("my-adapter");
        try (Device dev = Backends.open("cpu")) {
            NolaConfig cfg = NolaConfig.offset(8, 1000, 1000, 8f, 42L, List.of("q", "v"));  // r, k, l, alpha, seed
            NolaAdapter q0 = NolaAdapter.create(dev, cfg, 1024, 1024, 0, "q");           // layer 0, module q
            AdamW opt = AdamW.nolaDefaults(q0.parameterSet());   // α, β, gradients and moments stay on the device
            try (q0; opt; Tensor x = dev.allocate(4, 1024); Tensor y = dev.allocate(4, 1024);
                 Tensor dy = dev.allocate(4, 1024); Tensor dx = dev.allocate(4, 1024)) {
                q0.forward(x, y);
                q0.backward(dy, dx);
                opt.step(5e-3);
                assertEquals(2000, q0.gradients().length);
                assertEquals(1, opt.steps());
                NolaAdapterFiles.save(dir, Map.of("h.0.attn.q", q0));
            }
        }
        assertTrue(Files.isRegularFile(dir.resolve(NolaAdapterFiles.CONFIG_FILE)));
        assertTrue(Files.isRegularFile(dir.resolve(NolaAdapterFiles.WEIGHTS_FILE)));
    }
}
