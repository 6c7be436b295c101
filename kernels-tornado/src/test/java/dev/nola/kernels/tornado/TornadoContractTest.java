package dev.nola.kernels.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static uk.ac.manchester.tornado.api.enums.DataTransferMode.EVERY_EXECUTION;

import dev.nola.kernels.Backend;
import dev.nola.kernels.Backends;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.OpFamily;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.contract.Contract;
import java.util.List;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The op contract on every TornadoVM device, plus the plan cache's residency rules and the backend's
 * documented limits. The tests are run with the SDK's JVM flags (see this module's pom), so an
 * unavailable backend here is a failure, not a skip.
 */
class TornadoContractTest {

    @Test
    void backendIsFoundAndAvailable() {
        Backend b = Backends.find("tornado").orElseThrow();
        assertTrue(b.availability().available(), "tornado unavailable: " + b.availability().reason());
        assertFalse(b.devices().isEmpty());
        assertEquals("tornado:0:0", b.devices().get(0).id());
    }

    /**
     * The shared contract suite, per family. The optim family is reported skipped with the device's
     * reason (it lacks it). A check that reaches the kernels' documented limit (a view at an offset, a
     * batch, a padded ldc: {@link TornadoPlans#WHOLE_TENSORS}) is reported skipped with the message;
     * any other failure fails.
     */
    @TestFactory
    Stream<DynamicNode> contractOnEveryTornadoDevice() {
        return Contract.forBackends(List.of(Backends.find("tornado").orElseThrow()))
                .map(TornadoContractTest::skipWholeTensorLimit);
    }

    private static DynamicNode skipWholeTensorLimit(DynamicNode node) {
        if (node instanceof DynamicContainer c) {
            return DynamicContainer.dynamicContainer(c.getDisplayName(),
                    c.getChildren().map(TornadoContractTest::skipWholeTensorLimit));
        }
        DynamicTest t = (DynamicTest) node;
        return DynamicTest.dynamicTest(t.getDisplayName(), () -> {
            try {
                t.getExecutable().execute();
            } catch (UnsupportedOperationException e) {
                if (e.getMessage() == null || !e.getMessage().contains(TornadoPlans.WHOLE_TENSORS)) {
                    throw e;
                }
                System.out.println("[contract] " + t.getDisplayName() + ": SKIPPED on tornado: " + e.getMessage());
                Assumptions.abort(e.getMessage());
            }
        });
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
                dev.random().basis(s, 0, k, basis);
                dev.nola().mix(c, basis, null, out);
                Tensor rc = ref.upload(new float[] {1, -2, 0.5f, 3, 0.25f}, k);
                Tensor rout = ref.allocate(n);
                ref.nola().mixGenerated(rc, s, null, rout);
                assertBits(ref.read(rout), dev.read(out), "seed " + seed);
            }
        }
    }

    /**
     * A view at offset 0 that covers only the front of its storage works as an output (the plan copies
     * the storage in, so the elements behind the view survive the copy back); a view at another
     * offset is rejected, naming the op.
     */
    @Test
    void viewsFromElementZeroOnlyAndNothingBehindThemWritten() {
        try (Device dev = Backends.open("tornado:0:0")) {
            int n = 40;
            Tensor big = dev.upload(filled(n + 7, 9f), n + 7);
            Tensor x = dev.upload(filled(n, 2f), n);
            dev.linalg().fill(big.view(0, n), 1f);
            dev.linalg().axpy(0.5f, x, big.view(0, n));
            float[] got = dev.read(big);
            for (int i = 0; i < got.length; i++) {
                assertEquals(i < n ? 2f : 9f, got[i], "element " + i);
            }
            var e = assertThrows(UnsupportedOperationException.class, () -> dev.linalg().fill(big.view(3, n), 0f));
            assertTrue(e.getMessage().startsWith("fill:") && e.getMessage().contains(TornadoPlans.WHOLE_TENSORS),
                    e.getMessage());
            Tensor a = dev.allocate(4, 4);
            var b = assertThrows(UnsupportedOperationException.class, () -> dev.linalg().matmulBatched(false, false, 2, 2, 2,
                    2, 1f, a, 2, 4, a, 2, 4, 0f, big, 2, 4));
            assertTrue(b.getMessage().contains("batch = 2"), b.getMessage());
        }
    }

    /**
     * A kernel that does not build fails: with TornadoVM's default ({@code tornado.recover.bailout=True})
     * a JIT or OpenCL build failure silently runs the kernel as sequential Java, which would pass every
     * check. The plan here gets an OpenCL option the driver rejects; the run must throw and leave the
     * output unwritten.
     */
    @Test
    void kernelThatDoesNotBuildFailsInsteadOfRunningAsJava() {
        assertTrue(Backends.find("tornado").orElseThrow().availability().available());
        assertEquals("False", System.getProperty("tornado.recover.bailout"), "tests must run with bail-out off");
        FloatArray x = new FloatArray(16);
        try (KernelPlan p = new KernelPlan("nolaBadFlags", TornadoRuntimeAccess.device(0, 0), "-cl-std=CL1.2 -no-such-option",
                1, 1, List.of(), List.of(), (g, ip, fp) -> g
                .transferToDevice(EVERY_EXECUTION, ip, fp)
                .task(KernelPlan.TASK, LinalgKernels::fillElements, new KernelContext(), ip, fp, x)
                .transferToHost(EVERY_EXECUTION, x))) {
            p.ip.set(0, 16);
            p.fp.set(0, 7f);
            RuntimeException e = assertThrows(RuntimeException.class, () -> p.run(16, false));
            assertTrue(String.valueOf(e.getMessage()).contains("Bailout is disabled"), String.valueOf(e.getMessage()));
            assertEquals(0f, x.get(0), "the kernel must not have run as Java");
        }
    }

    /** int32 tensors: allocation and transfers (no op takes them). */
    @Test
    void intTensorsRoundTrip() {
        try (Device dev = Backends.open("tornado:0:0")) {
            int[] v = {1, -2, Integer.MAX_VALUE, Integer.MIN_VALUE, 7};
            Tensor t = dev.upload(v, 5);
            Tensor u = dev.allocate(DType.INT32, 5);
            dev.copy(t, u);
            assertEquals(List.of(1, -2, Integer.MAX_VALUE, Integer.MIN_VALUE, 7),
                    java.util.Arrays.stream(dev.readInts(u)).boxed().toList());
        }
    }

    /** The optim family is declared lacking, with the reason. */
    @Test
    void optimFamilyIsLacking() {
        try (Device dev = Backends.open("tornado:0:0")) {
            assertFalse(dev.supports(OpFamily.OPTIM).available());
            assertTrue(dev.supports(OpFamily.OPTIM).reason().contains("TornadoVM v2"), dev.supports(OpFamily.OPTIM).reason());
            assertThrows(UnsupportedOperationException.class, dev::optim);
        }
    }

    /** Unknown device indices fail with the devices that exist. */
    @Test
    void unknownDeviceIsNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> Backends.open("tornado:0:99"));
        assertTrue(e.getMessage().contains("tornado:0:99") && e.getMessage().contains("tornado:0:0"), e.getMessage());
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    private static void assertBits(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        for (int e = 0; e < want.length; e++) {
            assertEquals(Float.floatToRawIntBits(want[e]), Float.floatToRawIntBits(got[e]), what + " e " + e);
        }
    }
}
