package dev.nola.kernels.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.Backends;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.Tensor;
import dev.nola.config.RuntimeSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OpenCL backend's behaviour when things go wrong: no platform, a kernel that does not build,
 * an allocation beyond the device's limit, a closed device, and repeated open/close (no leaks).
 * Runs on the first OpenCL device (PoCL in CI); skipped with the reason where there is none.
 */
class OpenClFaultsTest {

    private final OpenClBackend backend = new OpenClBackend();

    @BeforeEach
    void needsOpenCl() {
        Assumptions.assumeTrue(backend.availability().available(), () -> "opencl unavailable: " + backend.availability().reason());
    }

    private OpenClDevice first() {
        DeviceInfo d = backend.devices().get(0);
        return (OpenClDevice) Backends.open(d.id());
    }

    @Test
    void discoveryDescribesEveryDevice() {
        List<DeviceInfo> devices = backend.devices();
        assertTrue(!devices.isEmpty(), "an available backend has devices");
        for (DeviceInfo d : devices) {
            assertTrue(d.id().matches("opencl:\\d+:\\d+"), d.id());
            assertTrue(d.version().startsWith("OpenCL "), "version: " + d.version());
            assertTrue(!d.name().isBlank() && !d.vendor().isBlank(), d.describe());
            assertTrue(d.computeUnits() > 0 && d.globalMemBytes() > 0 && d.localMemBytes() > 0, d.describe());
            assertTrue(d.maxWorkGroupSize() > 0 && d.maxAllocBytes() > 0 && d.maxAllocBytes() <= d.globalMemBytes(), d.describe());
            try (Device dev = Backends.open(d.id())) {
                assertEquals(d, dev.info());
            }
        }
        try (Device dflt = backend.open(-1, -1, RuntimeSettings.resolve(null, java.util.Map.of()))) {
            assertTrue(devices.contains(dflt.info()));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> backend.open(99, 0, RuntimeSettings.resolve(null, java.util.Map.of())));
        assertTrue(e.getMessage().contains("opencl:99:0") && e.getMessage().contains(devices.get(0).id()), e.getMessage());
    }

    @Test
    void brokenKernelNamesDeviceFileAndLog() {
        try (OpenClDevice dev = first()) {
            String broken = "__kernel void broken(__global float *x) { x[0] = undeclared_thing + ; }\n";
            KernelBuildException e = assertThrows(KernelBuildException.class,
                    () -> dev.programs().build("broken.cl", new String[] {broken}, null));
            assertTrue(e.getMessage().contains(dev.id()), e.getMessage());
            assertTrue(e.getMessage().contains(dev.info().name()), e.getMessage());
            assertTrue(e.getMessage().contains("broken.cl"), e.getMessage());
            assertTrue(e.log().contains("undeclared_thing"), "the compiler's log: " + e.log());
            assertTrue(e.getMessage().contains(e.log()));
            assertTrue(e.getMessage().contains(RuntimeSettings.DEFAULT_OPENCL_OPTIONS), e.getMessage());
            // the device stays usable and nothing of the failed program is kept
            int programs = ClObjects.PROGRAMS.get();
            try (Tensor t = dev.upload(new float[] {1, 2, 3}, 3)) {
                dev.random().basis(new BasisStream(1, 2, 0, 1f), 0, 1, t);
                assertEquals(3, dev.read(t).length);
            }
            assertEquals(programs + 1, ClObjects.PROGRAMS.get(), "only the random family's program was added");
        }
    }

    @Test
    void programsAreBuiltOncePerFamily() {
        try (OpenClDevice dev = first(); Tensor t = dev.allocate(4, 5); Tensor c = dev.allocate(4); Tensor out = dev.allocate(5)) {
            BasisStream s = new BasisStream(3, 4, 0, 1f);
            for (int i = 0; i < 3; i++) {
                dev.random().basis(s, i, 4, t);
                dev.nola().mix(c, t, null, out);
                dev.nola().mixGenerated(c, s, null, out);
            }
            dev.synchronize();
            assertEquals(2, dev.programs().builtCount(), "random and nola, each once");
        }
    }

