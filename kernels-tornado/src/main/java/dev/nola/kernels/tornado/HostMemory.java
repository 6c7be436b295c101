package dev.nola.kernels.tornado;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * The host memory of the arenas ({@link TornadoArenas}): anonymous memory mapped from the kernel
 * ({@code mmap}), whose pages count in the process's RSS only once used (on this machine's kernel a
 * read commits a page as a write does: no shared zero page), and which can be given back ({@code madvise(MADV_DONTNEED)}) without unmapping: a page given back reads as zeros and is
 * committed again when written.
 *
 * <p>Why: on a device whose buffers are host memory (PoCL), every tensor a segment holds exists twice,
 * once in its arena and once in the segment's device copy. Most of them (activations, gradients,
 * scratch) are never read or written on the host, and a weight is not once its device copy exists.
 * {@code new FloatArray(n)} zeroes what it allocates, committing every page; memory mapped here
 * starts uncommitted, a reused range is zeroed by {@link #discard} rather than by writing zeros, and
 * a segment hands back the ranges it holds the latest data of, and the arena's free ranges, once it
 * has copied an arena in (reading them for the copy committed them; {@link Segment}).
 *
 * <p>Where {@code mmap} is not found (not Linux), or fails, memory comes from an automatic
 * {@link Arena} as before (anonymous memory too, so {@code madvise} still applies on Linux); without
 * {@code madvise} {@link #discard} writes zeros.
 */
final class HostMemory {

    private static final long PAGE = 4096;
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS_NORESERVE = 0x02 | 0x20 | 0x4000;
    private static final int MADV_DONTNEED = 4;

    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;
    private static final MethodHandle MADVISE;
    private static final MethodHandle MALLOC_TRIM;
    private static final MethodHandle MALLOPT;
    /** glibc's {@code mallopt} parameters. */
    private static final int M_MMAP_THRESHOLD = -3;
    private static final int M_ARENA_MAX = -8;

    static {
        MethodHandle mmap = null;
        MethodHandle munmap = null;
        MethodHandle madvise = null;
        MethodHandle trim = null;
        MethodHandle mallopt = null;
        if (System.getProperty("os.name", "").startsWith("Linux")) {
            Linker linker = Linker.nativeLinker();
            SymbolLookup libc = linker.defaultLookup();
            Optional<MemorySegment> m = libc.find("mmap");
            Optional<MemorySegment> u = libc.find("munmap");
            Optional<MemorySegment> a = libc.find("madvise");
            if (m.isPresent() && u.isPresent() && a.isPresent()) {
                mmap = linker.downcallHandle(m.get(), FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_LONG));
                munmap = linker.downcallHandle(u.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG));
                madvise = linker.downcallHandle(a.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
            }
            Optional<MemorySegment> t = libc.find("malloc_trim"); // glibc's
            if (t.isPresent()) {
                trim = linker.downcallHandle(t.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
            }
            Optional<MemorySegment> o = libc.find("mallopt"); // glibc's
            if (o.isPresent()) {
                mallopt = linker.downcallHandle(o.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT));
            }
        }
        MMAP = mmap;
        MUNMAP = munmap;
        MADVISE = madvise;
        MALLOC_TRIM = trim;
        MALLOPT = mallopt;
    }

    /** Large C heap blocks (device buffers on PoCL) get mappings of their own from this size up. */
    static final int MMAP_THRESHOLD = 1 << 20;
    /** The C heap's arenas at most. */
    static final int ARENA_MAX = 2;

    /**
     * Sets glibc's allocator (where it is glibc's) for a process that runs TornadoVM on PoCL, before
     * TornadoVM starts: blocks of {@value #MMAP_THRESHOLD} bytes and more are mapped on their own, so
     * a freed device buffer goes back to the system at once (glibc's default threshold grows up to
     * 32 MiB as such blocks are freed, after which they stay in its arenas), and at most
     * {@value #ARENA_MAX} arenas: glibc gives each thread that allocates its own, up to 8 per core,
     * and each keeps what its thread freed (PoCL's and LLVM's threads, TornadoVM's compiler's).
     * Measured in a 2-layer GPT-2 step's JVM: 17 arenas holding about 300 MB of its RSS.
     */
    static void tuneNativeHeap() {
        if (MALLOPT != null) {
            try {
                int unused = (int) MALLOPT.invokeExact(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
                unused = (int) MALLOPT.invokeExact(M_ARENA_MAX, ARENA_MAX);
            } catch (Throwable e) {
                // the allocator keeps its defaults
            }
        }
    }

    /**
     * Returns the C heap's free memory to the system ({@code malloc_trim}, where glibc provides it):
     * after the plan cache's device buffers are freed ({@link Capture}), which on PoCL are C heap
     * blocks that glibc would otherwise keep in its arenas, counted in the RSS.
     */
    static void trimNativeHeap() {
        if (MALLOC_TRIM != null) {
            try {
                int unused = (int) MALLOC_TRIM.invokeExact(0L);
            } catch (Throwable e) {
                // nothing given back: the memory stays with the allocator
            }
        }
    }

    private HostMemory() {
    }

    /**
     * {@code bytes} of zeroed host memory, page-aligned when mapped; unmapped when no longer reachable.
     * Its pages are committed as they are written.
     */
    static MemorySegment allocate(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("bytes " + bytes + "; expected at least 1");
        }
        if (MMAP != null) {
            long mapped = (bytes + PAGE - 1) / PAGE * PAGE;
            try {
                MemorySegment p = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, mapped, PROT_READ_WRITE,
                        MAP_PRIVATE_ANONYMOUS_NORESERVE, -1, 0L);
                if (p.address() != -1L) {
                    // the cleanup holds the address only, not the segment, so the mapping can become unreachable
                    long address = p.address();
                    return p.reinterpret(bytes, Arena.ofAuto(), s -> unmap(address, mapped));
                }
            } catch (Throwable e) {
                // fall through to the JDK's allocator
            }
        }
        return Arena.ofAuto().allocate(bytes, 64);
    }

    private static void unmap(long address, long bytes) {
        try {
            int unused = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(address), bytes);
        } catch (Throwable e) {
            // nothing to do: the mapping stays until the process ends
        }
    }

    /**
     * Sets {@code [offset, offset + bytes)} of {@code memory} (from {@link #allocate}) to zero and
     * gives the whole pages inside it back to the system (they are no longer part of the RSS until
     * written again); the partial pages at either end are written with zeros.
     */
    static void discard(MemorySegment memory, long offset, long bytes) {
        if (bytes <= 0) {
            return;
        }
        long start = memory.address() + offset;
        long end = start + bytes;
        long first = (start + PAGE - 1) / PAGE * PAGE;
        long last = end / PAGE * PAGE;
        if (MADVISE == null || last <= first) {
            memory.asSlice(offset, bytes).fill((byte) 0);
            return;
        }
        int rc;
        try {
            rc = (int) MADVISE.invokeExact(MemorySegment.ofAddress(first), last - first, MADV_DONTNEED);
        } catch (Throwable e) {
            rc = -1;
        }
        if (rc != 0) {
            memory.asSlice(offset, bytes).fill((byte) 0);
            return;
        }
        memory.asSlice(offset, first - start).fill((byte) 0);
        memory.asSlice(last - memory.address(), end - last).fill((byte) 0);
    }
}
