package dev.nola.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.nola.kernels.Backend;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every benchmark case of the suite computes what the reference computes, on every device here: the
 * same check the suite makes before it times a case, run as a test so that a case whose inputs or
 * outputs are wired wrongly fails in CI rather than in a user's report.
 */
class CasesTest {

    static List<Case> all() {
        List<Case> cases = new ArrayList<>(KernelCases.of(Suite.GROUPS));
        cases.addAll(LayerCases.layer());
        cases.addAll(LayerCases.scaling(true));
        return cases;
    }

    @Test
    void everyCaseHasAUniqueKeyAndCountsItsWork() {
        Set<String> keys = new HashSet<>();
        for (Case c : all()) {
            assertTrue(keys.add(c.group() + "/" + c.op() + "/" + c.shape()), "duplicate case " + c);
            assertTrue(c.flops() > 0 || c.bytes() > 0, c.op() + " counts no work");
        }
        assertEquals(List.of("basis"), KernelCases.of(List.of("random")).stream().map(Case::op).toList());
    }

    @TestFactory
    Stream<DynamicTest> everyCaseMatchesTheReference() {
        Set<String> required = Set.of(System.getenv().getOrDefault("NOLA_REQUIRE_BACKENDS", "").split(","));
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend b : Backends.all()) {
            if (b.name().equals("reference")) {
                continue;
            }
            if (!b.availability().available()) {
                boolean must = required.contains(b.name());
                tests.add(dynamicTest(b.name() + " unavailable: " + b.availability().reason(), () -> {
                    if (must) {
                        throw new AssertionError("NOLA_REQUIRE_BACKENDS names " + b.name() + ", which is unavailable: "
                                + b.availability().reason());
                    }
                    Assumptions.abort(b.availability().reason());
                }));
                continue;
            }
            for (DeviceInfo info : b.devices()) {
                tests.add(dynamicTest(info.id() + ": every case within " + Compare.TOLERANCE + " of the reference", () -> {
                    List<String> failures = new ArrayList<>();
                    try (Device d = Backends.open(info.id()); Device ref = Backends.open("reference")) {
                        for (Case c : all()) {
                            try (Arena a = new Arena(d); Arena ra = new Arena(ref)) {
                                Case.Prepared p = c.setup().on(a, false);
                                Case.once(d, p);
                                Case.Prepared rp = c.setup().on(ra, true);
                                Case.once(ref, rp);
                                double err = Compare.outputs(ref, rp.outputs(), d, p.outputs());
                                if (!(err <= Compare.TOLERANCE)) {
                                    failures.add(c.group() + "/" + c.op() + " " + c.shape() + ": " + err);
                                }
                            }
                        }
                    }
                    assertTrue(failures.isEmpty(), "cases that disagree with the reference: " + failures);
                }));
            }
        }
        return tests.stream();
    }

    @Test
    void aWronglyWiredCaseIsCaught() {
        // the device's op scales by 2, the reference's by 3: the suite's check must see it
        Case wrong = new Case("linalg", "scale", "n=64", 64, 512, (a, check) -> {
            Tensor x = a.random(1, 1, 64);
            float f = a.device().id().equals("reference") ? 3f : 2f;
            return new Case.Prepared(() -> a.device().linalg().scale(f, x), List.of(x));
        });
        try (Device d = Backends.open("cpu"); Device ref = Backends.open("reference");
             Arena a = new Arena(d); Arena ra = new Arena(ref)) {
            Case.Prepared p = wrong.setup().on(a, false);
            Case.once(d, p);
            Case.Prepared rp = wrong.setup().on(ra, true);
            Case.once(ref, rp);
            double err = Compare.outputs(ref, rp.outputs(), d, p.outputs());
            assertFalse(err <= Compare.TOLERANCE, "a factor 2 against 3 passed with error " + err);
        }
    }

    @Test
    void maxErrorIsRelativeToTheReferenceAndRejectsNonFinite() {
        assertEquals(0.5, Compare.maxError(new double[] {2, -1}, new double[] {1, -1}), 1e-12);
        assertEquals(Double.POSITIVE_INFINITY, Compare.maxError(new double[] {1}, new double[] {Double.NaN}));
        assertEquals(0, Compare.maxError(new double[] {0, 0}, new double[] {0, 0}));
    }
}