    @Test
    void allocationBeyondTheDeviceLimitIsRejected() {
        try (OpenClDevice dev = first()) {
            long maxFloats = dev.info().maxAllocBytes() / 4;
            int cols = 1 << 20;
            int rows = (int) (maxFloats / cols + 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> dev.allocate(rows, cols));
            assertTrue(e.getMessage().contains("CL_DEVICE_MAX_MEM_ALLOC_SIZE") && e.getMessage().contains(dev.id())
                    && e.getMessage().contains(String.valueOf(dev.info().maxAllocBytes())), e.getMessage());
            assertEquals(0, dev.liveTensors());
            try (Tensor ok = dev.allocate(16)) {
                assertEquals(16, dev.read(ok).length);
            }
        }
    }

    @Test
    void closedDeviceIsAClearIllegalState() {
        OpenClDevice dev = first();
        Tensor t = dev.allocate(8);
        Tensor u = dev.allocate(8);
        dev.close();
        assertTrue(t.isClosed() && u.isClosed());
        List<org.junit.jupiter.api.function.Executable> uses = List.of(
                () -> dev.allocate(4), () -> dev.write(t, new float[8]), () -> dev.read(t), () -> dev.copy(t, u),
                dev::synchronize, dev::nola, dev::linalg, () -> dev.upload(new float[2], 2));
        for (var use : uses) {
            IllegalStateException e = assertThrows(IllegalStateException.class, use);
            assertTrue(e.getMessage().contains("closed") && e.getMessage().contains(dev.id()), e.getMessage());
        }
        dev.close();
    }

    /**
     * Opens and closes a device 1,000 times, each time allocating, writing and reading tensors, and
     * every 100th time running ops of each family (so programs and kernels are built and released).
     * Every OpenCL object this backend created must be released, and the process's open files and
     * resident memory must stay within a bound.
     */
    @Test
    void openingAndClosingLeaksNothing() throws IOException {
        DeviceInfo d = backend.devices().get(0);
        cycle(d, 0); // warm up: the driver's own one-time state
        int objects = ClObjects.total();
        long fds = openFiles();
        long rss = residentBytes();
        for (int i = 1; i <= 1000; i++) {
            cycle(d, i);
        }
        assertEquals(objects, ClObjects.total(), "OpenCL objects still held: " + ClObjects.snapshot());
        long fdGrowth = openFiles() - fds;
        long rssGrowth = residentBytes() - rss;
        assertTrue(fdGrowth <= 16, "open files grew by " + fdGrowth);
        // 1,000 leaked contexts or buffers would take far more than this
        assertTrue(rssGrowth < 256L << 20, "resident memory grew by " + (rssGrowth >> 20) + " MiB");
    }

    private static void cycle(DeviceInfo d, int i) {
        try (Device dev = Backends.open(d.id())) {
            Tensor a = dev.upload(new float[] {1, 2, 3, 4}, 2, 2);
            Tensor b = dev.allocate(2, 2);
            dev.copy(a, b);
            if (i % 100 == 0) {
                dev.linalg().matmul(false, false, 1f, a, a, 0f, b);
                dev.random().basis(new BasisStream(i, 1, 0, 1f), 0, 2, a);
                Tensor g = dev.allocate(2);
                dev.nola().coefficientGradient(a, g, dev.allocate(2));
                dev.optim().sumOfSquares(a, g.view(0, 1)); // reductions through the workspace
                dev.optim().fakeQuantize(a, 4, b);
            }
            assertEquals(4, dev.read(b).length);
            a.close(); // one closed early, the rest by the device
        }
    }

    private static long openFiles() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    private static long residentBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return 0;
    }

    /**
     * With no OpenCL platform (the ICD loader pointed at an empty vendor directory) the backend loads,
     * reports itself unavailable with the reason, and the other backends work: checked in a child JVM.
     */
    @Test
    void noPlatformMeansUnavailableWithAReason(@TempDir Path empty) throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self")), "needs Linux and the ocl-icd loader");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path"), NoPlatformProbe.class.getName());
        pb.environment().put("OCL_ICD_VENDORS", empty.toString());
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "probe finished");
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("available=false"), out);
        assertTrue(out.contains("reason=no OpenCL platform found"), out);
        assertTrue(out.contains("devices=0"), out);
        assertTrue(out.contains("open=IllegalStateException: device 'opencl:0:0': backend opencl is unavailable"), out);
        assertTrue(out.contains("cpu=ok"), out);
    }
}
