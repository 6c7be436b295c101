package dev.nola.kernels.tornado;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.contract.Contract;
import java.util.List;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;
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
     * The shared contract suite, per family, every check run (views, batches and padded leading
     * dimensions included). The nn family is reported skipped by the shared runner while the device lacks it.
     */
    @TestFactory
    Stream<DynamicNode> contractOnEveryTornadoDevice() {
        return Contract.forBackends(List.of(Backends.find("tornado").orElseThrow()));
    }

    /**
     * The contract once more with the kernels a GPU gets (one element of C, one mix column per
     * work-item), forced on tornado:0:0, so that they are checked here too; reported as device
     * {@code tornado:0:0/elements}.
     */
    @TestFactory
    Stream<DynamicNode> contractWithTheElementLayout() {
        DeviceInfo d = Backends.find("tornado").orElseThrow().devices().get(0);
        DeviceInfo info = new DeviceInfo(d.id() + "/elements", d.name(), d.vendor(), d.type(), d.version(), d.computeUnits(),
                d.globalMemBytes(), d.localMemBytes(), d.maxWorkGroupSize(), d.maxAllocBytes());
        return Contract.forDevice(() -> {
            var td = TornadoRuntimeAccess.device(0, 0);
            return new TornadoVmDevice(info, td, new TornadoPlans(td, td.getMaxGlobalMemory() / 2, false));
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
     * A view at any offset is addressed through the offsets in the parameter buffer, so one plan serves
     * every offset of the same storage tensors; an output that covers part of its storage leaves the
     * elements around it as they were (the plan copies the storage in first).
     */
    @Test
    void viewsAtAnyOffsetShareOnePlanAndNothingAroundThemIsWritten() {
        try (Device dev = Backends.open("tornado:0:0")) {
            int n = 40;
            Tensor big = dev.upload(filled(n + 7, 9f), n + 7);
            Tensor x = dev.upload(filled(n, 2f), n);
            for (int o : new int[] {0, 3, 7}) {
                dev.linalg().fill(big.view(o, n), 1f);
                dev.linalg().axpy(0.5f, x, big.view(o, n));
                float[] got = dev.read(big);
                for (int i = 0; i < got.length; i++) {
                    assertEquals(i >= o && i < o + n ? 2f : 9f, got[i], "view at " + o + ": element " + i);
                }
                dev.write(big, filled(n + 7, 9f));
            }
            assertEquals(2, ((TornadoVmDevice) dev).plans().cache().size(), "one plan for fill and one for axpy at every offset");
        }
    }

    /**
     * A step that calls more op and tensor combinations than the cache once held (64) builds each plan
     * once: the second step compiles nothing.
     */
    @Test
    void aRepeatedStepBuildsNoPlans() {
        try (Device dev = Backends.open("tornado:0:0")) {
            TornadoPlans plans = ((TornadoVmDevice) dev).plans();
            List<Tensor> ts = java.util.stream.IntStream.range(0, 80).mapToObj(i -> dev.allocate(16)).toList();
            Runnable step = () -> ts.forEach(t -> dev.linalg().fill(t, 1f));
            step.run();
            long built = plans.cache().built();
            assertEquals(80, plans.cache().size(), "one plan per tensor");
            step.run();
            assertEquals(built, plans.cache().built(), "plans built again in the second step");
        }
    }

    /** Past the byte budget the least recently used plans are freed, the one just built kept. */
    @Test
    void planCacheFreesTheLeastRecentlyUsedPastItsBudget() {
        try (Device dev = Backends.open("tornado:0:0")) {
            TornadoPlans small = new TornadoPlans(TornadoRuntimeAccess.device(0, 0), 10_000, true);
            Tensor[] ts = {dev.allocate(1000), dev.allocate(1000), dev.allocate(1000)};
            for (int i = 0; i < 3; i++) {
                small.call("fill").out(ts[i], 1000).launch(LinalgKernels.LEVEL1_PARAMS, 1, (g, t, ip, fp, a) -> g
                        .task(t.task(0), LinalgKernels::fillElements, new KernelContext(), ip, fp, a.f(0)));
            }
            assertEquals(2, small.cache().size(), "two plans of ~4 KB fit 10 KB");
            long held = small.cache().heldBytes();
            assertTrue(held > 8000 && held <= 10_000, "bytes held by two plans of 1000 floats: " + held);
            assertEquals(3, small.cache().built());
            small.call("fill").out(ts[2], 1000).launch(LinalgKernels.LEVEL1_PARAMS, 1, (g, t, ip, fp, a) -> g
                    .task(t.task(0), LinalgKernels::fillElements, new KernelContext(), ip, fp, a.f(0)));
            assertEquals(3, small.cache().built(), "the most recent plan is still cached");
            small.closeAll();
        }
    }

    /**
     * A basis bank generated outside a capture leaves no plan holding a device copy of it once another
     * call runs (on PoCL a second copy in host memory, for as long as the plan was cached): at most the
     * latest bank's, and none once a segment is built. Generating into the same tensor again reuses the
     * compiled plan (no second compile) and its device buffers, and still writes the reference's bits.
     */
    @Test
    void aBasisGeneratedOnItsOwnLeavesNoDeviceCopyBehind() {
        try (Device dev = Backends.open("tornado:0:0"); Device ref = Backends.open("reference")) {
            TornadoPlans plans = ((TornadoVmDevice) dev).plans();
            int count = 8;
            int n = 1 << 16;
            long bank = 4L * count * n;
            Tensor t = dev.allocate(count, n);
            Tensor u = dev.allocate(count, n);
            Tensor r = ref.allocate(count, n);
            long held = plans.cache().heldBytes();
            long built = plans.cache().built();
            for (int k = 0; k < 3; k++) {
                // another stream each time, so a run of the kept plan that wrote nothing would show
                BasisStream s = new BasisStream(42, 7 + k, BasisStream.DOMAIN_BASIS, 0.0316f);
                dev.random().basis(s, 0, count, t);
                assertEquals(built + 1, plans.cache().built(), "the plan is compiled once, kept for the next generation");
                long extra = plans.cache().heldBytes() - held;
                assertTrue(extra >= bank && extra < 2 * bank, "device bytes held by plans after basis " + k + ": " + extra
                        + " more; one bank (kept while the same call repeats) is " + bank);
                ref.random().basis(s, 0, count, r);
                assertArrayEquals(ref.read(r), dev.read(t), "basis " + k + " on the host");
            }
            BasisStream s = new BasisStream(42, 3, BasisStream.DOMAIN_BASIS, 0.0316f);
            dev.random().basis(s, 0, count, u);
            long extra = plans.cache().heldBytes() - held;
            assertTrue(extra < 2 * bank, "device bytes held after a second bank: " + extra + " more; the first's went");
            ref.random().basis(s, 0, count, r);
            assertArrayEquals(ref.read(r), dev.read(u), "the second bank on the host");
            dev.capture(() -> dev.linalg().scale(2f, u));
            assertEquals(0, plans.cache().size(), "after a segment is built no plan is left to hold a bank");
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
        CallValues v = new CallValues(1, 2, 1);
        try (KernelPlan p = new KernelPlan("nolaBadFlags", TornadoRuntimeAccess.device(0, 0), "-cl-std=CL1.2 -no-such-option",
                new TornadoProfile(false), v, List.of(), List.of(), 0, g -> g
                .transferToDevice(EVERY_EXECUTION, v.ip, v.fp)
                .task(KernelTasks.Names.OWN.task(0), LinalgKernels::fillElements, new KernelContext(), v.ip, v.fp, x)
                .transferToHost(EVERY_EXECUTION, x))) {
            v.ip.set(0, 16);
            v.ip.set(1, 0);
            v.fp.set(0, 7f);
            v.grid(0, 16, false);
            RuntimeException e = assertThrows(RuntimeException.class, p::execute);
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

    /** Unknown device indices fail with the devices that exist. */
    @Test
    void unknownDeviceIsNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> Backends.open("tornado:0:99"));
        assertTrue(e.getMessage().contains("tornado:0:99") && e.getMessage().contains("tornado:0:0"), e.getMessage());
    }

    /**
     * RoPE keeps the reference's float order bit for bit (each product rounded, then one subtraction or
     * addition), forward and backward, in place too: TornadoVM's OpenCL backend turns a float add of a
     * product into fma, which {@link NnKernels#nnRope} avoids by writing both outputs as subtractions.
     * The contract allows an fma (2^-23 of the terms), so this is the check that the kernel really
     * has none.
     */
    @Test
    void ropeIsTheReferenceBitForBit() {
        try (Device dev = Backends.open("tornado:0:0"); Device ref = Backends.open("reference")) {
            java.util.SplittableRandom r = new java.util.SplittableRandom(7);
            int b = 2;
            int t = 5;
            int d = 8;
            int w = 3 * d;
            int p = 9;
            float[] x = new float[b * t * w];
            float[] cs = new float[p * d / 2];
            float[] sn = new float[p * d / 2];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (r.nextDouble() * 4 - 2);
            }
            for (int i = 0; i < cs.length; i++) {
                double a = r.nextDouble() * 7;
                cs[i] = (float) Math.cos(a);
                sn[i] = (float) Math.sin(a);
            }
            for (boolean backward : new boolean[] {false, true}) {
                for (boolean inPlace : new boolean[] {false, true}) {
                    float[][] got = new float[2][];
                    Device[] both = {ref, dev};
                    for (int k = 0; k < 2; k++) {
                        Device e = both[k];
                        Tensor xt = e.upload(x, b, t, w);
                        Tensor ct = e.upload(cs, p, d / 2);
                        Tensor st = e.upload(sn, p, d / 2);
                        Tensor out = inPlace ? xt : e.allocate(b, t, w);
                        if (backward) {
                            e.nn().ropeBackward(xt, ct, st, d, 3, out);
                        } else {
                            e.nn().ropeForward(xt, ct, st, d, 3, out);
                        }
                        got[k] = e.read(out);
                    }
                    assertBits(got[0], got[1], (backward ? "backward" : "forward") + (inPlace ? " in place" : ""));
                }
            }
        }
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
