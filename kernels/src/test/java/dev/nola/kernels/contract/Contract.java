package dev.nola.kernels.contract;

import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.nola.kernels.Availability;
import dev.nola.kernels.Backend;
import dev.nola.kernels.Backends;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.OpFamily;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;

/**
 * The op contract as tests: every op family of a device against the {@code reference} backend, one
 * class of checks per family ({@link RandomContract}, {@link NolaContract}, {@link LinalgContract},
 * {@link AdapterContract}, {@link OptimContract}) and one for what every device does with memory
 * ({@link DeviceContract}). This class runs them: one container per device, one per family, one test
 * per check, each on a freshly opened device, and a build-log line per passed check:
 * {@code [contract] <device>: <family>: <check>: passed}.
 *
 * <p>Used by {@code OpsContractTest} for every backend in this module and, through the test jar, by
 * other backend modules. A backend that is not available, or a family a device lacks, is one test
 * that is aborted (reported as skipped) and whose name carries the reason, unless the backend is
 * named in {@code NOLA_REQUIRE_BACKENDS}: then it fails.
 *
 * <p><b>Running a subset.</b> The system property {@code nola.contract.only} (comma-separated, case
 * insensitive) keeps only the checks whose {@code "<family>: <check>"} contains one of its parts, e.g.
 * {@code -Dnola.contract.only=nn: rmsnorm,nn: rope,nn: swiglu,grouped-query} or {@code =nn:} for one
 * family; families left without a check are left out. Unset or blank, every check runs.
 */
public final class Contract {

    /** What a check runs: the reference device (the oracle) and the device under test. */
    interface DeviceTest {
        void run(Device ref, Device dev) throws Exception;
    }

    /**
     * One check of a family.
     *
     * @param name        what it shows, as it reads in the test report
     * @param independent whether its oracle is independent of the reference backend (host
     *                    arithmetic, finite differences, expected exceptions), so it means something
     *                    when the device under test is the reference itself
     * @param body        the check
     * @param holds       the element type a device must hold for the check to apply, or null: a check of
     *                    bfloat16 ops means nothing on a device that refuses bfloat16 tensors (that refusal,
     *                    at allocation and with its reason, is {@link HalfWeightsContract#storage}'s check)
     */
    record Check(String name, boolean independent, DeviceTest body, DType holds) {

        /** A check that applies to every device. */
        Check(String name, boolean independent, DeviceTest body) {
            this(name, independent, body, null);
        }

        /** Whether it applies to a device that holds these element types. */
        boolean appliesTo(Set<DType> held) {
            return holds == null || held.contains(holds);
        }
    }

    /** The checks of one family; {@code family} is null for the device's own (memory) checks. */
    record Family(OpFamily family, List<Check> checks) {
        String label() {
            return family == null ? "device" : family.label();
        }
    }

    /** Every family's checks, in report order. */
    static List<Family> families() {
        return List.of(
                new Family(null, DeviceContract.checks()),
                new Family(OpFamily.RANDOM, RandomContract.checks()),
                new Family(OpFamily.NOLA, NolaContract.checks()),
                new Family(OpFamily.LINALG, LinalgContract.checks()),
                new Family(OpFamily.ADAPTER, AdapterContract.checks()),
                new Family(OpFamily.NN, NnContract.checks()),
                new Family(OpFamily.OPTIM, OptimContract.checks()));
    }

    private Contract() {
    }

    /**
     * The backends that must run here: {@code NOLA_REQUIRE_BACKENDS} (comma-separated, set by
     * {@code .ci/run} to "opencl") turns "skipped" into "failed" for them, so CI cannot pass without
     * really running them.
     */
    static Set<String> required() {
        return Stream.of(System.getenv().getOrDefault("NOLA_REQUIRE_BACKENDS", "").split(","))
                .map(String::trim).filter(x -> !x.isEmpty()).collect(Collectors.toUnmodifiableSet());
    }

    /** The contract tests for every device of every backend named, unavailable ones skipped with reasons. */
    public static Stream<DynamicNode> forBackends(List<Backend> backends) {
        return forBackends(backends, required());
    }

    static Stream<DynamicNode> forBackends(List<Backend> backends, Set<String> required) {
        List<DynamicNode> nodes = new ArrayList<>();
        for (String name : required.stream().sorted().toList()) {
            // A required backend that is on the class path but not among those given is another test's
            // business (kernels-tornado's tests cover tornado; opencl is checked in kernels). Only one
            // that is nowhere on the class path fails here, so a misspelt name cannot pass unnoticed.
            if (backends.stream().noneMatch(b -> b.name().equals(name)) && Backends.find(name).isEmpty()) {
                nodes.add(dynamicTest(name + " (required, absent)", () -> {
                    throw new AssertionError("NOLA_REQUIRE_BACKENDS names " + name + ", which is not on the class path");
                }));
            }
        }
        for (Backend b : backends) {
            Availability a = b.availability();
            if (!a.available()) {
                nodes.add(unavailable(b.name(), b.name() + " unavailable: " + a.reason(), required.contains(b.name())));
                continue;
            }
            for (DeviceInfo d : b.devices()) {
                nodes.add(DynamicContainer.dynamicContainer(d.id() + " " + d.name(),
                        forDevice(() -> Backends.open(d.id()), required)));
            }
        }
        return nodes.stream();
    }

