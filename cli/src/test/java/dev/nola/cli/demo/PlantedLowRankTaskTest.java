package dev.nola.cli.demo;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.nola.kernels.Backend;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The toy task with fixed seeds on every available device (the whole training loop, optimizer
 * included, runs on the device): NOLA with k + l below LoRA r = 1's parameter count reaches within 5%
 * of LoRA r = 4's final loss, while LoRA r = 1 cannot fit the rank-4 change.
 */
class PlantedLowRankTaskTest {

    /** One test per device of every available backend. */
    private static Stream<DynamicTest> onEveryDevice(Consumer<String> body) {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend b : Backends.all()) {
            if (b.availability().available()) {
                for (DeviceInfo d : b.devices()) {
                    tests.add(dynamicTest(d.id(), () -> body.accept(d.id())));
                }
            }
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> nolaMatchesLoraRank4WithFewerNumbersThanLoraRank1() {
        return onEveryDevice(PlantedLowRankTaskTest::nolaMatchesLoraRank4);
    }

    private static void nolaMatchesLoraRank4(String id) {
        PlantedLowRankTask.Result r;
        try (Device d = Backends.open(id)) {
            r = PlantedLowRankTask.run(d, PlantedLowRankTask.defaults());
        }
        System.out.print(r.summary());
        assertTrue(r.nola().parameters() < r.loraR1().parameters(), "NOLA must use fewer numbers than LoRA r=1");
        assertTrue(r.nola().finalLoss() <= 1.05 * r.loraR4().finalLoss(),
                "NOLA final loss " + r.nola().finalLoss() + " vs LoRA r=4 " + r.loraR4().finalLoss());
        assertTrue(r.loraR1().finalLoss() > 2 * r.loraR4().finalLoss(), "the task needs rank > 1: " + r.summary());
        assertTrue(r.nola().losses()[0] > 10 * r.nola().finalLoss(), "NOLA's loss falls: " + r.nola().losses()[0]);
        assertTrue(r.nola().losses().length == r.settings().steps() + 1);
    }

    /** The honest counterpart: a generic rank-4 change has 512 degrees of freedom; 96 coefficients cannot fit it. */
    @TestFactory
    Stream<DynamicTest> aGenericLowRankChangeIsBeyondNinetySixCoefficients() {
        return onEveryDevice(PlantedLowRankTaskTest::genericChange);
    }

    private static void genericChange(String id) {
        PlantedLowRankTask.Result r;
        try (Device d = Backends.open(id)) {
            r = PlantedLowRankTask.run(d, PlantedLowRankTask.withChange(PlantedLowRankTask.defaults(),
                    PlantedLowRankTask.Change.GENERIC));
        }
        System.out.print(r.summary());
        assertTrue(r.loraR4().finalLoss() <= 1.05 * r.noiseFloor(), "LoRA r=4 fits a rank-4 change: " + r.summary());
        assertTrue(r.nola().finalLoss() > 3 * r.loraR4().finalLoss(), "NOLA cannot: " + r.summary());
    }
}
