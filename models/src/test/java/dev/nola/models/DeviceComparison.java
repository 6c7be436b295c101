package dev.nola.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.nola.kernels.Availability;
import dev.nola.kernels.Backend;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.OpFamily;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicNode;

/**
 * What the PyTorch-fixture tests of the models share: one dynamic test per device of every available
 * backend (an unavailable backend, or a device without the nn family, is a skipped test with the
 * reason), and the tolerance check with the largest error it saw.
 */
public final class DeviceComparison {

    /** The models' tolerance against a float64 fixture: 1e-4 of each tensor's max|value|. */
    public static final double TOL = 1e-4;

    private DeviceComparison() {
    }

    /** A test body on one open device. */
    @FunctionalInterface
    public interface DeviceBody {
        /** Runs the checks on {@code d}. */
        void run(Device d) throws Exception;
    }

    /** One test per device of every available backend. */
    public static Stream<DynamicNode> onEveryDevice(String what, DeviceBody body) {
        List<DynamicNode> nodes = new ArrayList<>();
        for (Backend backend : Backends.all()) {
            Availability a = backend.availability();
            if (!a.available()) {
                nodes.add(dynamicTest(what + " on " + backend.name() + " (skipped: " + a.reason() + ")",
                        () -> Assumptions.abort(a.reason())));
                continue;
            }
            for (DeviceInfo info : backend.devices()) {
                nodes.add(dynamicTest(what + " on " + info.id(), () -> {
                    try (Device d = Backends.open(info.id())) {
                        Availability nn = d.supports(OpFamily.NN);
                        Assumptions.assumeTrue(nn.available(), () -> info.id() + " lacks the nn family: " + nn.reason());
                        body.run(d);
                    }
                }));
            }
        }
        return nodes.stream();
    }

    /** The largest error seen on a device, as a fraction of each tensor's max|value|. */
    public static final class Worst {
        private final Device d;
        private final String label;
        private double worst;

        /** @param label how {@link #print} names the comparison ("gpt2-fixture") */
        public Worst(Device d, String label) {
            this.d = d;
            this.label = label;
        }

        /** |got − want| ≤ TOL·(|want| + max|want|) for every element. */
        public void check(String what, float[] want, float[] got) {
            assertEquals(want.length, got.length, what + ": element count");
            double scale = 0;
            for (float x : want) {
                scale = Math.max(scale, Math.abs(x));
            }
            for (int i = 0; i < want.length; i++) {
                double err = Math.abs((double) got[i] - want[i]);
                double tol = TOL * (Math.abs(want[i]) + scale);
                if (!(err <= tol)) {
                    throw new AssertionError(label + " " + what + " on " + d.id() + ": element " + i + " is " + got[i]
                            + ", expected " + want[i] + " (error " + err + " > tolerance " + tol + ")");
                }
                worst = Math.max(worst, err / Math.max(scale, 1e-30));
            }
        }

        /** Prints the largest error, for the closing notes. */
        public void print() {
            System.out.printf("[%s] %s: largest error %.2e of a tensor's max|value| (tolerance %.0e)%n", label, d.id(), worst, TOL);
        }
    }
}
