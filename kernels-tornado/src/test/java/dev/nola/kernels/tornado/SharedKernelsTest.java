package dev.nola.kernels.tornado;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import java.lang.reflect.Method;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import uk.ac.manchester.tornado.api.common.TornadoDevice;

/**
 * A segment's tasks of one kernel method share one compiled kernel ({@link SharedKernels}): the
 * premise (every task of a method compiles to the same OpenCL source when each compiles its own), the
 * effect (far fewer programs built than tasks) and the result (the same bits as a segment whose every
 * task compiled its own). The step is {@link SegmentTest.Model}'s: about 200 tasks of a dozen
 * kernels in several task graphs.
 */
class SharedKernelsTest {

    @Test
    void theTasksOfAKernelMethodCompileToTheSameSource() {
        assertTrue(SharedKernels.available(), "TornadoVM's code cache is reachable (the JVM opens its OpenCL package)");
        TornadoDevice td = TornadoRuntimeAccess.device(0, 0);
        TornadoOptions options = TornadoOptions.fromSystemProperties().withSharedKernels(false);
        try (Device info = Backends.open("tornado:0:0");
             TornadoVmDevice d = new TornadoVmDevice(info.info(), td, new TornadoPlans(td, options))) {
            SegmentTest.Model m = new SegmentTest.Model(d);
            d.capture(() -> m.step(SegmentTest.batches(1)[0], SegmentTest.targets(0)));
            d.read(m.losses);
            List<Segment> held = d.plans().capture().held();
            assertEquals(1, held.size(), "one segment");
            SharedKernels k = held.get(0).kernels();
            Map<Method, Set<String>> sources = k.sources();
            assertTrue(k.tasks() > 2 * sources.size(), k.tasks() + " tasks of " + sources.size() + " kernel methods");
            for (Map.Entry<Method, Set<String>> e : sources.entrySet()) {
                assertEquals(1, e.getValue().size(), e.getKey() + " compiled to " + e.getValue().size() + " sources");
            }
            assertEquals(k.tasks(), k.programs(), "without sharing every task builds its own program");
            assertEquals(0, k.shared());
        }
    }

    @Test
    void aSegmentBuildsAProgramPerKernelAndGraphNotPerTaskWithTheSameResults() {
        int steps = 2;
        float[][] in = SegmentTest.batches(steps);
        TornadoDevice td = TornadoRuntimeAccess.device(0, 0);
        TornadoOptions options = TornadoOptions.fromSystemProperties();
        try (Device info = Backends.open("tornado:0:0");
             TornadoVmDevice own = new TornadoVmDevice(info.info(), td, new TornadoPlans(td, options.withSharedKernels(false)));
             TornadoVmDevice shared = new TornadoVmDevice(info.info(), td, new TornadoPlans(td, options.withSharedKernels(true)))) {
            SegmentTest.Model a = new SegmentTest.Model(own);
            SegmentTest.Model b = new SegmentTest.Model(shared);
            for (int s = 0; s < steps; s++) {
                int step = s;
                own.capture(() -> a.step(in[step], SegmentTest.targets(step)));
                shared.capture(() -> b.step(in[step], SegmentTest.targets(step)));
                assertArrayEquals(own.read(a.losses), shared.read(b.losses), "losses of step " + s);
            }
            assertArrayEquals(a.weights(), b.weights(), "weights after " + steps + " steps");
            Segment s = shared.plans().capture().held().get(0);
            SharedKernels k = s.kernels();
            int methods = k.sources().size();
            // each graph's last task compiles (TornadoVM forces it), besides the first task of each method
            assertTrue(k.programs() <= methods + s.graphs(), k.programs() + " programs for " + k.tasks() + " tasks, "
                    + methods + " kernel methods, " + s.graphs() + " graphs");
            assertEquals(k.tasks() - k.programs(), k.shared(), "tasks that ran a shared kernel");
        }
    }
}
