package dev.nola.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.adapter.io.SavedNola;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.host.HostDevice;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Shared bases are materialised once per device, and freed with their last adapter. */
class BasisBankTest {

    @TempDir
    Path tmp;

    @Test
    void layersWithSharedBasesShareOneCopy() {
        NolaConfig shared = NolaConfig.offset(4, 32, 24, 4f, 7L, List.of("q", "v"))
                .withBasisMode(NolaConfig.BasisMode.MATERIALIZED).withSharedBases(true);
        try (HostDevice dev = (HostDevice) Backends.open("cpu")) {
            BasisBank bank = new BasisBank(dev);
            int before = dev.liveTensors();
            NolaAdapter[] layers = new NolaAdapter[6];
            for (int i = 0; i < layers.length; i++) {
                layers[i] = NolaAdapter.create(dev, shared, 40, 30, i, "q", bank);
            }
            // one A bank and one B bank for all six layers
            assertEquals(2, bank.tensors());
            NolaAdapter alone = NolaAdapter.create(dev, shared, 40, 30, 3, "q");
            float[] c = new float[32];
            float[] d = new float[24];
            for (int i = 0; i < c.length; i++) {
                c[i] = 0.1f * (i - 9);
            }
            for (int j = 0; j < d.length; j++) {
                d[j] = 0.05f * (7 - j);
            }
            layers[3].setCoefficients(c, d);
            alone.setCoefficients(c, d);
            try (var delta1 = layers[3].deltaWeight(); var delta2 = alone.deltaWeight()) {
                assertArrayEquals(dev.read(delta2), dev.read(delta1), "a banked basis is the same basis");
            }
            alone.close();
            for (int i = 0; i < layers.length - 1; i++) {
                layers[i].close();
            }
            assertEquals(2, bank.tensors(), "still used by the last layer");
            layers[layers.length - 1].close();
            assertEquals(0, bank.tensors());
            assertEquals(before, dev.liveTensors(), "every tensor freed");

            // per-layer bases are distinct streams: one pair per layer
            NolaConfig perLayer = shared.withSharedBases(false);
            NolaAdapter p0 = NolaAdapter.create(dev, perLayer, 40, 30, 0, "q", bank);
            NolaAdapter p1 = NolaAdapter.create(dev, perLayer, 40, 30, 1, "q", bank);
            assertEquals(4, bank.tensors());
            p0.close();
            p1.close();
            assertEquals(0, bank.tensors());
        }
    }

    @Test
    void loadingAnAdapterSharesItsBases() {
        NolaConfig shared = NolaConfig.offset(2, 8, 8, 2f, 11L, List.of("q"))
                .withBasisMode(NolaConfig.BasisMode.MATERIALIZED).withSharedBases(true);
        Path dir = tmp.resolve("a");
        try (HostDevice dev = (HostDevice) Backends.open("cpu")) {
            Map<String, NolaAdapter> m = new LinkedHashMap<>();
            for (int i = 0; i < 4; i++) {
                m.put("h." + i + ".q", NolaAdapter.create(dev, shared, 16, 16, i, "q"));
            }
            NolaAdapterFiles.save(dir, m);
            m.values().forEach(NolaAdapter::close);
            int before = dev.liveTensors();
            SavedNola saved = NolaAdapterFiles.load(dir);
            Map<String, NolaAdapter> loaded = saved.instantiate(dev);
            // per adapter: a, b, da, db, coefA, coefB, gradA, gradB, stepA, stepB, offset = 11 own tensors;
            // bases: 2 shared
            assertEquals(before + 4 * 11 + 2, dev.liveTensors());
            assertTrue(loaded.size() == 4);
            loaded.values().forEach(NolaAdapter::close);
            assertEquals(before, dev.liveTensors());
        }
    }

    @Test
    void releaseOfAForeignTensorIsAnError() {
        try (Device dev = Backends.open("cpu"); var t = dev.allocate(3)) {
            BasisBank bank = new BasisBank(dev);
            var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> bank.release(t));
            assertTrue(e.getMessage().contains("not acquired"), e.getMessage());
            var s = new dev.nola.kernels.BasisStream(1, 2, 0, 1f);
            assertSame(bank.acquire(s, 2, 5), bank.acquire(s, 2, 5));
        }
    }
}
