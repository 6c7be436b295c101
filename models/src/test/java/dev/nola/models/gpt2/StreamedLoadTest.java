package dev.nola.models.gpt2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.nola.io.InvalidFileException;
import dev.nola.kernels.AbstractDevice;
import dev.nola.kernels.Backends;
import dev.nola.kernels.BFloat16;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.models.lm.HfCheckpoint;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.transformer.DeviceWeights;
import dev.nola.models.transformer.WeightPrecision;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading onto the device tensor by tensor ({@link HfCheckpoint#stream}, {@link DeviceWeights#stream}),
 * which the commands use so that a checkpoint is never whole on the heap: the same tensors as
 * {@link HfCheckpoint#load}, in table order, from prefixed, sharded, tied and BF16 files; bfloat16 where
 * asked (a BF16 file's values as stored); the same one-line errors; nothing left on the device when a
 * load fails.
 */
class StreamedLoadTest {

    @TempDir
    Path tmp;

    @Test
    void streamingGivesLoadsTensorsInTableOrderAndBf16AsStored() {
        for (TinyGpt2 fixture : List.of(new TinyGpt2().prefix(true).maskBuffers(true).head(TinyGpt2.Head.TIED),
                new TinyGpt2().dtype("BF16").head(TinyGpt2.Head.TIED), new TinyGpt2().sharded(true))) {
            Path dir = tmp.resolve("m" + System.nanoTime());
            fixture.write(dir);
            HfCheckpoint ckpt = HfCheckpoint.load(dir);
            List<String> order = new ArrayList<>();
            HfCheckpoint.stream(dir, (name, v) -> {
                order.add(name);
                assertArrayEquals(ckpt.tensor(name), v, name);
            });
            assertEquals(List.copyOf(ckpt.tensors().keySet()), order, "table order");
            CausalLmSpec spec = ckpt.config().spec();
            Set<String> half = WeightPrecision.BF16.halfWeights(spec, false);
            try (Device d = Backends.open("reference");
                 DeviceWeights w = DeviceWeights.stream(d, ckpt.table(), half, each -> HfCheckpoint.stream(dir, each))) {
                for (Map.Entry<String, float[]> e : ckpt.tensors().entrySet()) {
                    boolean h = half.contains(e.getKey());
                    assertEquals(h ? DType.BF16 : DType.FLOAT32, w.get(e.getKey()).dtype(), e.getKey());
                    float[] want = h ? BFloat16.rounded(e.getValue()) : e.getValue();
                    assertArrayEquals(want, d.read(w.get(e.getKey())), e.getKey());
                    if (h && ckpt.dtype(e.getKey()) == dev.nola.adapter.io.DType.BF16) {
                        assertArrayEquals(e.getValue(), d.read(w.get(e.getKey())), e.getKey() + ": a BF16 file's values as stored");
                    }
                }
            }
        }
    }

    @Test
    void aFailedLoadSaysWhatLoadSaysAndLeavesNothingOnTheDevice() {
        Path dir = tmp.resolve("omitted");
        new TinyGpt2().omit("h.1.mlp.c_fc.weight").write(dir);
        String loadMessage = assertThrows(InvalidFileException.class, () -> HfCheckpoint.load(dir)).getMessage();
        try (Device d = Backends.open("reference")) {
            int before = ((AbstractDevice) d).liveTensors();
            CausalLmSpec spec = TinyGpt2.CONFIG.spec();
            InvalidFileException e = assertThrows(InvalidFileException.class, () -> DeviceWeights.stream(d,
                    spec.model().weights(), Set.of(), each -> HfCheckpoint.stream(dir, each)));
            assertEquals(loadMessage, e.getMessage());
            // a source that stops short: what it handed over is freed, and the missing tensor named
            IllegalArgumentException short_ = assertThrows(IllegalArgumentException.class, () -> DeviceWeights.stream(d,
                    spec.model().weights(), Set.of(), each -> each.accept("wte.weight",
                            new float[TinyGpt2.CONFIG.vocabularySize() * 8])));
            assertEquals("tensor wpe.weight is missing; expected wpe.weight[16, 8]", short_.getMessage());
            assertEquals(before, ((AbstractDevice) d).liveTensors(), "nothing left on the device");
        }
    }
}
