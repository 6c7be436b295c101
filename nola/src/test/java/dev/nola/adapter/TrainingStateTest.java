package dev.nola.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.nola.adapter.optim.AdamW;
import dev.nola.adapter.optim.GradientClipping;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Training state lives on the device: a whole adapter training step (mix, forward, backward,
 * coefficient gradients, global-norm clipping, AdamW) moves no byte between host and device, on
 * every device, for NOLA (both basis modes, with and without QAT) and LoRA. The counting decorator
 * sees every write and read, so the check can fail: the last part reads the norm and sees 4 bytes.
 */
class TrainingStateTest {

    private static final int IN = 48;
    private static final int OUT = 40;
    private static final int N = 16;

    private record Case(String name, Function<CountingDevice, Adapter> make) {
    }

    private static List<Case> cases() {
        NolaConfig base = NolaConfig.offset(4, 24, 20, 8f, 5L, List.of("q"));
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("NOLA materialized", d -> NolaAdapter.create(d, base, IN, OUT, 0, "q")));
        cases.add(new Case("NOLA on the fly", d -> NolaAdapter.create(d,
                base.withBasisMode(NolaConfig.BasisMode.ON_THE_FLY), IN, OUT, 0, "q")));
        cases.add(new Case("NOLA QAT 4-bit", d -> NolaAdapter.create(d,
                base.withQuantization(4, true), IN, OUT, 0, "q")));
        cases.add(new Case("LoRA r=4", d -> new LoraAdapter(d, IN, OUT, 4, 8f, 5L, 1)));
        return cases;
    }

    @TestFactory
    Stream<DynamicTest> aTrainingStepReadsNothingBack() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String id : TestDevices.ids()) {
            for (Case c : cases()) {
                tests.add(dynamicTest(id + " " + c.name(), () -> step(id, c)));
            }
        }
        return tests.stream();
    }

    private static void step(String id, Case c) {
        SplittableRandom rnd = new SplittableRandom(3);
        try (CountingDevice d = new CountingDevice(Backends.open(id));
             Adapter a = c.make().apply(d);
             Tensor x = d.upload(AdapterGradientTest.uniform(rnd, N * IN, 1), N, IN);
             Tensor y = d.allocate(N, OUT);
             Tensor dy = d.upload(AdapterGradientTest.uniform(rnd, N * OUT, 1), N, OUT);
             AdamW opt = AdamW.nolaDefaults(a.parameterSet());
             GradientClipping clip = new GradientClipping(a.parameterSet(), 1.0)) {
            float[] before = a.parameters();
            d.resetTransfers();
            for (int s = 0; s < 3; s++) {
                a.zeroGradients();
                a.forward(x, y);
                a.backward(dy, null);
                opt.step(1e-2, clip.clipFactor());
            }
            d.synchronize();
            assertEquals(0, d.bytesToDevice + d.bytesToHost, c.name() + " on " + id + ": " + d.transfers
                    + " transfers, " + d.bytesToDevice + " B to the device, " + d.bytesToHost + " B back");
            double norm = clip.norm();
            assertEquals(4, d.bytesToHost, "reading the norm is one float");
            assertTrue(norm > 0 && Double.isFinite(norm), "norm " + norm);
            float[] after = a.parameters();
            double moved = 0;
            for (int i = 0; i < after.length; i++) {
                moved += Math.abs(after[i] - before[i]);
            }
            assertTrue(moved > 0, "the steps changed the parameters");
        }
    }
}
