package dev.nola.kernels.tornado;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * A segment's first run copies the arenas it copies in once one at a time ({@link Prologue}), giving
 * back each one's host pages before the next is copied, so the process never holds them all twice (on
 * PoCL a device buffer is host memory). Measured as the growth of the process's peak RSS
 * ({@code VmHWM}, reset through {@code /proc/self/clear_refs}) over the first run of a step that reads
 * two weights of {@value #MIB_PER_WEIGHT} MiB, each in an arena of its own, with the prologue graphs and
 * without them.
 */
class PrologueTest {

    static final int MIB_PER_WEIGHT = 160;
    static final int N = MIB_PER_WEIGHT << 18; // floats

    @Test
    void theFirstRunHoldsOneArenaTwiceAtMost() throws IOException {
        assumeTrue(System.getProperty("os.name", "").startsWith("Linux"), "VmHWM and clear_refs are Linux's");
        long with = firstRunGrowthKb(true);
        long without = firstRunGrowthKb(false);
        long weightKb = MIB_PER_WEIGHT * 1024L;
        // without: both weights' device copies while both host copies are still held (2 weights more);
        // with: one weight's device copy while its host copy is held, the other's host copy already gone
        assertTrue(without >= 2 * weightKb - weightKb / 8, "without the prologue the peak grew by " + without + " kB");
        assertTrue(with <= weightKb + weightKb / 2, "with it the peak grew by " + with + " kB (without: " + without + " kB)");
    }

    /** The peak RSS growth over the first run of a captured step that reads two large weights. */
    private static long firstRunGrowthKb(boolean prologue) throws IOException {
        var td = TornadoRuntimeAccess.device(0, 0);
        TornadoOptions options = TornadoOptions.fromSystemProperties().withPrologue(prologue);
        float[] w = new float[N];
        for (int i = 0; i < N; i++) {
            w[i] = (i % 97) * 0.01f;
        }
        try (Device info = Backends.open("tornado:0:0");
             TornadoVmDevice d = new TornadoVmDevice(info.info(), td, new TornadoPlans(td, options))) {
            Tensor a = d.upload(w, N);
            Tensor b = d.upload(w, N);
            Tensor out = d.allocate(16);
            Tensor small = d.allocate(16);
            // compile the kernels first (a small step of the same ops), so the measured run adds no compiler heap
            d.capture(() -> step(d, small, small, out));
            d.read(out);
            assertTrue(((TornadoTensor) a).region().chunk() != ((TornadoTensor) b).region().chunk(), "each weight has an arena of its own");
            long before = resetPeakKb();
            d.capture(() -> step(d, a, b, out));
            float[] got = d.read(out);
            long growth = peakKb() - before;
            float[] expected = new float[16];
            for (int i = 0; i < 16; i++) {
                expected[i] = 2 * w[i];
            }
            assertArrayEquals(expected, got, "the step read both weights (prologue " + prologue + ")");
            return growth;
        }
    }

    /** out = a[0:16] + b[0:16]. */
    private static void step(Device d, Tensor a, Tensor b, Tensor out) {
        d.linalg().fill(out, 0f);
        d.linalg().axpy(1f, d.view(a, 0, 16), out);
        d.linalg().axpy(1f, d.view(b, 0, 16), out);
    }

    /** Resets VmHWM to the RSS now and returns it, in kB. */
    private static long resetPeakKb() throws IOException {
        System.gc();
        HostMemory.trimNativeHeap();
        Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        return peakKb();
    }

    private static long peakKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmHWM in /proc/self/status");
    }
}
