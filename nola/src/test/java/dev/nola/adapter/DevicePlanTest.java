package dev.nola.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.nola.adapter.io.SavedNola;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link SavedNola#devicePlan} is checked before anything is allocated, so it must list exactly what
 * {@link SavedNola#instantiate} then allocates: compared here byte for byte on a counting device,
 * for both init schemes, both basis modes, shared and per-layer bases, and quantization-aware training.
 */
class DevicePlanTest {

    @ParameterizedTest
    @CsvSource({"OFFSET, ON_THE_FLY, false, false", "OFFSET, MATERIALIZED, false, false", "OFFSET, MATERIALIZED, true, false",
        "PAPER, MATERIALIZED, true, false", "PAPER, ON_THE_FLY, true, true"})
    void planEqualsWhatInstantiateAllocates(NolaConfig.InitScheme init, NolaConfig.BasisMode mode, boolean shared,
                                            boolean qat) {
        NolaConfig c = new NolaConfig(4, 24, 16, 8f, init, mode, shared, 7L, List.of("q", "v"),
                qat ? 4 : NolaConfig.FLOAT_BITS, qat);
        try (Device ref = Backends.open("reference")) {
            CountingDevice d = new CountingDevice(ref);
            Map<String, NolaAdapter> made = new LinkedHashMap<>();
            for (int layer = 0; layer < 3; layer++) {
                made.put("h." + layer + ".q", NolaAdapter.create(ref, c, 20, 12, layer, "q"));
                made.put("h." + layer + ".v", NolaAdapter.create(ref, c, 20, 28, layer, "v"));
            }
            SavedNola saved = SavedNola.of(made);
            made.values().forEach(NolaAdapter::close);
            Map<String, NolaAdapter> back = saved.instantiate(d);
            long allocated = 0;
            for (int[] s : d.allocations) {
                long n = 4;
                for (int x : s) {
                    n *= x;
                }
                allocated += n;
            }
            back.values().forEach(NolaAdapter::close);
            assertEquals(allocated, saved.devicePlan("plan").totalBytes(), init + " " + mode + " shared=" + shared + " qat=" + qat);
        }
    }
}
