package dev.nola.kernels.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The arenas' host memory ({@link HostMemory}): it reads as zeros and is not in the RSS until used
 * (on this kernel a read commits a page as a write does), and a discarded range reads as zeros again
 * and leaves the RSS, while the bytes either side of it are kept. The RSS is the kernel's own count for the mapping that holds the memory
 * ({@code /proc/self/smaps}).
 */
class HostMemoryTest {

    private static final long MIB = 1 << 20;

    @Test
    void pagesCountOnlyOnceWrittenAndLeaveWhenDiscarded() throws IOException {
        assumeTrue(System.getProperty("os.name", "").startsWith("Linux"), "smaps is Linux's");
        long bytes = 64 * MIB;
        MemorySegment m = HostMemory.allocate(bytes);
        // allocating commits nothing (new FloatArray(n) writes zeros over all of it): filling it adds it all
        long untouched = rssKb(m.address());
        assertEquals(0, m.get(ValueLayout.JAVA_LONG, bytes / 2), "fresh memory reads as zeros");
        m.fill((byte) 7);
        long written = rssKb(m.address());
        assertTrue(written - untouched >= bytes / 1024 - 64, "written: " + written + " kB, before " + untouched + " kB");
        // a range that starts and ends inside pages: its whole pages go, its partial ones are zeroed
        long from = 3 * 4096 + 100;
        long length = 60 * MIB;
        HostMemory.discard(m, from, length);
        long discarded = rssKb(m.address());
        assertTrue(written - discarded >= length / 1024 - 16, "after discarding: " + discarded + " kB, before " + written + " kB");
        assertEquals(7, m.get(ValueLayout.JAVA_BYTE, from - 1), "the byte before the range is kept");
        assertEquals(7, m.get(ValueLayout.JAVA_BYTE, from + length), "the byte after the range is kept");
        for (long i : List.of(from, from + 1, from + 4096, from + length / 2, from + length - 1)) {
            assertEquals(0, m.get(ValueLayout.JAVA_BYTE, i), "discarded byte " + i);
        }
        m.set(ValueLayout.JAVA_FLOAT, from + 4096 * 10, 2.5f);
        assertEquals(2.5f, m.get(ValueLayout.JAVA_FLOAT, from + 4096 * 10), "a discarded page is written again");
    }

    /** The Rss of the mapping that holds {@code address}, in kB. */
    private static long rssKb(long address) throws IOException {
        boolean in = false;
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
            int dash = line.indexOf('-');
            int space = line.indexOf(' ');
            if (dash > 0 && space > dash && line.substring(0, dash).matches("[0-9a-f]+")) {
                long lo = Long.parseUnsignedLong(line.substring(0, dash), 16);
                long hi = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                in = Long.compareUnsigned(address, lo) >= 0 && Long.compareUnsigned(address, hi) < 0;
            } else if (in && line.startsWith("Rss:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no mapping holds address 0x" + Long.toHexString(address));
    }
}
