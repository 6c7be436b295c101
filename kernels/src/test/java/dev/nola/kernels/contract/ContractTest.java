package dev.nola.kernels.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.Availability;
import dev.nola.config.RuntimeSettings;
import dev.nola.kernels.Backend;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.OpFamily;
import dev.nola.kernels.host.HostDevice;
import dev.nola.kernels.reference.ReferenceBackend;
import dev.nola.kernels.reference.ReferenceLinalgOps;
import dev.nola.kernels.reference.ReferenceRandomOps;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

/**
 * The runner itself: what it does with a family a device lacks, a backend that is unavailable or
 * absent, and NOLA_REQUIRE_BACKENDS; the devices here are reference devices with families left out.
 */
class ContractTest {

    /** A reference device with only the random and linalg families. */
    private static final Supplier<Device> PARTIAL = () -> new HostDevice(ReferenceBackend.hostInfo("partial", "test"),
            d -> List.of(new ReferenceRandomOps(d), new ReferenceLinalgOps(d)));

    /** The tests of a tree of dynamic nodes, depth first (a container's children can be read once). */
    private static List<DynamicTest> tests(Stream<? extends DynamicNode> nodes) {
        List<DynamicTest> out = new ArrayList<>();
        nodes.forEach(n -> {
            if (n instanceof DynamicContainer c) {
                out.addAll(tests(c.getChildren()));
            } else {
                out.add((DynamicTest) n);
            }
        });
        return out;
    }

    private static DynamicTest named(List<DynamicTest> tests, String start) {
        return tests.stream().filter(n -> n.getDisplayName().startsWith(start)).findFirst()
                .orElseThrow(() -> new AssertionError("no test named '" + start + "…' in "
                        + tests.stream().map(DynamicNode::getDisplayName).toList()));
    }

    @Test
    void aMissingFamilyIsSkippedWithItsReason() throws Throwable {
        List<DynamicTest> nodes = tests(Contract.forDevice(PARTIAL, Set.of()));
        DynamicTest nola = named(nodes, "partial: nola (skipped: ");
        assertTrue(nola.getDisplayName().contains("the nola family is not implemented on partial"), nola.getDisplayName());
        TestAbortedException e = assertThrows(TestAbortedException.class, () -> nola.getExecutable().execute());
        assertTrue(e.getMessage().contains("not implemented"), e.getMessage());
        for (String f : List.of("adapter", "optim")) {
            named(nodes, "partial: " + f + " (skipped: ");
        }
        // the families it has run their checks, and pass
        named(nodes, "basis is bit-identical").getExecutable().execute();
        named(nodes, "matmul, all transposes and alpha/beta").getExecutable().execute();
    }

    @Test
    void aMissingFamilyOfARequiredBackendFails() {
        List<DynamicTest> nodes = tests(Contract.forDevice(PARTIAL, Set.of("partial")));
        DynamicTest optim = named(nodes, "partial: optim (required, unavailable: ");
        AssertionError e = assertThrows(AssertionError.class, () -> optim.getExecutable().execute());
        assertTrue(e.getMessage().contains("NOLA_REQUIRE_BACKENDS") && e.getMessage().contains("optim"), e.getMessage());
    }

    @Test
    void aCompleteDeviceRunsEveryFamily() {
        List<DynamicNode> nodes = Contract.forDevice(() -> Backends.open("reference"), Set.of()).toList();
        assertEquals(OpFamily.values().length + 1, nodes.size(), "one container per family and one for the device");
        assertTrue(tests(nodes.stream()).stream().noneMatch(n -> n.getDisplayName().contains("skipped")));
    }

    /**
     * A device that refuses bfloat16 tensors (as tornado does) gets no bfloat16 matmul or encoder check,
     * neither run nor skipped, and still gets the storage check that holds it to the refusal; a device
     * that holds bfloat16 gets all three.
     */
    @Test
    void checksOfAnElementTypeTheDeviceRefusesAreNoTests() {
        Supplier<Device> refusing = () -> refusingBf16(Backends.open("reference"));
        List<String> names = tests(Contract.forDevice(refusing, Set.of())).stream().map(DynamicNode::getDisplayName).toList();
        List<String> all = tests(Contract.forDevice(() -> Backends.open("reference"), Set.of())).stream()
                .map(DynamicNode::getDisplayName).toList();
        List<String> bf16 = List.of(HalfWeightsContract.matmul().name(), HalfWeightsContract.encoder().name());
        assertTrue(all.containsAll(bf16), "a device that holds bfloat16 gets its checks: " + all);
        assertTrue(names.stream().noneMatch(bf16::contains), "no bfloat16 op check on a device that refuses it: " + names);
        assertTrue(names.contains(HalfWeightsContract.storage().name()), "the refusal is still checked: " + names);
        assertTrue(names.stream().noneMatch(n -> n.contains("skipped")), names.toString());
        assertEquals(all.size() - bf16.size(), names.size(), "every other check is given to both");
    }

    /** {@code d} as a device that answers "no" to {@code holds(BF16)}; everything else is {@code d}'s. */
    private static Device refusingBf16(Device d) {
        return (Device) java.lang.reflect.Proxy.newProxyInstance(Device.class.getClassLoader(), new Class<?>[] {Device.class},
                (proxy, m, args) -> {
                    if (m.getName().equals("holds") && args[0] == dev.nola.kernels.DType.BF16) {
                        return Availability.no("no bfloat16 kernels here");
                    }
                    try {
                        return m.invoke(d, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    /** A backend that is present but cannot run. */
    private static final Backend UNAVAILABLE = new Backend() {
        @Override
        public String name() {
            return "ghost";
        }

        @Override
        public Availability availability() {
            return Availability.no("no ghost driver");
        }

        @Override
        public List<DeviceInfo> devices() {
            return List.of();
        }

        @Override
        public Device open(int platform, int device, RuntimeSettings settings) {
            throw new IllegalStateException("unavailable");
        }
    };

    @Test
    void unavailableBackendsAreSkippedUnlessRequired() {
        DynamicTest skipped = named(tests(Contract.forBackends(List.of(UNAVAILABLE), Set.of())), "ghost (skipped: ");
        assertTrue(skipped.getDisplayName().contains("no ghost driver"), skipped.getDisplayName());
        assertThrows(TestAbortedException.class, () -> skipped.getExecutable().execute());
        DynamicTest failed = named(tests(Contract.forBackends(List.of(UNAVAILABLE), Set.of("ghost"))), "ghost (required, unavailable");
        assertThrows(AssertionError.class, () -> failed.getExecutable().execute());
        DynamicTest absent = named(tests(Contract.forBackends(List.of(), Set.of("ghost"))), "ghost (required, absent)");
        assertThrows(AssertionError.class, () -> absent.getExecutable().execute());
        // opencl is on this class path: a test given only other backends leaves it to the tests that cover it
        assertTrue(tests(Contract.forBackends(List.of(UNAVAILABLE), Set.of("opencl"))).stream()
                .noneMatch(t -> t.getDisplayName().contains("opencl")), "opencl is not this list's business");
    }

    @Test
    void theReferenceRunsOnlyChecksWithAnIndependentOracle() {
        List<String> names = tests(Contract.forReference()).stream().map(DynamicNode::getDisplayName).toList();
        assertTrue(names.contains("coefficient gradient matches finite differences"), names.toString());
        assertTrue(names.stream().noneMatch(n -> n.contains("bit-identical")), "no self-comparison: " + names);
        long independent = Contract.families().stream().flatMap(f -> f.checks().stream()).filter(Contract.Check::independent).count();
        assertEquals(independent, names.size());
    }
}