    /** The contract tests for one device (opened afresh for each test), every family it has. */
    public static Stream<DynamicNode> forDevice(Supplier<Device> opener) {
        return forDevice(opener, required());
    }

    static Stream<DynamicNode> forDevice(Supplier<Device> opener, Set<String> required) {
        String id;
        Map<OpFamily, Availability> supported = new EnumMap<>(OpFamily.class);
        Set<DType> held = EnumSet.noneOf(DType.class);
        // opened once here so that test names can carry the reason a family is missing
        try (Device probe = opener.get()) {
            id = probe.id();
            for (OpFamily f : OpFamily.values()) {
                supported.put(f, probe.supports(f));
            }
            for (DType t : DType.values()) {
                if (probe.holds(t).available()) {
                    held.add(t);
                }
            }
        }
        boolean mustRun = required.contains(backendOf(id));
        List<DynamicNode> nodes = new ArrayList<>();
        for (Family family : families()) {
            Availability a = family.family() == null ? Availability.yes() : supported.get(family.family());
            if (!a.available()) {
                nodes.add(unavailable(id + ": " + family.label(), id + " lacks the " + family.label() + " family: "
                        + a.reason(), mustRun));
                continue;
            }
            // A check of an element type the device refuses (bfloat16 on tornado) is no test at all rather
            // than a skip: nothing is missing there, the refusal is the contract and the device's storage
            // check holds the device to it. A skip would read as a kernel still to write.
            List<DynamicNode> checks = family.checks().stream().filter(c -> selected(family.label(), c))
                    .filter(c -> c.appliesTo(held))
                    .map(c -> (DynamicNode) test(id, family.label(), c, opener)).toList();
            if (!checks.isEmpty()) {
                nodes.add(DynamicContainer.dynamicContainer(family.label(), checks));
            }
        }
        return nodes.stream();
    }

    /**
     * The checks that mean something on the reference device itself: those whose oracle does not
     * come from the reference backend. Comparing the reference with itself could not fail, so those
     * checks are left out rather than counted.
     */
    public static Stream<DynamicNode> forReference() {
        Supplier<Device> opener = () -> Backends.open("reference");
        List<DynamicNode> nodes = new ArrayList<>();
        for (Family family : families()) {
            List<DynamicNode> checks = family.checks().stream().filter(Check::independent)
                    .filter(c -> selected(family.label(), c)).map(c -> (DynamicNode) test("reference", family.label(), c, opener)).toList();
            if (!checks.isEmpty()) {
                nodes.add(DynamicContainer.dynamicContainer(family.label(), checks));
            }
        }
        return nodes.stream();
    }

    /** Whether {@code nola.contract.only} keeps this check (always, when it is unset or blank). */
    static boolean selected(String family, Check check) {
        String only = System.getProperty("nola.contract.only", "").trim();
        if (only.isEmpty()) {
            return true;
        }
        String name = (family + ": " + check.name()).toLowerCase(java.util.Locale.ROOT);
        return Stream.of(only.split(",")).map(x -> x.trim().toLowerCase(java.util.Locale.ROOT))
                .anyMatch(x -> !x.isEmpty() && name.contains(x));
    }

    /** The backend of a device string: {@code opencl} of {@code opencl:0:0}. */
    static String backendOf(String deviceId) {
        int colon = deviceId.indexOf(':');
        return colon < 0 ? deviceId : deviceId.substring(0, colon);
    }

    /** A test for something that cannot run: skipped with the reason, or failed when it is required. */
    static DynamicNode unavailable(String what, String why, boolean mustRun) {
        if (mustRun) {
            return dynamicTest(what + " (required, unavailable: " + why + ")", () -> {
                throw new AssertionError("NOLA_REQUIRE_BACKENDS requires it, but " + why);
            });
        }
        return dynamicTest(what + " (skipped: " + why + ")", () -> {
            System.out.println("[contract] " + what + ": SKIPPED: " + why);
            Assumptions.abort(why);
        });
    }

    private static DynamicNode test(String id, String family, Check check, Supplier<Device> opener) {
        return dynamicTest(check.name(), () -> {
            try (Device ref = Backends.open("reference"); Device dev = opener.get()) {
                check.body().run(ref, dev);
            }
            // one line per passed check in the build log, so CI shows which devices really ran
            System.out.println("[contract] " + id + ": " + family + ": " + check.name() + ": passed");
        });
    }
}
