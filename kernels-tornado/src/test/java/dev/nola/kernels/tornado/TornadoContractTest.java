package dev.nola.kernels.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.Backend;
import dev.nola.kernels.Backends;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.contract.OpsContract;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The op contract on every TornadoVM device, plus the plan cache's residency rules. The tests are
 * run with the SDK's JVM flags (see this module's pom), so an unavailable backend here is a failure,
 * not a skip.
 */
class TornadoContractTest {

    @Test
    void backendIsFoundAndAvailable() {
        Backend b = Backends.find("tornado").orElseThrow();
        assertTrue(b.availability().available(), "tornado unavailable: " + b.availability().reason());
        assertFalse(b.devices().isEmpty());
        assertEquals("tornado:0:0", b.devices().get(0).id());
    }

    @TestFactory
    Stream<DynamicNode> contractOnEveryTornadoDevice() {
        return OpsContract.forBackends(List.of(Backends.find("tornado").orElseThrow()));
    }

    /** A resident basis that is rewritten must be re-sent: the plan notices the new version. */
    @Test
    void rewrittenResidentBasisIsNotStale() {
        try (Device dev = Backends.open("tornado:0:0"); Device ref = Backends.open("reference")) {
            int k = 5;
            int n = 33;
            Tensor c = dev.upload(new float[] {1, -2, 0.5f, 3, 0.25f}, k);
            Tensor basis = dev.allocate(k, n);
            Tensor out = dev.allocate(n);
            for (long seed = 1; seed <= 3; seed++) {
                BasisStream s = new BasisStream(seed, 9, 0, 0.125f);
                dev.ops().basis(s, 0, k, basis);
                dev.ops().mix(c, basis, null, out);
                Tensor rc = ref.upload(new float[] {1, -2, 0.5f, 3, 0.25f}, k);
                Tensor rout = ref.allocate(n);
                ref.ops().mixGenerated(rc, s, null, rout);
                float[] want = ref.read(rout);
                float[] got = dev.read(out);
                for (int e = 0; e < n; e++) {
                    assertEquals(Float.floatToRawIntBits(want[e]), Float.floatToRawIntBits(got[e]), "seed " + seed + " e " + e);
                }
            }
        }
    }

    /** Unknown device indices fail with the devices that exist. */
    @Test
    void unknownDeviceIsNamed() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Backends.open("tornado:0:99"));
        assertTrue(e.getMessage().contains("tornado:0:99") && e.getMessage().contains("tornado:0:0"), e.getMessage());
    }
}
